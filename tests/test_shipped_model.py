"""The shipped default model: small, documented, reproducing its measured accuracy, and the rule
that the CLI's default path is the fastest one that passes parity."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "models" / "lawgov-zh-small"
DATA = ROOT / "training" / "data"


@pytest.fixture(scope="module")
def metrics():
    return json.loads((MODEL / "metrics.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def test_split():
    from lawgov_nlp.data import load_records

    return load_records(DATA / "test.jsonl")


@pytest.fixture(scope="module")
def default():
    import lawgov_nlp as lg

    return lg.load()  # the default: the shipped model, offline (base rebuilt from the pinned package)


@pytest.fixture(scope="module")
def default_probs(default, test_split):
    return default.predict_records(test_split)


def test_shipped_model_is_the_context_model_small_and_documented(default, metrics):
    assert default.kind == "context"
    # what ships: the ONNX encoder that backend="onnx" builds on first use is a cache beside it (gitignored)
    size = sum(p.stat().st_size for p in MODEL.rglob("*") if p.is_file() and "onnx" not in p.relative_to(MODEL).parts)
    assert size < 25e6, size
    card = (MODEL / "README.md").read_text(encoding="utf-8")
    for split in ("dev", "test", "real"):
        assert f"{metrics[split]['dimension_macro_f1']:.3f}" in card, split
    # the real samples are in stage-2 training, so real is reported leave-one-report-out, and the card says so
    assert metrics["real"]["protocol"] == "leave-one-document-out" and metrics["real"]["documents"] == 3
    assert "leave-one-report-out" in card


def test_shipped_model_reproduces_its_documented_test_accuracy(default, default_probs, test_split, metrics):
    from lawgov_nlp.metrics import tagging_metrics

    m = tagging_metrics(test_split, default.decide(*default_probs), default.scheme)
    for key in ("dimension_macro_f1", "role_macro_f1", "problem_f1"):
        assert abs(m[key] - metrics["test"][key]) <= 0.01, (key, m[key], metrics["test"][key])


def test_shipped_model_tags_the_sample_reports(default, samples):
    docs = default.tag_files(samples)
    assert [len(d.sentences) for d in docs] == [93, 99, 116]
    measures = docs[2]
    first_problem = next(s for s in measures.sentences if s.text.startswith("存在问题1"))
    assert first_problem.is_problem and first_problem.dimension == "leadership"
    assert sum(s.is_problem for s in docs[0].sentences) >= 3


def test_fast_path_parity(default, default_probs, test_split, capsys):
    import lawgov_nlp as lg
    from lawgov_nlp.metrics import tagging_metrics

    fast = lg.load(fast=True)
    a = default.decide(*default_probs)
    b = fast.decide(*fast.predict_records(test_split))
    same_dim = sum(x.dimension == y.dimension for x, y in zip(a, b)) / len(a)
    same_role = sum(x.role == y.role for x, y in zip(a, b)) / len(a)
    ma, mb = tagging_metrics(test_split, a, default.scheme), tagging_metrics(test_split, b, fast.scheme)
    with capsys.disabled():
        print(f"\nint8 vs the default path on test: identical dimension {same_dim:.4f}, role {same_role:.4f}; "
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
