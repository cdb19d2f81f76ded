from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lawgov_nlp.cli import app
from lawgov_nlp.data import (CorpusError, from_csv, from_doccano, from_label_studio, label_counts, load_dataset,
                             load_splits, read_jsonl, to_csv, to_doccano, to_label_studio, validate_records)

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "training" / "data"
runner = CliRunner()

GOOD = [
    {"doc_id": "d1", "sent_id": "d1-0000", "text": "一、主要举措和成效", "dimension": "other", "role": "other",
     "secondary": [], "section": []},
    {"doc_id": "d1", "sent_id": "d1-0001", "text": "聘请法律顾问参与重大决策合法性审查和行政复议案件办理。",
     "dimension": "decisions", "role": "achievement", "secondary": ["disputes"],
     "section": ["一、主要举措和成效", "（三）推进依法决策 > 含分隔符"], "source": "test", "genre": "annual_county"},
    {"doc_id": "d2", "sent_id": "d2-0000", "text": "部分乡镇执法人员持证率仅为61%，\"三项制度\"落实不到位。",
     "dimension": "enforcement", "role": "problem", "section": ["二、存在问题"]},
]


def _write(tmp_path, rows, name="x.jsonl"):
    p = tmp_path / name
    p.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return p


def test_valid_records_pass():
    assert validate_records(GOOD) == []


def test_validation_reports_every_bad_line(tmp_path):
    rows = GOOD + [
        {"doc_id": "", "sent_id": "e-1", "text": "正文。", "dimension": "rules", "role": "plan"},
        {"doc_id": "e", "sent_id": "e-2", "text": "  ", "dimension": "rules", "role": "plan"},
        {"doc_id": "e", "sent_id": "e-3", "text": "正文。", "dimension": "law", "role": "plan"},
        {"doc_id": "e", "sent_id": "e-4", "text": "正文。", "dimension": "rules", "role": "issue"},
        {"doc_id": "e", "sent_id": "d1-0001", "text": "正文。", "dimension": "rules", "role": "plan"},
        {"doc_id": "e", "sent_id": "e-6", "text": "正文。", "dimension": "rules", "role": "plan", "secondary": ["rules", "x"]},
    ]
    p = _write(tmp_path, rows)
    with p.open("a", encoding="utf-8") as fh:
        fh.write("{not json\n")
    res = runner.invoke(app, ["data", "validate", str(p)])
    assert res.exit_code == 1
    out = res.stdout
    for line, field, msg in [(4, "doc_id", "missing doc id"), (5, "text", "empty text"),
                             (6, "dimension", "unknown label 'law'"), (7, "role", "unknown label 'issue'"),
                             (8, "sent_id", "duplicate id 'd1-0001' (first on line 2)"),
                             (9, "secondary", "repeats the primary"), (9, "secondary", "unknown label 'x'"),
                             (10, "json", "not valid JSON")]:
        assert f"{p}:{line}: {field}: {msg}" in out, (line, field, msg)
    with pytest.raises(CorpusError, match="problem"):
        load_dataset(p)


def test_validate_ok_and_stats(tmp_path):
    p = _write(tmp_path, GOOD)
    res = runner.invoke(app, ["data", "validate", str(p)])
    assert res.exit_code == 0 and "3 sentences, 2 documents: ok" in res.stderr
    res = runner.invoke(app, ["data", "stats", str(p)])
    assert res.exit_code == 0
    assert "enforcement" in res.stdout and "3 sentences in 2 documents" in res.stdout
    df = label_counts(GOOD)
    assert df.loc["decisions", "achievement"] == 1 and df.loc["total", "total"] == 3


def _same(a, b):
    keys = ("doc_id", "sent_id", "text", "dimension", "role", "secondary", "section", "source", "genre")
    for x, y in zip(a, b, strict=True):
        assert {k: x.get(k) or None for k in keys} == {k: y.get(k) or None for k in keys}


def test_round_trips_without_loss(tmp_path):
    ls = json.loads(json.dumps(to_label_studio(GOOD)))
    assert ls[1]["predictions"][0]["result"][0]["value"]["choices"] == ["decisions"]  # names, not ids
    _same(from_label_studio(ls), GOOD)
    dc = json.loads(json.dumps(to_doccano(GOOD)))
    assert dc[1]["label"] == ["dimension:decisions", "role:achievement", "secondary:disputes"]
    _same(from_doccano(dc), GOOD)
    p = tmp_path / "x.csv"
    to_csv(GOOD, p)
    assert p.read_bytes().startswith(b"\xef\xbb\xbf")  # Excel shows Chinese
    _same(from_csv(p), GOOD)


