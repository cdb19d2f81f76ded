from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lawgov_nlp.cli import app


ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()


@pytest.fixture()
def folder(tmp_path, samples):
    f = tmp_path / "reports"
    f.mkdir()
    for p in samples:
        (f / p.name).write_bytes(p.read_bytes())
    (f / "empty.txt").write_bytes(b"")
    (f / "broken.docx").write_bytes(b"PK\x03\x04 not a zip")
    return f


def test_tag_folder_with_bad_files(tiny_model, folder, tmp_path):
    out = tmp_path / "tags.jsonl"
    res = runner.invoke(app, ["tag", str(folder), "-o", str(out), "--model", str(tiny_model), "--no-progress"])
    assert res.exit_code == 1
    assert "empty.txt: the file is empty" in res.stderr and "broken.docx: not a readable .docx" in res.stderr
    rows = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 93 + 99 + 116
    r = rows[0]
    for key in ("doc_id", "path", "start", "end", "section", "text", "dimension", "dimension_score", "secondary",
                "role", "is_problem", "problem_probability", "p_functions", "p_role_problem"):
        assert key in r
    assert not list(tmp_path.glob("*.part"))


@pytest.mark.parametrize("ext", ["csv", "xlsx"])
def test_tag_formats_and_resume(tiny_model, folder, tmp_path, samples, ext):
    out = tmp_path / f"tags.{ext}"
    first = [str(folder / samples[0].name)]
    res = runner.invoke(app, ["tag", *first, "-o", str(out), "--model", str(tiny_model), "--no-progress"])
    assert res.exit_code == 0, res.stderr
    import pandas as pd
    read = (lambda p: pd.read_csv(p, encoding="utf-8-sig")) if ext == "csv" else pd.read_excel
    assert len(read(out)) == 93
    res = runner.invoke(app, ["tag", str(folder / "*.txt"), "-o", str(out), "--model", str(tiny_model),
                              "--resume", "--no-progress"])
    assert res.exit_code == 1 and "empty.txt" in res.stderr  # empty.txt matches the glob too
    assert "resume:" not in res.stderr  # --no-progress is quiet: errors and warnings only
    df = read(out)
    assert len(df) == 93 + 99 + 116 and df["path"].nunique() == 3


def test_interrupted_run_keeps_finished_documents(tiny_model, folder, tmp_path, monkeypatch):
    from lawgov_nlp.models import tagger as tagger_mod

    calls = {"n": 0}
    real = tagger_mod.Tagger.tag_documents

    def flaky(self, docs, progress=None):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(self, docs, progress)

    monkeypatch.setattr(tagger_mod.Tagger, "tag_documents", flaky)
    files = sorted(str(p) for p in folder.glob("*.txt"))
    out = tmp_path / "t.jsonl"
    # the second batch fails: every document of the first batch is already written
    many = tmp_path / "many"
    many.mkdir()
    for i in range(10):
        (many / f"r{i:02d}.txt").write_text(Path(files[i % 3]).read_text(encoding="utf-8"), encoding="utf-8")
    res = runner.invoke(app, ["tag", str(many), "-o", str(out), "--model", str(tiny_model), "--no-progress"])
    assert res.exit_code == 130
    rows = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert 1 <= len({r["path"] for r in rows}) < 10  # the first batch was finished and written
    monkeypatch.setattr(tagger_mod.Tagger, "tag_documents", real)
    res = runner.invoke(app, ["tag", str(many), "-o", str(out), "--model", str(tiny_model), "--resume", "--no-progress"])
    assert res.exit_code == 0
    rows = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert len({r["path"] for r in rows}) == 10


def test_python_api(tiny_model, samples):
    import lawgov_nlp as lg

    t = lg.load(tiny_model)
    doc = t.tag_file(samples[2])
    assert len(doc.sentences) == 116
    s = doc.sentences[7]
    assert s.section[-1] == "存在问题1" and s.text.startswith("存在问题1")
    assert set(s.scores) == set(t.scheme.dimension_codes)
    df = doc.to_dataframe()
    assert len(df) == 116 and {"dimension", "p_rules", "is_problem"} <= set(df.columns)
    docs = t.tag_files(samples)
    assert [len(d.sentences) for d in docs] == [93, 99, 116]
    assert [x.dimension for x in docs[2].sentences] == [x.dimension for x in doc.sentences]
    # a sentence far longer than the model's limit is tagged by windows, not truncated
    long = "，".join(["全面推行行政执法公示制度和执法全过程记录制度"] * 40) + "。"
    items = t.tag_sentences([long, "短句。"])
    assert len(items) == 2 and items[0].text == long
    from lawgov_nlp.models.encoder import encode_items
    _, owner, _ = encode_items(t.tokenizer, t.settings, [long], [()])
    assert len(owner) > 2
    bad = t.tag_text("一、总体情况\n全年办结行政复议案件12件。")
    assert [x.text for x in bad.sentences] == ["一、总体情况", "全年办结行政复议案件12件。"]


def test_help_names_the_ray_extra_and_the_ray_options():
    """The help is rich markup: a bare ``[ray]`` would vanish and leave ``pip install "lawgov-nlp"``."""
    res = runner.invoke(app, ["tag", "--help"], env={"COLUMNS": "240"})
    assert res.exit_code == 0
    assert 'pip install "lawgov-nlp[ray]"' in res.output
    for flag in ("--engine", "--address", "--actors", "--batch-size", "--docs-per-batch", "--resume", "--format"):
        assert flag in res.output


def test_parquet_shard_with_a_year_found_in_one_report_and_not_another(tmp_path):
    """doc_year is an int where found and "" where not: in Parquet the "" is a null, the column stays numeric."""
    pq = pytest.importorskip("pyarrow.parquet")
    from lawgov_nlp.output import rows_to_parquet

    rows = [{"path": "a.txt", "index": 0, "doc_year": 2021, "doc_office": "某县人民政府", "text": "一"},
            {"path": "b.txt", "index": 0, "doc_year": "", "doc_office": "", "text": ""}]
    rows_to_parquet(rows, tmp_path / "p.parquet")
    got = pq.read_table(tmp_path / "p.parquet").to_pylist()
    assert [r["doc_year"] for r in got] == [2021, None]
    assert [r["doc_office"] for r in got] == ["某县人民政府", ""] and [r["text"] for r in got] == ["一", ""]
