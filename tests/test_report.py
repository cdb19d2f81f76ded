"""Coverage reports: summary arithmetic, comparison, HTML/XLSX writers and `lawgov report`."""
from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lawgov_nlp.cli import app
from lawgov_nlp.report import CoverageReport, compare, least_covered, render_html, write_html, write_report
from lawgov_nlp.scheme import load_scheme
from lawgov_nlp.records import TaggedDocument, TaggedSentence

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()
SCHEME = load_scheme()
DIMS = SCHEME.dimension_codes
REAL = [d for d in DIMS if d != SCHEME.fallback_dimension]
NAMES = {d.code: d.name for d in SCHEME.dimensions}
PLAN = "plan"  # the shipped scheme's plan role (the report's default plan_role)


# --------------------------------------------------------------------------- synthetic documents
def _sent(i, text, dim, role="achievement", heading=False, section=(), doc_id="d"):
    scores = {d: (0.9 if d == dim else 0.1 / (len(DIMS) - 1)) for d in DIMS}
    roles = {r: (0.9 if r == role else 0.1 / (len(SCHEME.role_codes) - 1)) for r in SCHEME.role_codes}
    prob = role == SCHEME.problem_role
    return TaggedSentence(text=text, start=i * 10, end=i * 10 + len(text), index=i, section=tuple(section),
                          dimension=dim, scores=scores, secondary=[], role=role, role_scores=roles,
                          is_problem=prob, problem_probability=0.9 if prob else 0.05, is_heading=heading,
                          heading_level=1 if heading else None, doc_id=doc_id)


def _doc(doc_id, spec):
    """spec: list of (dim, role, heading, section) tuples; texts are generated and unique."""
    sents = [_sent(i, f"{doc_id}第{i}句<&>“引号”。", dim, role, heading, section, doc_id)
             for i, (dim, role, heading, section) in enumerate(spec)]
    return TaggedDocument(doc_id, sents, path=f"/x/{doc_id}.txt", info={}, dimension_names=dict(NAMES))


@pytest.fixture()
def synthetic():
    a, b, c = REAL[0], REAL[1], REAL[2]
    other = SCHEME.fallback_dimension
    s1 = ("一、总体情况",)
    s2 = ("二、存在问题",)
    d1 = _doc("甲", [
        (other, "other", True, ()),                       # heading: not counted
        (a, "achievement", False, s1), (a, "achievement", False, s1), (b, "achievement", False, s1),
        (other, "other", True, ()),
        (a, SCHEME.problem_role, False, s2), (b, SCHEME.problem_role, False, s2),
        (c, PLAN, False, ("三、下一步",)), (other, "other", False, ()),
    ])
    d2 = _doc("乙", [(a, "achievement", False, ()), (a, PLAN, False, ()), (a, SCHEME.problem_role, False, ())])
    return [d1, d2]


def test_summary_arithmetic(synthetic):
    d1, d2 = synthetic
    r = d1.summary()
    assert isinstance(r, CoverageReport)
    assert r.dimensions[-1] == SCHEME.fallback_dimension and set(r.dimensions) == set(DIMS)
    assert (r.n_sentences, r.n_headings, r.n_body) == (9, 2, 7)
    assert sum(r.counts.values()) == r.n_body == r.n_sentences - r.n_headings
    assert abs(sum(r.shares.values()) - 1) < 1e-9
    a, b, c = REAL[:3]
    assert (r.counts[a], r.counts[b], r.counts[c], r.counts[SCHEME.fallback_dimension]) == (3, 2, 1, 1)
    assert r.problem_counts[a] == 1 and r.problem_counts[b] == 1 and r.n_problems == 2
    assert [s.text for s in r.problems[b]] == [d1.sentences[6].text]
    assert r.plan_counts[c] == 1 and r.n_plans == 1
    assert r.missing == REAL[3:] and r.covered == REAL[:3]           # the fallback is never "missing"
    assert r.sections[a] == [("一、总体情况", 2), ("二、存在问题", 1)]
    assert r.heading_counts[SCHEME.fallback_dimension] == 2
    assert r.substantive_share == pytest.approx(6 / 7)
    assert r.role_counts[a]["achievement"] == 2
    assert sum(sum(v.values()) for v in r.role_counts.values()) == r.n_body
    df = r.to_frame()
    assert df["sentences"].sum() == r.n_body and df.loc[a, "name"] == NAMES[a]
    json.dumps(r.to_dict(), ensure_ascii=False)
    assert "not covered" in r.format()
    r2 = d2.summary()
    assert r2.sections[a] == [("（无标题）", 3)] and r2.n_problems == 1 and r2.n_plans == 1