def test_label_studio_annotation_overrides_prediction():
    ls = to_label_studio(GOOD[:2])
    ls[1]["annotations"] = [
        {"id": 1, "was_cancelled": False, "updated_at": "2024-01-01", "result": [
            {"from_name": "dimension", "value": {"choices": ["disputes"]}},
            {"from_name": "role", "value": {"choices": ["achievement"]}}]},
        {"id": 2, "was_cancelled": True, "updated_at": "2024-02-01", "result": [
            {"from_name": "dimension", "value": {"choices": ["rules"]}}]},
    ]
    recs = from_label_studio(ls)
    assert recs[1]["dimension"] == "disputes" and recs[1]["secondary"] == []
    assert recs[0]["dimension"] == "other"


def test_cli_convert_round_trip(tmp_path):
    src = _write(tmp_path, GOOD)
    for fmt, name in [("labelstudio", "t.json"), ("doccano", "t.doccano.jsonl"), ("csv", "t.csv")]:
        mid = tmp_path / name
        back = tmp_path / f"back-{fmt}.jsonl"
        assert runner.invoke(app, ["data", "convert", str(src), str(mid), "--to", fmt]).exit_code == 0
        assert runner.invoke(app, ["data", "convert", str(mid), str(back), "--from", fmt, "--to", "jsonl"]).exit_code == 0
        _same(read_jsonl(back)[0], GOOD)
    res = runner.invoke(app, ["data", "labelstudio-config"])
    assert '<Choice value="emergency" hint="突发事件应对"/>' in res.stdout


def test_dataset_loading(tmp_path):
    p = _write(tmp_path, GOOD)
    ds = load_dataset(p)
    assert len(ds) == 3 and ds.features["dimension_id"].names[0] == "functions"
    assert ds[1]["dimension_id"] == ds.features["dimension_id"].names.index("decisions")
    dd = load_splits({"train": p, "dev": p})
    assert set(dd) == {"train", "dev"}


# ----------------------------------------------------------------- the committed corpus
def _split(name):
    return read_jsonl(DATA / f"{name}.jsonl")[0]


def test_committed_corpus_is_valid_and_meets_counts():
    splits = {s: _split(s) for s in ("train", "dev", "test", "real")}
    for s, recs in splits.items():
        assert validate_records(recs) == [], s
        res = runner.invoke(app, ["data", "validate", str(DATA / f"{s}.jsonl")])
        assert res.exit_code == 0, res.stdout
    written = splits["train"] + splits["dev"] + splits["test"]
    docs = {r["doc_id"] for r in written}
    assert len(written) >= 3000 and len(docs) >= 30
    dims = Counter(r["dimension"] for r in written)
    assert min(dims.values()) >= 150 and len(dims) == 10, dims
    roles = Counter(r["role"] for r in written)
    assert roles["problem"] >= 600 and roles["plan"] >= 300, roles
    trad = sum(r["script"] == "traditional" for r in written)
    assert trad / len(written) >= 0.15
    # the real reports: every sentence annotated, the same boundaries as the project's segmenter
    from lawgov_nlp import read_file
    real = splits["real"]
    by_doc = Counter(r["doc_id"] for r in real)
    for p in sorted((ROOT / "tests" / "data" / "samples").glob("*.txt")):
        sents = read_file(p).sentences
        rows = [r for r in real if r["doc_id"] == f"real_{p.stem}"]
        assert [r["text"] for r in rows] == [s.text for s in sents]
    assert sum(by_doc.values()) == len(real) == 308


def test_splits_are_by_document_and_reproducible():
    import importlib.util

    spec = importlib.util.spec_from_file_location("build_corpus", ROOT / "training" / "build_corpus.py")
    bc = importlib.util.module_from_spec(spec)
    import sys
    sys.modules[spec.name] = bc
    spec.loader.exec_module(bc)
    committed = json.loads((DATA / "splits.json").read_text(encoding="utf-8"))
    headers = {}
    for s in ("train", "dev", "test"):
        for r in _split(s):
            headers[r["doc_id"]] = {"genre": r["genre"], "script": r["script"]}
            assert r["doc_id"] in committed[s]
    again = bc.stratified_split(headers, committed["seed"])
    for s in ("train", "dev", "test"):
        assert sorted(d for d, v in again.items() if v == s) == committed[s]
    assert not set(committed["train"]) & (set(committed["dev"]) | set(committed["test"]))
    assert all(d.startswith("real_") for d in committed["real"])
    # dev and test each hold traditional-script and problem-and-measure documents
    for s in ("dev", "test"):
        recs = _split(s)
        assert {r["script"] for r in recs} == {"simplified", "traditional"}, s
