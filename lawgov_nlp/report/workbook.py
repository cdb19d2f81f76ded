"""The XLSX coverage report: sheets sentences, summary, comparison, dimensions, problems, least_covered.

Every text cell is stored as text (a sentence starting with ``=`` is never a live formula) and
characters XLSX cannot hold become U+FFFD (see :mod:`lawgov_nlp.output`)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

from .summary import (COUNT_DEFINITION, DEFAULT_PLAN_ROLE, _labels, _unique_ids, least_covered, summarize, totals,
                      unique_labels)
from .trend import trend


# --------------------------------------------------------------------------- XLSX
def _width(v: Any) -> int:
    s = str(v) if v is not None else ""
    return sum(2 if ord(c) > 0x2E80 else 1 for c in s)


def _sheet(wb, name: str, header: list[str], rows: list[list], widths: dict[str, int] | None = None,
           pct_cols: Sequence[str] = (), wrap_cols: Sequence[str] = ()):
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    from ..output import xlsx_text

    ws = wb.create_sheet(name)
    ws.append(header)
    for r in rows:
        ws.append([xlsx_text(v) for v in r])  # text a report holds (sentences, file names) is cell-safe
    fill = PatternFill("solid", fgColor="1F4E79")
    for c in ws[1]:
        c.font = Font(bold=True, color="FFFFFF")
        c.fill = fill
        c.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    ws.freeze_panes = "B2"
    if rows:
        ws.auto_filter.ref = ws.dimensions
    for j, name_ in enumerate(header, start=1):
        letter = get_column_letter(j)
        if widths and name_ in widths:
            w = widths[name_]
        else:
            sample = [_width(name_)] + [_width(r[j - 1]) for r in rows[:500]]
            w = min(50, max(8, max(sample) + 2))
        ws.column_dimensions[letter].width = w
        if name_ in pct_cols:
            for cell in ws[letter][1:]:
                cell.number_format = "0.0%"
        if name_ in wrap_cols:
            for cell in ws[letter][1:]:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
    return ws


def build_workbook(docs: Sequence["Any"], *, scheme: "Any" = None,
                   plan_role: str | None = DEFAULT_PLAN_ROLE, skipped: Sequence[tuple[str, str]] = ()):
    """An openpyxl Workbook with sheets about (counting rule, totals), sentences, summary (with each
    report's metadata), comparison, dimensions, problems, least_covered and, when the reports hold
    several years of one office, trends."""
    from openpyxl import Workbook
    from openpyxl.formatting.rule import ColorScaleRule
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    from ..output import text_cells_as_text, xlsx_text

    docs = list(docs)
    lab = _labels(docs, scheme, plan_role)
    reps = [summarize(d, scheme, plan_role=plan_role, _labels_cache=lab) for d in docs]
    ids = _unique_ids(reps)
    labels = unique_labels(reps)
    dims = list(lab.dimensions)
    wb = Workbook()
    wb.remove(wb.active)

    # about: the counting rule and the totals the CLI and the HTML page print
    tot = totals(reps)
    _sheet(wb, "about", ["item", "value"],
           [["counting rule", COUNT_DEFINITION]] + [[k, v] for k, v in tot.items()],
           widths={"item": 16, "value": 100}, wrap_cols=["value"])

    # sentences
    base_cols = ["doc_id", "path", "index", "section", "is_heading", "text", "dimension", "dimension_name",
                 "dimension_score", "secondary", "role", "role_name", "is_problem", "problem_probability",
                 "start", "end"]
    rows, extra = [], []
    recs_all = []
    for d, key in zip(docs, ids):
        recs = d.to_records()
        for rec in recs:
            rec["doc_id"] = key
            rec["path"] = d.path
            rec["dimension_name"] = lab.names.get(rec["dimension"], rec["dimension"])
            rec["role_name"] = lab.role_names.get(rec["role"], rec["role"])
            for k in rec:
                if k not in base_cols and k not in extra:
                    extra.append(k)
        recs_all.extend(recs)
    cols = base_cols + extra
    rows = [[rec.get(k) for k in cols] for rec in recs_all]
    ws = _sheet(wb, "sentences", cols, rows, widths={"text": 80, "section": 36, "path": 30},
                wrap_cols=["text"])
    ws.freeze_panes = "G2"

    # summary: one row per document
    meta_cols = ["title", "office", "level", "year", "genre", "date"]
    head = ["doc_id", "report", "path", *meta_cols, "sentences", "headings", "body_sentences", "dimensions_covered",
            "dimensions_total", "substantive_share", "problems", "plans", "most_covered", "not_covered",
            "problem_dimensions"]
    rows = []
    for r, key, label in zip(reps, ids, labels):
        top = max(r.real_dimensions, key=lambda d: r.counts[d]) if r.real_dimensions else None
        meta = r.metadata.values() if r.metadata is not None else {}
        meta["genre"] = r.metadata.genre_name if r.metadata is not None else ""
        rows.append([key, label, r.path, *[("" if meta.get(k) is None else meta.get(k)) for k in meta_cols],
                     r.n_sentences, r.n_headings, r.n_body, len(r.covered), len(r.real_dimensions),
                     r.substantive_share, r.n_problems, r.n_plans,
                     r.name(top) if top and r.counts[top] else "",
                     "、".join(r.name(d) for d in r.missing),
                     "、".join(f"{r.name(d)} {len(v)}" for d, v in r.problems.items() if v)])
    _sheet(wb, "summary", head, rows, pct_cols=["substantive_share"], widths={"not_covered": 50, "report": 40,
           "title": 40, "problem_dimensions": 50}, wrap_cols=["not_covered", "problem_dimensions"])

    # comparison: documents x dimensions, three blocks with a two-row header
    ws = wb.create_sheet("comparison")
    blocks = [("sentences", "正文句数"), ("share", "占比"), ("problems", "问题句数")]
    hdr_fill = PatternFill("solid", fgColor="1F4E79")
    sub_fill = PatternFill("solid", fgColor="DDEBF7")
    ws.cell(1, 1, "doc_id")
    ws.merge_cells(start_row=1, start_column=1, end_row=2, end_column=1)
    col = 2
    for m, zh in blocks:
        ws.cell(1, col, f"{m} · {zh}")
        ws.merge_cells(start_row=1, start_column=col, end_row=1, end_column=col + len(dims) - 1)
        for j, d in enumerate(dims):
            ws.cell(2, col + j, lab.names.get(d, d))
        col += len(dims)
    for r, key in zip(reps, ids):
        vals = [xlsx_text(key)] + [r.counts[d] for d in dims] + [r.shares[d] for d in dims] + [len(r.problems[d]) for d in dims]
        ws.append(vals)
    n_rows = 2 + len(reps)
    for c in ws[1]:
        c.font = Font(bold=True, color="FFFFFF")
        c.fill = hdr_fill
        c.alignment = Alignment(horizontal="center", vertical="center")
    for c in ws[2]:
        c.font = Font(bold=True)
        c.fill = sub_fill
        c.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    ws.row_dimensions[2].height = 48
    ws.column_dimensions["A"].width = max([12] + [_width(k) + 2 for k in ids])
    for j in range(2, 2 + 3 * len(dims)):
        ws.column_dimensions[get_column_letter(j)].width = 11
    if reps:
        for b in range(3):
            a = get_column_letter(2 + b * len(dims))
            z = get_column_letter(1 + (b + 1) * len(dims))
            rng = f"{a}3:{z}{n_rows}"
            if b == 1:
                for row in ws[rng]:
                    for cell in row:
                        cell.number_format = "0.0%"
            colour = "F8696B" if b == 2 else "5B9BD5"
            ws.conditional_formatting.add(rng, ColorScaleRule(start_type="num", start_value=0, start_color="FFFFFF",
                                                              end_type="max", end_color=colour))
    ws.freeze_panes = "B3"

    # dimensions: long format with sections
    head = ["doc_id", "dimension", "name", "sentences", "share", "problems", "plans", "headings", "covered", "sections"]
    rows = []
    for r, key in zip(reps, ids):
        for d in r.dimensions:
            rows.append([key, d, r.name(d), r.counts[d], r.shares[d], len(r.problems[d]), len(r.plans[d]),
                         r.heading_counts[d], ("" if d == r.fallback else ("yes" if r.counts[d] else "NO")),
                         "；".join(f"{s}（{n}）" for s, n in r.sections[d])])
    _sheet(wb, "dimensions", head, rows, pct_cols=["share"], widths={"sections": 80}, wrap_cols=["sections"])

    # problems: the sentences themselves
    head = ["doc_id", "dimension", "name", "index", "section", "text", "problem_probability"]
    rows = [[key, d, r.name(d), s.index, " > ".join(s.section), s.text, round(s.problem_probability, 4)]
            for r, key in zip(reps, ids) for d in r.dimensions for s in r.problems[d]]
    _sheet(wb, "problems", head, rows, widths={"text": 90, "section": 36}, wrap_cols=["text"])

    # least covered
    lc = least_covered(reps)
    head = ["rank"] + list(lc.columns)
    rows = [[int(i)] + [v.item() if hasattr(v, "item") else v for v in row] for i, row in zip(lc.index, lc.values.tolist())]
    _sheet(wb, "least_covered", head, rows, pct_cols=["coverage_rate", "mean_share", "min_share"])

    # trends: one office over several years, long format
    trends = trend(docs, scheme, reports=reps)
    if trends:
        import pandas as pd

        tf = pd.concat([t.to_frame() for t in trends], ignore_index=True)
        _sheet(wb, "trends", list(tf.columns),
               [[v.item() if hasattr(v, "item") else v for v in row] for row in tf.values.tolist()],
               pct_cols=["share"])
    if skipped:
        _sheet(wb, "skipped", ["path", "reason"], [[p, why] for p, why in skipped])
    text_cells_as_text(wb)  # a sentence "=HYPERLINK(...)" is text, never a live formula
    return wb


def write_xlsx(docs: Sequence["Any"], path: str | os.PathLike, **kwargs) -> Path:
    """Write the workbook (see :func:`build_workbook`) atomically."""
    from ..output import atomic_save

    atomic_save(path, build_workbook(docs, **kwargs))
    return Path(path)
