"""``lawgov data suggest``: uncertainty ranking, diversity, inputs, output formats, errors."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from lawgov_nlp.data.suggest import (content_chars, head_uncertainty, normalise_text, select, suggest, uncertainty,
                                     write_suggestions)

ROOT = Path(__file__).resolve().parents[1]


def _probs(conf: list[float], k: int = 4) -> np.ndarray:
    """Rows whose top class has probability ``c`` and the rest share what is left."""
    out = np.zeros((len(conf), k))
    for i, c in enumerate(conf):
        out[i] = (1 - c) / (k - 1)
        out[i, i % k] = c
    return out


_WORDS = "行政复议 执法监督 规范性文件 重大决策 法治宣传 矛盾调解 政务公开 数字政府 应急管理 安全生产 信访工作 合法性审查 行政许可 公平竞争 营商环境 基层治理 人民调解 执法培训 案卷评查 权责清单".split()


def _distinct(i: int) -> str:
    """A sentence that shares little with the others (two topic words of twenty, in their own order)."""
    a, b = _WORDS[i % 20], _WORDS[(i * 7 + 3) % 20]
    return f"{a}{'和' if i % 2 else '与'}{b}" + "相关工作" * (i // 20 + 1) + "。"


def _recs(n: int, docs: int = 1, texts=None) -> list[dict]:
    texts = texts or [_distinct(i) for i in range(n)]
    return [{"doc_id": f"d{i % docs}", "text": texts[i]} for i in range(n)]


def test_uncertainty_scores():
    p = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.0], [1 / 3, 1 / 3, 1 / 3]])
    assert np.allclose(head_uncertainty(p, "margin"), [0.0, 1.0, 1.0])
    assert np.allclose(head_uncertainty(p, "entropy"), [0.0, np.log(2) / np.log(3), 1.0])
    # both heads count: the mean of their scores
    r = np.array([[0.5, 0.5], [1.0, 0.0], [1.0, 0.0]])
    assert np.allclose(uncertainty(p, r, "margin"), [0.5, 0.5, 0.5])
    with pytest.raises(ValueError, match="unknown strategy"):
        head_uncertainty(p, "bald")


@pytest.mark.parametrize("strategy", ["margin", "entropy"])
def test_ranking_follows_uncertainty(strategy):
    conf = [0.95, 0.3, 0.8, 0.4, 0.99, 0.6, 0.35, 0.9]
    recs = _recs(len(conf), docs=8)
    dp = _probs(conf, 10)
    rp = _probs(conf, 4)
    chosen = select(recs, dp, rp, 4, strategy=strategy, per_document=8, per_dimension=8)
    assert chosen == [1, 6, 3, 5]  # the least confident first
    assert select(recs, dp, rp, 8, strategy=strategy, per_document=8, per_dimension=8) == \
        list(np.argsort(conf, kind="stable"))


def test_near_duplicates_are_suggested_once():
    texts = ["全年办理行政复议案件56件，同比增长12%。", "全年办理行政复议案件 57 件,同比增长 13%.",
             "全年辦理行政複議案件56件，同比增長12%。", "全年办理行政复议案件56件，同比增长12%，较上年有所提高。",
             "推进严格规范公正文明执法，开展执法案卷评查。"]
    recs = _recs(5, docs=5, texts=texts)
    dp, rp = _probs([0.3, 0.31, 0.32, 0.33, 0.9], 10), _probs([0.3, 0.31, 0.32, 0.33, 0.9])
    chosen = select(recs, dp, rp, 5)
    # digits, spacing, punctuation and script do not make a new sentence; a longer variant is near (Jaccard)
    assert chosen == [0, 4]
    assert normalise_text(texts[0]) == normalise_text(texts[1]) == normalise_text(texts[2])
    # what is already labelled is not suggested again
    assert select(recs, dp, rp, 5, exclude=[texts[1]]) == [4]
    # a stricter threshold keeps the longer variant
    assert select(recs, dp, rp, 5, near_duplicate=0.95) == [0, 3, 4]


def test_spread_over_documents_and_dimensions():
    # document d0 holds the 12 most uncertain sentences; d1 and d2 the rest
    n = 30
    conf = [0.2 + 0.01 * i for i in range(n)]
    recs = [{"doc_id": "d0" if i < 12 else f"d{1 + i % 2}", "text": _distinct(i)} for i in range(n)]
    dp, rp = _probs(conf, 10), _probs(conf, 4)
    chosen = select(recs, dp, rp, 6)
    by_doc = {d: sum(recs[i]["doc_id"] == d for i in chosen) for d in ("d0", "d1", "d2")}
    assert by_doc["d0"] == 4 and by_doc["d1"] + by_doc["d2"] == 2  # cap: ceil(2 * 6 / 3) = 4
    # one predicted dimension cannot take everything either
    dp1 = np.zeros((n, 10))
    dp1[:, 0] = np.array(conf)
    dp1[:, 1:] = ((1 - np.array(conf)) / 9)[:, None]
    dp1[20:, 0], dp1[20:, 1] = 0.05, 0.9  # the confident ones predict another dimension
    chosen = select(recs, dp1, rp, 10, per_dimension=6, per_document=30)
    assert sum(dp1[i].argmax() == 0 for i in chosen) == 6
    # the caps order the choice but never leave it short: one document, n = 10
    solo = [{**r, "doc_id": "only"} for r in recs]
    assert len(select(solo, dp, rp, 10)) == 10


def test_sentences_without_content_are_skipped_and_ties_are_seeded():
    assert content_chars("一、") == 0 and content_chars("（二）") == 0 and content_chars("三、总体情况") == 4
    recs = _recs(3, docs=3, texts=["一、", "（二）", "推进依法行政。"])
    assert select(recs, _probs([0.3, 0.3, 0.9], 10), _probs([0.3, 0.3, 0.9]), 3) == [2]
    tied = _recs(20, docs=20)
    dp, rp = _probs([0.5] * 20, 10), _probs([0.5] * 20)
    a, b = select(tied, dp, rp, 5, seed=1), select(tied, dp, rp, 5, seed=2)
    assert a == select(tied, dp, rp, 5, seed=1) and a != b


def test_bad_arguments():
    recs = _recs(2)
    with pytest.raises(ValueError, match="n must be"):
        select(recs, _probs([0.5, 0.5]), _probs([0.5, 0.5]), 0)
    with pytest.raises(ValueError, match="2 records but 1"):
        select(recs, _probs([0.5]), _probs([0.5, 0.5]), 1)


# --------------------------------------------------------------------------- with a model
@pytest.fixture(scope="module")
def tagged_jsonl(tiny_model, samples, tmp_path_factory):
    from typer.testing import CliRunner

    from lawgov_nlp.cli import app

    out = tmp_path_factory.mktemp("tagged") / "tagged.jsonl"
    res = CliRunner().invoke(app, ["tag", *map(str, samples), "-o", str(out), "--model", str(tiny_model), "-q"])
    assert res.exit_code == 0, res.output
    return out


def test_suggest_from_reports_writes_every_format(tiny_model, samples, tmp_path):
    from lawgov_nlp.data import read_any

    recs = suggest([str(p) for p in samples], 12, model=tiny_model)
    assert len(recs) == 12
    assert len({r["doc_id"] for r in recs}) == 3
    assert all(r["dimension"] and r["role"] and 0 <= r["uncertainty"] <= 1 for r in recs)
    first = recs[0]
    assert {"doc_id", "sent_id", "index", "section", "context_before", "context_after"} <= set(first)
    # neighbours are the document's own sentences around it
    from lawgov_nlp import read_file

    doc = read_file(next(p for p in samples if p.stem == first["doc_id"]))
    k = first["index"]
    assert doc.sentences[k].text == first["text"]
    assert first["context_after"] == [s.text for s in doc.sentences[k + 1:k + 3]]
    assert first["context_before"] == [s.text for s in doc.sentences[max(0, k - 2):k]]

    for fmt, name in (("labelstudio", "tasks.json"), ("doccano", "tasks.jsonl"), ("csv", "tasks.csv"),
                      ("jsonl", "records.jsonl")):
        write_suggestions(recs, tmp_path / name, fmt)
        back = read_any(tmp_path / name, fmt)
        assert [r["text"] for r in back] == [r["text"] for r in recs], fmt
        assert [r["dimension"] for r in back] == [r["dimension"] for r in recs], fmt
        assert [str(r["doc_id"]) for r in back] == [r["doc_id"] for r in recs], fmt
    tasks = json.loads((tmp_path / "tasks.json").read_text(encoding="utf-8"))
    t = tasks[0]
    assert t["data"]["doc_id"] == first["doc_id"] and t["data"]["index"] == first["index"]
    assert t["data"]["context_after"] == first["context_after"] and "section" in t["data"]
    pred = t["predictions"][0]
    assert {x["from_name"] for x in pred["result"]} >= {"dimension", "role"}
    assert pred["model_version"].startswith("encoder")
    assert all("score" in x for x in pred["result"][:2])


def test_suggest_from_tag_output_uses_its_probabilities(tagged_jsonl):
    rows = [json.loads(x) for x in tagged_jsonl.read_text(encoding="utf-8").splitlines()]
    recs = suggest([str(tagged_jsonl)], 5, model="/nonexistent/never-loaded")  # no model is needed
    assert len(recs) == 5
    by_text = {}
    for r in rows:
        by_text.setdefault(r["text"], r)
    dims = [k[2:] for k in rows[0] if k.startswith("p_") and not k.startswith("p_role_")]
    roles = [k[7:] for k in rows[0] if k.startswith("p_role_")]
    for r in recs:
        row = by_text[r["text"]]
        expect = uncertainty(np.array([[row[f"p_{d}"] for d in dims]]), np.array([[row[f"p_role_{x}"] for x in roles]]))
        assert r["uncertainty"] == pytest.approx(float(expect[0]), abs=1e-4)
        assert r["dimension"] == row["dimension"]
    us = [r["uncertainty"] for r in recs]
    assert max(us) >= min(us)


def test_suggest_from_unlabelled_jsonl(tiny_model, tmp_path):
    rows = [json.loads(x) for x in (ROOT / "training/data/dev.jsonl").read_text(encoding="utf-8").splitlines()][:80]
    src = tmp_path / "unlabelled.jsonl"
    src.write_text("".join(json.dumps({k: v for k, v in r.items() if k not in ("dimension", "role", "secondary")},
                                      ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    recs = suggest([str(src)], 8, model=tiny_model, strategy="entropy")
    assert len(recs) == 8 and all(r["strategy"] == "entropy" for r in recs)
    assert {r["sent_id"] for r in recs} <= {r["sent_id"] for r in rows}


def test_bad_inputs_name_the_file(tiny_model, samples, tmp_path):
    from lawgov_nlp.errors import LawgovError

    bad = tmp_path / "broken.jsonl"
    bad.write_text('{"text": "一句话。"}\nnot json\n', encoding="utf-8")
    with pytest.raises(LawgovError, match="broken.jsonl"):
        suggest([str(bad)], 3, model=tiny_model)
    with pytest.raises(LawgovError, match="missing.txt"):
        suggest([str(tmp_path / "missing.txt")], 3, model=tiny_model)
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n", encoding="utf-8")
    with pytest.raises(LawgovError, match="empty.txt"):
        suggest([str(empty)], 3, model=tiny_model)
    # with a handler, a bad input is reported and the others are used
    seen = []
    recs = suggest([str(bad), str(samples[0])], 3, model=tiny_model, on_error=lambda w, r: seen.append(w))
    assert len(recs) == 3 and seen == [str(bad)]


def test_cli(tiny_model, samples, tagged_jsonl, tmp_path):
    from typer.testing import CliRunner

    from lawgov_nlp.cli import app
    from lawgov_nlp.data import read_any

    run = CliRunner().invoke
    out = tmp_path / "tasks.json"
    res = run(app, ["data", "suggest", *map(str, samples), "-n", "7", "-o", str(out), "--model", str(tiny_model),
                    "--seed", "3"])
    assert res.exit_code == 0, res.output
    assert len(read_any(out)) == 7 and "7 sentences from" in res.output
    res = run(app, ["data", "suggest", str(tagged_jsonl), "-n", "4", "-o", str(tmp_path / "t.csv"),
                    "--strategy", "entropy", "--exclude", str(out)])
    assert res.exit_code == 0, res.output
    excluded = {r["text"] for r in read_any(out)}
    assert not excluded & {r["text"] for r in read_any(tmp_path / "t.csv")}
    res = run(app, ["data", "suggest", str(tagged_jsonl), "-n", "4", "-o", str(tmp_path / "d.jsonl"), "-f", "doccano"])
    assert res.exit_code == 0 and len(read_any(tmp_path / "d.jsonl", "doccano")) == 4
    # errors: a missing input is named (exit 1, the rest is done); bad options exit 2
    res = run(app, ["data", "suggest", str(tagged_jsonl), str(tmp_path / "nope.txt"), "-n", "2", "-o",
                    str(tmp_path / "x.json")])
    assert res.exit_code == 1 and "nope.txt" in res.output and (tmp_path / "x.json").is_file()
    res = run(app, ["data", "suggest", str(tagged_jsonl), "-n", "2", "-o", str(tmp_path / "y.json"), "--strategy", "bald"])
    assert res.exit_code == 2 and "unknown strategy" in res.output
    res = run(app, ["data", "suggest", str(tmp_path / "nope.txt"), "-n", "2", "-o", str(tmp_path / "z.json")])
    assert res.exit_code == 2 and "nope.txt" in res.output and not (tmp_path / "z.json").exists()
