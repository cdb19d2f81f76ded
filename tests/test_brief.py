"""Named reports, one counting rule everywhere, the DOCX brief and the trend view."""
from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from typer.testing import CliRunner

import lawgov_nlp as lg
from lawgov_nlp.cli import app
from lawgov_nlp.report import (COUNT_DEFINITION, build_brief, render_html, summaries, totals, trend, unique_labels,
                               write_docx, write_report)
from lawgov_nlp.text.chars import to_traditional

runner = CliRunner()

_BODY = ("一、主要举措和成效\n（一）完善权责清单，深化简政放权，推进政务服务一网通办。\n"
         "（二）规范行政执法，全面落实行政执法三项制度。\n二、存在的不足\n"
         "一是行政复议工作仍有短板，行政应诉能力有待提高。\n二是执法人员培训不足，执法不规范问题仍然存在。\n"
         "三、下一步工作安排\n一是加强应急预案演练，提升突发事件应对能力。\n")


def _county(year: int, extra: str = "", script: str = "simplified") -> str:
    t = f"青禾县人民政府关于{year}年度法治政府建设情况的报告\n{year}年，我县坚持依法行政。\n" + _BODY + extra
    return to_traditional(t) if script == "traditional" else t


@pytest.fixture(scope="module")
def county_docs():
    """Made-up reports of one county for 2021-2023 (2022 in traditional script), tagged by the keyword
    baseline, plus one report of another office."""
    tagger = lg.load("keywords")
    texts = {2021: _county(2021),
             2022: _county(2022, "同时建成一体化政务数据平台，推进政务数据共享。\n", "traditional"),
             2023: _county(2023, "同时建成一体化政务数据平台，推进政务数据共享。\n")}
    docs = tagger.tag_documents([lg.read_text(t, path=f"/data/qh_{y}.txt") for y, t in texts.items()])
    other = tagger.tag_documents([lg.read_text("云溪市司法局2023年法治政府建设年度报告\n" + _BODY, path="/data/yx.txt")])
    return docs + other


def test_reports_are_named_by_title_and_office(county_docs):
    reps = summaries(county_docs)
    labels = unique_labels(reps)
    assert labels[0] == "青禾县人民政府关于2021年度法治政府建设情况的报告"
    assert labels[3] == "云溪市司法局2023年法治政府建设年度报告"
    page = render_html(county_docs)
    for lab, d in zip(labels, county_docs):  # the name is shown, the file name is the tooltip
        assert f'title="{d.path}">{lab}</a>' in page


def test_trend_of_one_county(county_docs):
    ts = trend(county_docs)
    assert len(ts) == 1                         # 云溪市司法局 has one year only: no trend
    t = ts[0]
    assert t.years == [2021, 2022, 2023] and t.level == "县" and t.office_key == "青禾县"
    reps = summaries(county_docs)
    for y, r in zip(t.years, reps[:3]):
        assert t.n_body[y] == r.n_body
        assert t.counts[y] == {d: r.counts[d] for d in r.real_dimensions}
        assert t.problems[y] == {d: len(r.problems[d]) for d in r.real_dimensions}
    digital = t.counts[2022]
    appeared = [d for d in t.dimensions if t.counts[2021][d] == 0 and digital[d] > 0]
    assert appeared and t.changes[0]["appeared"] == appeared and t.changes[0]["disappeared"] == []
    assert t.changes[1] == {"from": 2022, "to": 2023, "appeared": [], "disappeared": []}
    df = t.to_frame()
    assert len(df) == 3 * len(t.dimensions) and set(df.loc[df["status"] == "新出现", "year"]) == {2022}
    page = render_html(county_docs)
    assert 'id="trends"' in page and "<polyline" in page and "青禾县人民政府（县，2021—2023年）" in page
    assert trend(county_docs[:1]) == [] and trend([]) == []


def test_xlsx_has_metadata_about_and_trends(county_docs, tmp_path):
    from openpyxl import load_workbook

    wb = load_workbook(write_report(county_docs, tmp_path / "r.xlsx"))
    summ = list(wb["summary"].iter_rows(values_only=True))
    head = summ[0]
    row = dict(zip(head, summ[1]))
    assert row["office"] == "青禾县人民政府" and row["year"] == 2021 and row["level"] == "县"
    assert row["genre"] == "年度报告" and row["report"].startswith("青禾县人民政府关于2021")
    trends = list(wb["trends"].iter_rows(values_only=True))
    assert trends[0][:3] == ("office", "level", "year") and {r[2] for r in trends[1:]} == {2021, 2022, 2023}
    about = dict(wb["about"].iter_rows(min_row=2, values_only=True))
    assert about["counting rule"] == COUNT_DEFINITION
    assert about["problems"] == totals(summaries(county_docs))["problems"] == sum(r[head.index("problems")]
                                                                               for r in summ[1:])