def test_compare_and_least_covered(synthetic):
    df = compare(synthetic)
    assert df.shape == (2, 4 * len(DIMS))
    assert list(df.index) == ["甲", "乙"]
    assert list(df.columns.get_level_values(0).unique()) == ["sentences", "share", "problems", "plans"]
    a, b = REAL[:2]
    assert df.loc["甲", ("sentences", a)] == 3 and df.loc["乙", ("sentences", a)] == 3
    assert df.loc["甲", ("share", b)] == pytest.approx(2 / 7)
    assert df.loc["乙", ("share", a)] == pytest.approx(1.0)
    assert df["problems"].sum(axis=1).tolist() == [2, 1]
    assert df["sentences"].sum(axis=1).tolist() == [7, 3]
    lc = least_covered(synthetic)
    assert list(lc.index) == list(range(1, len(REAL) + 1))
    assert SCHEME.fallback_dimension not in set(lc["dimension"])
    assert lc["coverage_rate"].is_monotonic_increasing                     # ranked by reports covering first
    assert lc["coverage_rate"].tolist() == [n / 2 for n in lc["documents"]]
    for _, grp in lc.groupby("coverage_rate"):                              # then by mean sentence share
        assert grp["mean_share"].is_monotonic_increasing
    assert set(lc["dimension"].iloc[: len(REAL) - 3]) == set(REAL[3:])   # covered nowhere: ranked first
    assert lc.set_index("dimension").loc[a, "documents"] == 2
    assert lc.set_index("dimension").loc[REAL[2], "missing_in"] == 1


class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.sentences: list[str] = []
        self.refs: list[str] = []
        self.charset = None
        self._depth = 0
        self._buf: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "meta" and a.get("charset"):
            self.charset = a["charset"]
        for k in ("src", "href"):
            if a.get(k):
                self.refs.append(a[k])
        if self._depth:
            self._depth += 1
        elif tag == "span" and "s" in (a.get("class") or "").split():
            self._depth, self._buf = 1, []

    def handle_endtag(self, tag):
        if self._depth:
            self._depth -= 1
            if not self._depth:
                self.sentences.append("".join(self._buf))

    def handle_data(self, data):
        if self._depth:
            self._buf.append(data)


def _parse(path: Path) -> tuple[_Page, str]:
    raw = path.read_text(encoding="utf-8")
    p = _Page()
    p.feed(raw)
    return p, raw


def _no_external(p: _Page, raw: str) -> None:
    assert all(r.startswith("#") for r in p.refs), p.refs
    assert not re.search(r"https?://|//[a-z0-9.-]+\.[a-z]{2,}/", raw.replace('xmlns="http://www.w3.org/2000/svg"', ""))
    assert "@import" not in raw and "url(http" not in raw


def test_html_is_self_contained_and_has_every_sentence(synthetic, tmp_path):
    out = write_html(synthetic, tmp_path / "r.html", title="测试<报告>", skipped=[("bad.txt", "the file is empty")])
    p, raw = _parse(out)
    assert p.charset == "utf-8"
    assert p.sentences == [s.text for d in synthetic for s in d.sentences]
    assert "<&>" not in raw and "&lt;&amp;&gt;" in raw and "测试&lt;报告&gt;" in raw
    _no_external(p, raw)
    assert "Noto Sans CJK SC" in raw and "Microsoft YaHei" in raw
    assert "<svg" in raw and 'class="heat"' in raw and 'name="role"' in raw and 'class="fd"' in raw
    assert "bad.txt" in raw and NAMES[REAL[5]] in raw
    assert not list(tmp_path.glob("*.part"))
    assert "没有可分析的报告" in render_html([])


