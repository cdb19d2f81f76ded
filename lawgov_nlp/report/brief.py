"""The Word brief (``lawgov report … -o brief.docx``): what an analyst hands upward, editable.

In Chinese, built with python-docx (imported inside the functions):

1. 总体情况: the counting rule, totals and a summary table of reports × dimensions
   (body sentences and share; problem sentences);
2. 各报告情况: per report its metadata (title, office, level, year, genre, date), its coverage,
   the problems grouped by dimension with the sentences quoted, and the next-year plans grouped
   by dimension;
3. 各报告共性问题: the dimensions whose problems recur in two or more reports, with counts and
   one quoted sentence per report;
4. 年度趋势 (when the input holds one office's reports for several years): a table per office.

Counts follow :data:`~lawgov_nlp.report.summary.COUNT_DEFINITION`, as on the page and in the workbook.
"""
from __future__ import annotations

import datetime as _dt
import os
from pathlib import Path
from typing import Any, Sequence

from .page import metadata_rows
from .summary import (COUNT_DEFINITION, DEFAULT_PLAN_ROLE, CoverageReport, _labels, summarize, totals,
                      unique_labels)
from .trend import trend

BODY_FONT = "宋体"
HEADING_FONT = "黑体"
LATIN_FONT = "Times New Roman"


def _set_font(style_or_run, east_asian: str, size_pt: float | None = None, bold: bool | None = None) -> None:
    from docx.oxml.ns import qn
    from docx.shared import Pt

    font = style_or_run.font
    font.name = LATIN_FONT
    if size_pt is not None:
        font.size = Pt(size_pt)
    if bold is not None:
        font.bold = bold
    el = style_or_run.element
    rpr = el.get_or_add_rPr()
    rfonts = rpr.find(qn("w:rFonts"))
    if rfonts is None:
        rfonts = rpr.makeelement(qn("w:rFonts"), {})
        rpr.append(rfonts)
    rfonts.set(qn("w:eastAsia"), east_asian)


def _styles(document) -> None:
    from docx.shared import RGBColor

    _set_font(document.styles["Normal"], BODY_FONT, 11)
    for name, size in (("Title", 20), ("Heading 1", 16), ("Heading 2", 14), ("Heading 3", 12)):
        st = document.styles[name]
        _set_font(st, HEADING_FONT, size, True)
        st.font.color.rgb = RGBColor(0x1F, 0x23, 0x28)


def _table(document, header: Sequence[str], rows: Sequence[Sequence[Any]], size_pt: float = 9,
           widths_cm: Sequence[float] | None = None):
    from docx.shared import Cm

    t = document.add_table(rows=1, cols=len(header))
    t.style = "Table Grid"
    for cell, text in zip(t.rows[0].cells, header):
        cell.text = ""
        run = cell.paragraphs[0].add_run(_x(text))
        _set_font(run, HEADING_FONT, size_pt, True)
    for row in rows:
        cells = t.add_row().cells
        for cell, v in zip(cells, row):
            cell.text = ""
            run = cell.paragraphs[0].add_run(_x(v))
            _set_font(run, BODY_FONT, size_pt)
    if widths_cm:  # LibreOffice reads the grid's column widths, Word the cells': set both, no autofit
        t.autofit = False
        for col, w in zip(t.columns, widths_cm):
            col.width = Cm(w)
        for row in t.rows:
            for cell, w in zip(row.cells, widths_cm):
                cell.width = Cm(w)
    return t


def _x(v: Any) -> str:
    """Text a DOCX run can hold (XML 1.0 forbids C0 controls; the XLSX helper replaces them)."""
    from ..output import xlsx_text

    return xlsx_text("" if v is None else str(v))


def _pct(x: float) -> str:
    return f"{x * 100:.1f}%"


def _quote(document, text: str, note: str = "") -> None:
    p = document.add_paragraph(style="List Bullet")
    p.add_run(_x(f"“{text}”"))
    if note:
        r = p.add_run(_x(f"（{note}）"))
        _set_font(r, BODY_FONT, 9)