def test_docx_brief_reopens_with_headings_and_tables(county_docs, tmp_path):
    import docx

    out = write_docx(county_docs, tmp_path / "brief.docx", title="测试简报")
    d = docx.Document(str(out))
    heads = [p.text for p in d.paragraphs if p.style.name.startswith("Heading") or p.style.name == "Title"]
    assert heads[0] == "测试简报"
    for h in ("一、总体情况", "二、各报告情况", "三、各报告共性问题", "四、年度趋势"):
        assert h in heads
    reps = summaries(county_docs)
    labels = unique_labels(reps)
    assert all(any(h.endswith(lab) for h in heads) for lab in labels)
    summary = d.tables[0]
    assert len(summary.rows) == 1 + len(county_docs)
    assert [r.cells[0].text for r in summary.rows[1:]] == labels
    assert summary.rows[1].cells[-1].text == str(reps[0].n_problems)
    meta = {r.cells[0].text: r.cells[1].text for r in d.tables[1].rows[1:]}
    assert meta["发文单位"] == "青禾县人民政府" and meta["报告年度"] == "2021年" and meta["层级"] == "县"
    text = "\n".join(p.text for p in d.paragraphs)
    for r in reps:                                      # every problem sentence is quoted
        for s in (x for v in r.problems.values() for x in v):
            assert f"“{s.text}”" in text
    common = next(t for t in d.tables if t.rows[0].cells[0].text == "维度" and t.rows[0].cells[1].text == "涉及报告数")
    assert all(int(r.cells[1].text.split("/")[0]) >= 2 for r in common.rows[1:])
    trend_t = d.tables[-1]
    assert [r.cells[0].text for r in trend_t.rows[1:]] == ["2021", "2022", "2023"]
    assert COUNT_DEFINITION in text
    assert not list(tmp_path.glob("*.part"))


def test_docx_single_report_and_hostile_text(tmp_path):
    tagger = lg.load("keywords")
    doc = tagger.tag_documents([lg.read_text("某某县2023年法治政府建设年度报告\n存在问题：执法\x07不规范。\n",
                                             path="/x/a.txt")])
    d = build_brief(doc)
    text = "\n".join(p.text for p in d.paragraphs)
    assert "只有一份报告" in text and "四、年度趋势" not in text
    write_docx(doc, tmp_path / "a.docx")


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed")
def test_docx_converts_with_libreoffice(county_docs, tmp_path):
    out = write_docx(county_docs, tmp_path / "brief.docx")
    res = subprocess.run(["soffice", "--headless", f"-env:UserInstallation=file://{tmp_path}/lo", "--convert-to",
                          "pdf", "--outdir", str(tmp_path), str(out)], capture_output=True, text=True, timeout=180)
    assert (tmp_path / "brief.pdf").stat().st_size > 10_000, res.stderr


def test_counts_agree_between_cli_page_xlsx_and_docx(tmp_path):
    import docx
    from openpyxl import load_workbook

    folder = tmp_path / "in"
    folder.mkdir()
    for y in (2021, 2022):
        (folder / f"qh{y}.txt").write_text(_county(y), encoding="utf-8")
    nums = {}
    for ext in ("html", "xlsx", "docx"):
        out = tmp_path / f"r.{ext}"
        res = runner.invoke(app, ["report", str(folder), "-o", str(out), "--model", "keywords"])
        assert res.exit_code == 0, res.output
        m = re.search(r"(\d+) document\(s\), (\d+) sentences \((\d+) body, (\d+) headings\), (\d+) problem sentence\(s\), "
                      r"(\d+) plan sentence\(s\) \(problem sentences are body sentences", res.output)
        assert m, res.output
        nums[f"cli-{ext}"] = tuple(int(x) for x in m.groups())
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    got = dict(re.findall(r'<span data-n="(\w+)">(\d+)</span>', page))
    keys = ("documents", "sentences", "body", "headings", "problems", "plans")
    nums["html"] = tuple(int(got[k]) for k in keys)
    about = dict(load_workbook(tmp_path / "r.xlsx")["about"].iter_rows(min_row=2, values_only=True))
    nums["xlsx"] = tuple(int(about[k]) for k in keys)
    para = next(p.text for p in docx.Document(str(tmp_path / "r.docx")).paragraphs if p.text.startswith("共 "))
    nums["docx"] = tuple(int(x) for x in re.findall(r"\d+", para.split("。")[0]))
    assert len(set(nums.values())) == 1, nums
    assert nums["html"][4] > 0 and COUNT_DEFINITION in page


def test_tag_rows_carry_the_metadata(tmp_path):
    import csv

    src = tmp_path / "qh.txt"
    src.write_text(_county(2022, script="traditional"), encoding="utf-8")
    out = tmp_path / "t.csv"
    res = runner.invoke(app, ["tag", str(src), "-o", str(out), "--model", "keywords", "--no-progress"])
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader(out.open(encoding="utf-8-sig")))
    assert rows and {r["doc_office"] for r in rows} == {"青禾縣人民政府"}
    assert {(r["doc_level"], r["doc_year"], r["doc_genre"], r["doc_date"]) for r in rows} == {("县", "2022", "annual_report", "")}
    doc = lg.load("keywords").tag_file(src)
    assert doc.info["metadata"]["office"]["evidence"] == src.read_text(encoding="utf-8")[
        doc.info["metadata"]["office"]["start"]:doc.info["metadata"]["office"]["end"]]
    hand = type(doc)(doc.doc_id, doc.sentences, doc.path, {}, doc.dimension_names)  # no info: read from sentences
    assert hand.metadata.values() == doc.metadata.values()
