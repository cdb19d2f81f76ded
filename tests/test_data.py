from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lawgov_nlp.cli import app
from lawgov_nlp.data import (CorpusError, from_csv, from_doccano, from_label_studio, label_counts, load_dataset,
                             load_records, load_splits, read_jsonl, to_csv, to_doccano, to_label_studio,
                             validate_records)

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
    # each round of new documents was dealt out among themselves (the first corpus, then each later
    # batch), so no document of an earlier dev or test split ever moved into training
    rounds = committed["rounds"]
    assert sorted(d for r in rounds for d in r) == sorted(headers)
    assert rounds[0] == sorted(d for d in headers if d.split("_")[0] in {f"w{i}" for i in range(1, 7)})
    again = {}
    for r in rounds:
        again.update(bc.stratified_split({d: headers[d] for d in r}, committed["seed"]))
    for s in ("train", "dev", "test"):
        assert sorted(d for d, v in again.items() if v == s) == committed[s]
    assert not set(committed["train"]) & (set(committed["dev"]) | set(committed["test"]))
    assert all(d.startswith("real_") for d in committed["real"])
    # dev and test each hold traditional-script and problem-and-measure documents
    for s in ("dev", "test"):
        recs = _split(s)
        assert {r["script"] for r in recs} == {"simplified", "traditional"}, s


# ----------------------------------------------------------------- hostile annotation data (issue 11, point 14)
def test_an_empty_file_is_refused_by_validate_and_load(tmp_path):
    p = tmp_path / "empty.jsonl"
    p.write_text("\n  \n", encoding="utf-8")
    res = runner.invoke(app, ["data", "validate", str(p)])
    assert res.exit_code == 1 and f"{p}: file: no records: the file is empty" in res.stdout
    with pytest.raises(CorpusError, match="the file is empty"):
        load_records(p)


def _train_config(tmp_path, train, dev, **extra):
    import yaml

    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump({"base": str(tmp_path / "no-such-base"), "train": str(train), "dev": str(dev),
                                   "output_dir": str(tmp_path / "model"), "epochs": 1, **extra}), encoding="utf-8")
    return cfg


def test_train_refuses_an_empty_file_and_leaked_documents_before_building_a_model(tmp_path):
    """The base does not exist: each refusal comes before anything is built."""
    good = _write(tmp_path, GOOD, "train.jsonl")
    empty = tmp_path / "empty.jsonl"
    empty.write_text("", encoding="utf-8")
    res = runner.invoke(app, ["train", str(_train_config(tmp_path, empty, good)), "--no-progress"])
    assert res.exit_code == 1 and "the file is empty" in res.stderr and res.exception.__class__ is SystemExit
    leak = _write(tmp_path, [dict(GOOD[2], sent_id="d2-0009")], "dev.jsonl")  # d2 is a training document
    test = _write(tmp_path, [dict(GOOD[0], doc_id="t1", sent_id="t1-0", role="plan")], "test.jsonl")
    res = runner.invoke(app, ["train", str(_train_config(tmp_path, good, leak, eval={"test": str(test)})),
                              "--no-progress"])
    assert res.exit_code == 1, res.output
    assert f"document 'd2' is in {leak} (line 1) and in {good}" in res.stderr
    # the same heading in another document may rightly carry another label (context decides, rule 9)
    assert "conflicting labels" not in res.stderr
    assert "no-such-base" not in res.stderr
    from lawgov_nlp.train import TrainConfig, train
    cfg = TrainConfig.from_dict(dict(base=str(tmp_path / "no-such-base"), train=str(good), dev=str(leak),
                                     output_dir=str(tmp_path / "m")))
    with pytest.raises(CorpusError, match="split by document"):
        train(cfg, log=lambda m: None)


def test_validate_several_files_flags_documents_in_two_of_them(tmp_path):
    tr = _write(tmp_path, GOOD, "train.jsonl")
    dv = _write(tmp_path, [dict(GOOD[1], sent_id="x-1")], "dev.jsonl")
    res = runner.invoke(app, ["data", "validate", str(tr), str(dv)])
    assert res.exit_code == 1
    assert f"doc_id: document 'd1' is in {dv} (line 1) and in {tr}" in res.stdout
    assert runner.invoke(app, ["data", "validate", str(tr), str(tr)]).exit_code == 0  # one file given twice


def test_identical_text_with_conflicting_labels_is_flagged():
    same_place = dict(GOOD[1], sent_id="d1-0009", role="problem")
    problems = validate_records(GOOD + [same_place])
    assert [(p.line, p.field) for p in problems] == [(4, "role")]
    assert "is decisions/achievement on line 2, decisions/problem here" in problems[0].message
    # the same heading under another section (achievements vs plans) is not a conflict
    elsewhere = dict(GOOD[1], sent_id="d1-0010", role="plan", section=["三、下一步工作计划"])
    assert validate_records(GOOD + [elsewhere]) == []


def test_label_studio_export_is_validated_by_task(tmp_path):
    tasks = to_label_studio(GOOD)
    for t in tasks:
        t["id"] = 100 + t["id"]
        t["annotations"] = [{"id": 1, "result": t.pop("predictions")[0]["result"]}]
    del tasks[1]["annotations"]                                    # a task no one annotated
    tasks[2]["annotations"][0]["result"] = tasks[2]["annotations"][0]["result"][:1]  # an annotation without a role
    p = tmp_path / "export.json"
    p.write_text(json.dumps(tasks, ensure_ascii=False, indent=2), encoding="utf-8")  # many lines, one JSON value
    res = runner.invoke(app, ["data", "validate", str(p)])
    assert res.exit_code == 1
    assert ": json:" not in res.stdout  # not one bogus JSON error per line
    assert res.stdout.splitlines() == [f"{p}: task 102: annotation: no annotation (a prediction is not a label; "
                                       "annotate or skip the task)", f"{p}: task 103: role: missing role"]
    # the same export under a JSONL name: one problem that says what it is
    q = tmp_path / "export.jsonl"
    q.write_bytes(p.read_bytes())
    res = runner.invoke(app, ["data", "validate", str(q)])
    assert res.exit_code == 1 and len(res.stdout.splitlines()) == 1
    assert "the file is one JSON array" in res.stdout and "--format labelstudio" in res.stdout
    res = runner.invoke(app, ["data", "validate", str(q), "--format", "labelstudio"])
    assert [x.split(": ", 1)[1] for x in res.stdout.splitlines()] == ["task 102: annotation: no annotation (a prediction "
                                                                      "is not a label; annotate or skip the task)",
                                                                      "task 103: role: missing role"]


def test_convert_and_stats_report_bad_files_in_one_line(tmp_path):
    bad = tmp_path / "x.json"
    bad.write_text('{"data": {"text": "a"}}\n{"data": {"text": "b"}}\n', encoding="utf-8")
    for args in (["data", "convert", str(bad), str(tmp_path / "y.jsonl")], ["data", "stats", str(bad)]):
        res = runner.invoke(app, args)
        assert res.exit_code == 1 and "error:" in res.stderr and "looks like JSON Lines" in res.stderr, args
        assert isinstance(res.exception, SystemExit)