def _grouped(document, rep: CoverageReport, by_dim: dict[str, list], empty: str) -> None:
    dims = [d for d in rep.dimensions if by_dim.get(d)]
    if not dims:
        document.add_paragraph(empty)
        return
    for d in dims:
        document.add_heading(f"{rep.name(d)}（{len(by_dim[d])} 句）", level=3)
        for s in by_dim[d]:
            _quote(document, s.text, " > ".join(s.section) if s.section else "")


def common_problems(reps: Sequence[CoverageReport], labels: Sequence[str]) -> list[dict]:
    """Dimensions whose problems recur across reports (two or more), most reports first:
    ``dimension``, ``name``, ``reports`` (how many), ``problems`` (sentences), ``examples``
    ([(report label, first problem sentence)])."""
    if not reps:
        return []
    out = []
    for d in reps[0].real_dimensions:
        having = [(lab, r.problems[d]) for r, lab in zip(reps, labels) if r.problems.get(d)]
        if len(having) >= 2:
            out.append({"dimension": d, "name": reps[0].name(d), "reports": len(having),
                        "problems": sum(len(v) for _, v in having),
                        "examples": [(lab, v[0].text) for lab, v in having]})
    out.sort(key=lambda x: (-x["reports"], -x["problems"]))
    return out


def build_brief(docs: Sequence["Any"], *, scheme: "Any" = None, title: str | None = None, model: str | None = None,
                skipped: Sequence[tuple[str, str]] = (), plan_role: str | None = DEFAULT_PLAN_ROLE):
    """The brief as a python-docx ``Document`` (see the module docstring)."""
    import docx
    from docx.enum.section import WD_ORIENT
    from docx.shared import Cm

    docs = list(docs)
    lab = _labels(docs, scheme, plan_role)
    reps = [summarize(d, scheme, plan_role=plan_role, _labels_cache=lab) for d in docs]
    labels = unique_labels(reps)
    tot = totals(reps)
    document = docx.Document()
    _styles(document)
    sec = document.sections[0]
    sec.orientation = WD_ORIENT.LANDSCAPE
    sec.page_width, sec.page_height = Cm(29.7), Cm(21.0)
    for side in ("left_margin", "right_margin"):
        setattr(sec, side, Cm(2.0))
    sec.top_margin = sec.bottom_margin = Cm(1.8)
    document.core_properties.title = title or "法治政府建设报告分析简报"
    document.core_properties.language = "zh-CN"

    document.add_heading(title or "法治政府建设报告分析简报", level=0)
    now = _dt.datetime.now().strftime("%Y年%m月%d日")
    document.add_paragraph(f"生成于 {now}" + (f"；模型 {model}" if model else "")
                           + "。维度与“问题/计划”由模型自动标注，引用原文供核对，仅供参考。")

    # 一、总体情况 ---------------------------------------------------------
    document.add_heading("一、总体情况", level=1)
    document.add_paragraph(
        f"共 {tot['documents']} 份报告，{tot['sentences']} 句（正文 {tot['body']} 句，标题 {tot['headings']} 句），"
        f"问题句 {tot['problems']} 句，计划句 {tot['plans']} 句。{COUNT_DEFINITION}")
    if skipped:
        document.add_paragraph(_x("未能读取、已跳过的文件：" + "；".join(f"{p}（{why}）" for p, why in skipped)))
    if reps:
        dims = list(lab.dimensions)
        header = ["报告", *[reps[0].short(d) for d in dims], "问题句"]
        rows = [[label, *[f"{r.counts[d]}\n{_pct(r.shares[d])}" if r.counts[d] else "—" for d in dims],
                 r.n_problems] for r, label in zip(reps, labels)]
        _table(document, header, rows, size_pt=8, widths_cm=[5.0] + [1.75] * len(dims) + [1.3])
        document.add_paragraph("表中为各维度正文句数及其占该报告正文句的比例，“—”表示未覆盖。维度全称："
                               + "；".join(f"{reps[0].short(d)}＝{reps[0].name(d)}" for d in dims) + "。")

    # 二、各报告情况 -------------------------------------------------------
    document.add_heading("二、各报告情况", level=1)
    for i, (r, label) in enumerate(zip(reps, labels), start=1):
        document.add_heading(_x(f"（{i}）{label}"), level=2)
        meta = metadata_rows(r.metadata) + [("文件", str(r.path or r.doc_id), "")]
        _table(document, ["项目", "内容"], [(k, v) for k, v, _ in meta], size_pt=9, widths_cm=[3.0, 22.0])
        cover = (f"正文 {r.n_body} 句，覆盖 {len(r.covered)}/{len(r.real_dimensions)} 个维度"
                 + (f"，最多为“{r.name(max(r.covered, key=lambda d: r.counts[d]))}”" if r.covered else "")
                 + (f"；未覆盖：{'、'.join(r.name(d) for d in r.missing)}" if r.missing else "；各维度均有涉及")
                 + f"。问题句 {r.n_problems} 句，计划句 {r.n_plans} 句。")
        document.add_paragraph(cover)
        document.add_heading("存在的问题", level=3)
        _grouped(document, r, r.problems, "模型未在本报告中识别出问题句。")
        document.add_heading("下一步计划", level=3)
        _grouped(document, r, r.plans, "模型未在本报告中识别出计划句。")

    # 三、各报告共性问题 ---------------------------------------------------
    document.add_heading("三、各报告共性问题", level=1)
    common = common_problems(reps, labels)
    if len(reps) < 2:
        document.add_paragraph("只有一份报告，无从比较共性问题。")
    elif not common:
        document.add_paragraph("没有一个维度的问题在两份及以上报告中出现。")
    else:
        document.add_paragraph("下表列出在两份及以上报告中都有问题句的维度（按涉及报告数排序）。")
        _table(document, ["维度", "涉及报告数", "问题句数", "涉及的报告"],
               [(c["name"], f"{c['reports']}/{len(reps)}", c["problems"], "；".join(lab for lab, _ in c["examples"]))
                for c in common], size_pt=9, widths_cm=[5.0, 2.5, 2.5, 15.7])
        for c in common:
            document.add_heading(f"{c['name']}（{c['reports']} 份报告，{c['problems']} 句）", level=3)
            for lab_, text in c["examples"]:
                _quote(document, text, lab_)

    # 四、年度趋势 ---------------------------------------------------------
    trends = trend(docs, scheme, reports=reps)
    if trends:
        document.add_heading("四、年度趋势", level=1)
        document.add_paragraph("同一发文单位（按识别出的单位与层级匹配）多个年度的报告：各维度正文句占比，括号内为问题句数。")
        for t in trends:
            document.add_heading(t.title, level=2)
            rows = [[str(y), t.n_body[y], *[f"{_pct(t.share(y, d))}（{t.problems[y][d]}）" for d in t.dimensions]]
                    for y in t.years]
            _table(document, ["年度", "正文句", *[t.short(d) for d in t.dimensions]], rows, size_pt=8,
                   widths_cm=[1.6, 1.6] + [2.3] * len(t.dimensions))
            for ch in t.changes:
                parts = []
                if ch["appeared"]:
                    parts.append("新出现：" + "、".join(t.name(d) for d in ch["appeared"]))
                if ch["disappeared"]:
                    parts.append("不再涉及：" + "、".join(t.name(d) for d in ch["disappeared"]))
                document.add_paragraph(f"{ch['from']}→{ch['to']}年：" + ("；".join(parts) or "覆盖的维度没有变化") + "。")
    return document


def write_docx(docs: Sequence["Any"], path: str | os.PathLike, **kwargs) -> Path:
    """Write the brief (see :func:`build_brief`) atomically."""
    from ..output import atomic_save

    atomic_save(path, build_brief(docs, **kwargs))
    return Path(path)
