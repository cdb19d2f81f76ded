"""Regression tests of the shipped default model (models/lawgov-zh-small) and its fast path."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "models" / "lawgov-zh-small"
REAL = ROOT / "training" / "data" / "real.jsonl"


@pytest.fixture(scope="module")
def real():
    from lawgov_nlp.data import load_records

    return load_records(REAL)


@pytest.fixture(scope="module")
def fp32():
    import lawgov_nlp as lg

    return lg.load()  # the default: the shipped model, offline (base rebuilt from the pinned package)


@pytest.fixture(scope="module")
def fp32_probs(fp32, real):
    return fp32.predict_records(real)


def test_shipped_model_is_small_and_documented():
    size = sum(p.stat().st_size for p in MODEL.rglob("*") if p.is_file())
    assert size < 25e6, size
    card = (MODEL / "README.md").read_text(encoding="utf-8")
    metrics = json.loads((MODEL / "metrics.json").read_text(encoding="utf-8"))
    assert f"{metrics['real']['dimension_macro_f1']:.3f}" in card


def test_shipped_model_reproduces_its_documented_real_accuracy(fp32, fp32_probs, real):
    from lawgov_nlp.metrics import tagging_metrics

    documented = json.loads((MODEL / "metrics.json").read_text(encoding="utf-8"))["real"]
    m = tagging_metrics(real, fp32.decide(*fp32_probs), fp32.scheme)
    for key in ("dimension_macro_f1", "role_macro_f1", "problem_f1"):
        assert abs(m[key] - documented[key]) <= 0.01, (key, m[key], documented[key])


def test_shipped_model_tags_the_sample_reports(fp32, samples):
    docs = fp32.tag_files(samples)
    assert [len(d.sentences) for d in docs] == [93, 99, 116]
    measures = docs[2]
    first_problem = next(s for s in measures.sentences if s.text.startswith("存在问题1"))
    assert first_problem.is_problem and first_problem.dimension == "leadership"
    assert sum(s.is_problem for s in docs[0].sentences) >= 3


def test_fast_path_parity_on_real_split(fp32, fp32_probs, real, capsys):
    import lawgov_nlp as lg
    from lawgov_nlp.metrics import tagging_metrics

    fast = lg.load(fast=True)
    a = fp32.decide(*fp32_probs)
    b = fast.decide(*fast.predict_records(real))
    same_dim = sum(x.dimension == y.dimension for x, y in zip(a, b)) / len(a)
    same_role = sum(x.role == y.role for x, y in zip(a, b)) / len(a)
    ma, mb = tagging_metrics(real, a, fp32.scheme), tagging_metrics(real, b, fast.scheme)
    with capsys.disabled():
        print(f"\nint8 vs fp32 on real: identical dimension {same_dim:.4f}, role {same_role:.4f}; "
              f"dimension macro-F1 {ma['dimension_macro_f1']:.4f} -> {mb['dimension_macro_f1']:.4f}, "
              f"role macro-F1 {ma['role_macro_f1']:.4f} -> {mb['role_macro_f1']:.4f}")
    # the fast path may only be the CLI's default when it passes parity (>= 99% identical labels)
    import inspect

    from lawgov_nlp.cli import report, tag
    passes = same_dim >= 0.99 and same_role >= 0.99
    for command in (tag.tag, report.report):
        default_fast = inspect.signature(command).parameters["fast"].default.default
        assert default_fast == passes, (command.__name__, default_fast, same_dim, same_role)
    # and it must stay close even when it is not the default
    assert same_dim >= 0.95 and same_role >= 0.93
    assert ma["dimension_macro_f1"] - mb["dimension_macro_f1"] <= 0.03