def test_xlsx_opens_and_has_every_sentence(synthetic, tmp_path):
    from openpyxl import load_workbook

    out = write_report(synthetic, tmp_path / "r.xlsx", title="ignored")
    wb = load_workbook(out)
    assert {"sentences", "summary", "comparison", "dimensions", "problems", "least_covered"} <= set(wb.sheetnames)
    ws = wb["sentences"]
    head = [c.value for c in ws[1]]
    texts = [row[head.index("text")] for row in ws.iter_rows(min_row=2, values_only=True)]
    assert texts == [s.text for d in synthetic for s in d.sentences]
    assert ws["A1"].font.bold and ws.column_dimensions["F"].width >= 40
    summ = list(wb["summary"].iter_rows(values_only=True))
    assert summ[0][0] == "doc_id" and [r[0] for r in summ[1:]] == ["甲", "乙"]
    comp = list(wb["comparison"].iter_rows(values_only=True))
    assert comp[1][1] == NAMES[DIMS[0]] and comp[2][0] == "甲" and comp[2][1] == 3
    assert len(list(wb["problems"].iter_rows(min_row=2))) == 3
    with pytest.raises(ValueError):
        write_report(synthetic, tmp_path / "r.pdf")


# --------------------------------------------------------------------------- with a (tiny) model
def test_summary_of_tagged_samples(tiny_model, samples):
    import lawgov_nlp as lg

    docs = lg.load(tiny_model, threads=1).tag_files(samples)
    for d in docs:
        r = d.summary()
        body = [s for s in d.sentences if not s.is_heading]
        assert sum(r.counts.values()) == len(body) == r.n_sentences - r.n_headings
        assert r.n_problems == sum(s.is_problem for s in body)
        for dim in r.dimensions:
            assert r.problem_counts[dim] == sum(s.is_problem and s.dimension == dim for s in body)
    df = compare(docs)
    assert df.shape == (3, 4 * len(DIMS)) and df["sentences"].sum(axis=1).tolist() == \
        [d.summary().n_body for d in docs]


def test_report_command_folder_with_bad_file(tiny_model, samples, tmp_path):
    folder = tmp_path / "reports"
    folder.mkdir()
    for p in samples:
        (folder / p.name).write_bytes(p.read_bytes())
    (folder / "empty.txt").write_bytes(b"")
    out = tmp_path / "report.html"
    res = runner.invoke(app, ["report", str(folder), "-o", str(out), "--model", str(tiny_model), "--no-progress",
                              "--threads", "1"])
    assert res.exit_code == 1, res.output
    assert "empty.txt: the file is empty" in res.stderr and "1 input(s) failed" in res.stderr
    p, raw = _parse(out)
    expected = [s.text for f in sorted(samples) for s in __import__("lawgov_nlp").read_file(f).sentences]
    assert p.sentences == expected and len(expected) == 93 + 99 + 116
    assert "empty.txt" in raw
    _no_external(p, raw)
    xl = tmp_path / "report.xlsx"
    res = runner.invoke(app, ["report", *map(str, samples), "-o", str(xl), "--model", str(tiny_model),
                              "--no-progress", "--threads", "1"])
    assert res.exit_code == 0, res.stderr
    from openpyxl import load_workbook

    assert load_workbook(xl)["sentences"].max_row == 1 + 93 + 99 + 116
    res = runner.invoke(app, ["report", str(folder), "-o", str(tmp_path / "r.txt"), "--model", str(tiny_model)])
    assert res.exit_code == 2 and not (tmp_path / "r.txt").exists()
