"""From tags to answers: coverage and problem reports per document and across a folder.

    import lawgov_nlp as lg
    docs = lg.load().tag_files(paths)
    rep = docs[0].summary()                  # CoverageReport: counts, shares, problems, plans, missing, sections
    compare(docs)                            # DataFrame: documents x (measure, dimension)
    least_covered(docs)                      # dimensions ranked from least to most covered across the set
    write_html(docs, "report.html")          # one self-contained page (no network needed)
    write_xlsx(docs, "report.xlsx")          # sentences, summary, comparison … sheets
    write_docx(docs, "brief.docx")           # the Word brief: summary table, per report, 共性问题, trends
    trend(docs)                              # [Trend]: one office over several years

``summary`` counts (see its docstring for the definitions), ``html`` and ``xlsx`` write.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

from ..errors import UsageError
from .page import dimension_colours, render_html, write_html
from .brief import build_brief, write_docx
from .summary import (COMPARE_MEASURES, COUNT_DEFINITION, COUNT_DEFINITION_EN, DEFAULT_PLAN_ROLE, NO_SECTION, CoverageReport, compare,
                      least_covered, report_label, summaries, summarize, totals, unique_labels)
from .trend import Trend, trend
from .workbook import build_workbook, write_xlsx

REPORT_SUFFIXES = {".html": "html", ".htm": "html", ".xlsx": "xlsx", ".docx": "docx"}


def write_report(docs: Sequence["TaggedDocument"], path: str | os.PathLike, **kwargs) -> Path:
    """HTML, XLSX or the DOCX brief by the file extension."""
    kind = REPORT_SUFFIXES.get(Path(path).suffix.lower())
    if kind == "html":
        return write_html(docs, path, **kwargs)
    if kind == "docx":
        return write_docx(docs, path, **kwargs)
    if kind == "xlsx":
        kwargs.pop("title", None)
        kwargs.pop("model", None)
        return write_xlsx(docs, path, **kwargs)
    raise UsageError(f"cannot tell the report format from {Path(path).name!r}; use .html, .xlsx or .docx")


__all__ = [
    "CoverageReport", "summarize", "summaries", "compare", "least_covered", "COMPARE_MEASURES", "COUNT_DEFINITION",
    "COUNT_DEFINITION_EN",
    "report_label", "unique_labels", "totals", "Trend", "trend", "build_brief", "write_docx",
    "DEFAULT_PLAN_ROLE", "NO_SECTION", "dimension_colours", "render_html", "write_html", "build_workbook",
    "write_xlsx", "write_report", "REPORT_SUFFIXES",
]
