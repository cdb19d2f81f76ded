"""The draft encoder: distilled into a tiny context model, calibrated, run as the default path, kept
or dropped on save, and refused when broken."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from test_context import tiny_context  # noqa: F401 - the module-scoped fixture

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def drafted(tiny_context, tmp_path_factory):  # noqa: F811
    d, _ = tiny_context
    out = tmp_path_factory.mktemp("draft") / "model"
    held = out.parent / "held_out.txt"  # unlabelled text the draft never reads: calibration counts re-reads there
    from lawgov_nlp.data import load_records

    held.write_text("\n".join(r["text"] for r in load_records(d / "train.jsonl")[:40]) + "\n", encoding="utf-8")
    r = subprocess.run([sys.executable, str(ROOT / "training" / "distill.py"), "--teacher", str(d / "model"),
                        "--train", str(d / "train.jsonl"), "--layers", "1", "--epochs", "1", "--kd-epochs", "1",
                        "--rank", "2", "--threads", "1", "--check", "baseline-tfidf", "--out", str(out),
                        "--work", str(out.parent / "work"),
                        "--calibrate", str(d / "dev.jsonl"), "--target", "0.9", "--macro-f1-gap", "0.3", "--extra",
                        "--cost-text", str(held)],
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "written into" in r.stdout, r.stdout
    return d, out


def _records(d):
    from lawgov_nlp.data import load_records

    return load_records(d / "dev.jsonl")


def test_draft_is_the_default_path_and_exact_is_the_reference(drafted):
    import lawgov_nlp as lg

    d, m = drafted
    man = json.loads((m / "lawgov_model.json").read_text(encoding="utf-8"))
    cal = man["config"]["draft"]["info"]["calibration"]
    assert cal["rows"] and man["config"]["draft"]["info"]["layers"] == 1, man["config"]["draft"]
    # the chosen margin keeps both the agreement target and the macro-F1 bound on the calibration split
    assert cal["macro_f1_gap"] == 0.3
    chosen = next(r for r in cal["rows"] if r["check"] == cal["check"] and r["margin"] == man["config"]["draft"]["margin"])
    assert min(chosen["same_dimension"], chosen["same_role"]) >= 0.9 and chosen["macro_f1_gap"] <= 0.3, chosen
    # calibration tried the margins with the TF-IDF second opinion and without; it kept the one reading fewer again
    assert {r["check"] for r in cal["rows"]} == {True, False}
    # ... counting the re-reads on the unlabelled text it was given, and recording which text that was
    assert cal["held_out_text"]["files"] == ["held_out.txt"] and cal["held_out_text"]["sentences"] > 0
    assert set(cal["held_out_text"]["reread"]) <= {"check", "no check"} and cal["held_out_text"]["reread"]
    assert man["config"]["draft"]["info"]["unlabelled"] == []  # distilled with no unlabelled text
    assert ("check" in man["config"]["draft"]) == cal["check"] == ("draft_check.joblib" in man["weights"])
    if cal["check"]:
        assert man["config"]["draft"]["check"]["kind"] == "tfidf"
    assert "draft.safetensors" in man["weights"]
    # the draft has not passed parity (parity.py --record): it runs only when asked for, and a model that
    # does not run it does not read its files
    lazy = lg.load(m, threads=1)
    assert not lazy.path_name.startswith("draft+")
    assert lazy.draft.state == {} and lazy.draft.check is None and lazy.draft.source == m
    fast = lg.load(m, threads=1, draft=True)
    assert fast.path_name.startswith("draft+") and fast.draft.net is not None
    ref = lg.load(m, exact=True, threads=1)
    assert ref.path_name == "fp32" and ref.draft is not None and ref.draft.net is None
    plain = lg.load(m, threads=1, draft=False)
    assert not plain.path_name.startswith("draft+")
    # the draft reads with one layer where the full encoder has two
    assert fast.draft.net.encoder.config.num_hidden_layers == 1 < fast.net.encoder.config.num_hidden_layers
    recs = _records(d)
    # a margin of 1 puts every sentence in doubt: the full encoder reads all again, as without a draft
    fast.draft.margin = 1.0
    a = fast.predict_records(recs)
    b = plain.predict_records(recs)
    assert fast.draft_stats["reread"] == fast.draft_stats["sentences"] == len({r["text"] for r in recs})
    assert np.allclose(a[0], b[0], atol=1e-5) and np.allclose(a[1], b[1], atol=1e-5)
    # a margin of 0 trusts the draft everywhere: nothing is read again, and the labels come from its vectors
    fast2 = lg.load(m, threads=1, cache_size=0, draft=True)
    assert (fast2.draft.check is not None) == cal["check"]
    fast2.draft.margin, fast2.draft.check = 0.0, None
    c = fast2.predict_records(recs)
    assert fast2.draft_stats["reread"] == 0 and fast2.draft_stats["sentences"] == len(recs)
    assert not np.array_equal(c[0], b[0])  # (a tiny model: nearly uniform probabilities, small differences)
    # sentences whose full vectors are cached are not drafted
    fast3 = lg.load(m, threads=1, draft=True)
    fast3.sentence_vectors([r["text"] for r in recs])
    fast3.predict_records(recs)
    assert fast3.draft_stats["sentences"] == 0


def test_set_check_puts_the_second_opinion_in(drafted, tmp_path):
    import shutil

    import lawgov_nlp as lg

    _, m = drafted
    shutil.copytree(m, tmp_path / "m")
    r = subprocess.run([sys.executable, str(ROOT / "training" / "distill.py"), "--out", str(tmp_path / "m"),
                        "--set-check", "--check", "baseline-tfidf", "--calibrate", "", "--threads", "1"],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    t = lg.load(tmp_path / "m", threads=1, draft=True)
    assert t.draft.check is not None and t.draft.check.kind == "tfidf"
    assert (tmp_path / "m" / "draft_check.joblib").is_file()


def test_in_doubt_rule():
    from lawgov_nlp.models.draft import in_doubt

    dp = np.array([[0.9, 0.1], [0.55, 0.45], [0.9, 0.1]], dtype=np.float32)
    rp = np.array([[0.05, 0.95], [0.1, 0.9], [0.68, 0.32]], dtype=np.float32)
    # row 1: its best two dimensions lie 0.1 apart; rows 0 and 2 are clear on both heads
    assert in_doubt(dp, rp, 0.2, None, 0.7).tolist() == [False, True, False]
    # with role 0 as the problem role, row 2's problem probability 0.68 lies near its threshold 0.7
    assert in_doubt(dp, rp, 0.2, 0, 0.7).tolist() == [False, True, True]
    assert in_doubt(dp, rp, 0.03, 0, 0.7).tolist() == [False, False, False]  # 0.02 away: outside 0.03 / 2
    # a second opinion that names another dimension (row 0) or role (row 2) puts the sentence in doubt
    second = (np.array([[0.2, 0.8], [0.6, 0.4], [0.9, 0.1]]), np.array([[0.1, 0.9], [0.1, 0.9], [0.1, 0.9]]))
    assert in_doubt(dp, rp, 0.0, None, 0.7, second).tolist() == [True, False, True]
    assert in_doubt(dp, rp, 0.01, 0, 0.7).tolist() == [False, False, False]
    assert in_doubt(dp, rp, 0.0, 0, 0.7).tolist() == [False, False, False]
    # the band around the threshold stops at 0.1: a confident problem (0.85) stays clear at a wide margin
    rp3 = np.array([[0.85, 0.15], [0.1, 0.9], [0.68, 0.32]], dtype=np.float32)
    assert in_doubt(dp[[0]], rp3[[0]], 0.6, 0, 0.7).tolist() == [False]  # |0.85 - 0.7| > min(0.6 / 2, 0.1)
    assert in_doubt(dp[[0]], rp3[[0]], 0.75, 0, 0.7).tolist() == [True]  # its role gap 0.7 is under 0.75


def test_draft_kept_with_its_weights_and_dropped_when_they_change(drafted, tmp_path):
    import torch

    import lawgov_nlp as lg
    from lawgov_nlp.errors import ModelError

    _, m = drafted
    t = lg.load(m, exact=True, threads=1)
    t.save(tmp_path / "same")
    assert (tmp_path / "same" / "draft.safetensors").is_file()
    assert lg.load(tmp_path / "same", threads=1, draft=True).path_name.startswith("draft+")
    with torch.no_grad():
        next(t.context_net.parameters()).add_(0.01)  # as a retrain would change them
    t.save(tmp_path / "changed")
    man = json.loads((tmp_path / "changed" / "lawgov_model.json").read_text(encoding="utf-8"))
    assert "draft" not in man["config"] and not {"draft.safetensors", "draft_check.joblib"} & set(man["weights"])
    assert not (tmp_path / "changed" / "draft.safetensors").exists()
    assert not (tmp_path / "changed" / "draft_check.joblib").exists()
    assert not lg.load(tmp_path / "changed", threads=1).path_name.startswith("draft+")
    with pytest.raises(ModelError, match="has no draft encoder for draft=True"):
        lg.load(tmp_path / "changed", threads=1, draft=True)


def test_a_draft_for_other_weights_is_ignored_and_a_broken_one_refused(drafted, tmp_path):
    import shutil

    import lawgov_nlp as lg
    from lawgov_nlp.errors import ModelError

    _, m = drafted
    other = tmp_path / "other"
    shutil.copytree(m, other)
    mf = other / "lawgov_model.json"
    man = json.loads(mf.read_text(encoding="utf-8"))
    man["config"]["draft"]["teacher_sha256"] = "0" * 64
    mf.write_text(json.dumps(man), encoding="utf-8")
    with pytest.warns(UserWarning, match="made for other weights"):
        t = lg.load(other, threads=1, draft=False)
    assert not t.path_name.startswith("draft+")
    # the Ray engine refuses it on the driver, in one line, before a cluster is asked for (the actors would fail)
    pytest.importorskip("ray")
    from typer.testing import CliRunner

    from lawgov_nlp.cli import app

    rep = tmp_path / "r.txt"
    rep.write_text("一、总体情况\n今年全面推进依法行政。\n", encoding="utf-8")
    res = CliRunner().invoke(app, ["tag", str(rep), "-o", str(tmp_path / "x.jsonl"), "--no-progress", "--engine",
                                   "ray", "--draft", "--model", str(other)])
    assert res.exit_code == 2 and "draft encoder was made for other weights" in res.stderr, res.stderr
    assert not (tmp_path / "x.jsonl").exists()
    man["config"]["draft"]["margin"] = 2
    mf.write_text(json.dumps(man), encoding="utf-8")
    with pytest.raises(ModelError, match=r"lawgov_model.json: config.draft.margin must lie between 0 and 1"):
        lg.load(other, threads=1)
    man["config"]["draft"]["margin"] = 0.2
    del man["weights"]["draft.safetensors"]
    mf.write_text(json.dumps(man), encoding="utf-8")
    with pytest.raises(ModelError, match="does not list draft.safetensors"):
        lg.load(other, threads=1)


def test_a_draft_that_passed_parity_is_the_default(drafted, tmp_path):
    import shutil

    import lawgov_nlp as lg

    import importlib.util

    spec = importlib.util.spec_from_file_location("parity_bench", ROOT / "training" / "benchmarks" / "parity.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    verdict = bench.verdict
    _, m = drafted
    row = {"sentences": 100, "same_dimension": 0.995, "same_role": 0.992, "dimension_macro_f1": 0.90,
           "ref_dimension_macro_f1": 0.902, "role_macro_f1": 0.95, "ref_role_macro_f1": 0.953}
    rows = [{**row, "split": s} for s in ("dev", "test", "real")]
    assert verdict(rows)["passed"]
    assert not verdict(rows[:2])["passed"]  # real not measured
    assert not verdict([{**rows[0], "same_role": 0.98}, *rows[1:]])["passed"]  # 98.5 % on dev + real
    assert not verdict([*rows[:2], {**rows[2], "role_macro_f1": 0.94}])["passed"]  # 1.3 points below on real
    passed = tmp_path / "passed"
    shutil.copytree(m, passed)
    t = lg.load(passed, exact=True, threads=1)
    t.draft.info["parity"] = {**verdict(rows), "rows": rows, "measured": "2026-12-06",
                              "machine": "AMD EPYC (AVX-512 BF16, no AMX), 2 logical CPUs"}
    t.save(passed)
    assert lg.load(passed, threads=1).path_name.startswith("draft+")
    card = (passed / "README.md").read_text(encoding="utf-8")
    assert "## Draft encoder" in card and "it **passes**, so it is the default path" in card
    assert "2026-12-06, on AMD EPYC (AVX-512 BF16, no AMX), 2 logical CPUs): it **passes**" in card
    assert "| real (100) | 0.9950 | 0.9920 | 0.9000 (0.9020) | 0.9500 (0.9530) | – |" in card
    assert not lg.load(passed, threads=1, draft=False).path_name.startswith("draft+")
    assert lg.load(passed, threads=1, exact=True).path_name == "fp32"


def test_cli_draft_switch(drafted, tiny_context, samples, tmp_path):  # noqa: F811
    from typer.testing import CliRunner

    from lawgov_nlp.cli import app

    d, m = drafted
    out = tmp_path / "t.jsonl"
    res = CliRunner().invoke(app, ["tag", str(samples[0]), "-o", str(out), "--model", str(m), "--draft", "-q"])
    assert res.exit_code == 0, res.output
    assert len(out.read_text(encoding="utf-8").splitlines()) == 93
    # a model without a draft: --draft is refused in one line, --no-draft is fine
    res = CliRunner().invoke(app, ["tag", str(samples[0]), "-o", str(tmp_path / "u.jsonl"), "--model",
                                   str(d / "model"), "--draft", "-q"])
    assert res.exit_code == 2 and "has no draft encoder for draft=True" in res.output, res.output
    assert not (tmp_path / "u.jsonl").exists()
    res = CliRunner().invoke(app, ["tag", str(samples[0]), "-o", str(tmp_path / "v.jsonl"), "--model",
                                   str(d / "model"), "--no-draft", "-q"])
    assert res.exit_code == 0, res.output
