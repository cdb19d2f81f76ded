"""Trends across years: the reports of one office over several years, dimension by dimension.

Reports are matched by their extracted office and level (:attr:`DocumentMetadata.office_key`:
simplified script, 人民政府 dropped, so 青禾县人民政府 and 青禾县 are one office) and need an
extracted year; a report without an office or a year is in no trend, because neither is ever
guessed. An office with reports for at least two different years gets a :class:`Trend`. Several
reports of one office and year (an annual report and a rectification list) are pooled: their
body sentences and problems are added up, and the year lists them all.

Counts follow :data:`~lawgov_nlp.report.summary.COUNT_DEFINITION` (body sentences only).
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Iterable

from .summary import CoverageReport, summaries


@dataclass
class Trend:
    """Coverage and problems per dimension per year for one office."""

    office: str                          # as the first report writes it
    office_key: str
    level: str
    years: list[int]
    reports: dict[int, list[str]]        # year -> doc_ids
    dimensions: list[str]                # real dimensions (the fallback is left out)
    dimension_names: dict[str, str]
    short_names: dict[str, str]
    n_body: dict[int, int]
    counts: dict[int, dict[str, int]]    # year -> dimension -> body sentences
    problems: dict[int, dict[str, int]]  # year -> dimension -> problem sentences
    changes: list[dict] = field(default_factory=list)  # one per pair of consecutive years

    def share(self, year: int, dim: str) -> float:
        n = self.n_body[year]
        return self.counts[year][dim] / n if n else 0.0

    def covered(self, year: int) -> list[str]:
        return [d for d in self.dimensions if self.counts[year][d] > 0]

    def name(self, code: str) -> str:
        return self.dimension_names.get(code, code)

    def short(self, code: str) -> str:
        return self.short_names.get(code) or self.name(code)[:4]

    @property
    def title(self) -> str:
        return f"{self.office}（{self.level}，{self.years[0]}—{self.years[-1]}年）"

    def to_frame(self):
        """Long format: one row per year and dimension (sentences, share, problems, status)."""
        import pandas as pd

        status = {}
        for ch in self.changes:
            for d in ch["appeared"]:
                status[(ch["to"], d)] = "新出现"
            for d in ch["disappeared"]:
                status[(ch["to"], d)] = "消失"
        rows = [{"office": self.office, "level": self.level, "year": y, "reports": len(self.reports[y]),
                 "dimension": d, "name": self.name(d), "sentences": self.counts[y][d], "share": self.share(y, d),
                 "problems": self.problems[y][d], "status": status.get((y, d), "")}
                for y in self.years for d in self.dimensions]
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        return {"office": self.office, "office_key": self.office_key, "level": self.level, "years": self.years,
                "reports": {str(y): v for y, v in self.reports.items()}, "dimensions": self.dimensions,
                "n_body": {str(y): v for y, v in self.n_body.items()},
                "counts": {str(y): v for y, v in self.counts.items()},
                "problems": {str(y): v for y, v in self.problems.items()}, "changes": self.changes}


def trend(docs: Iterable, scheme: Any = None, *, reports: list[CoverageReport] | None = None) -> list[Trend]:
    """The :class:`Trend` of every office with reports for two or more years, in first-seen order.

    ``docs``: TaggedDocuments or CoverageReports (``reports`` may pass summaries already made).
    """
    reps = reports if reports is not None else summaries(docs, scheme)
    groups: dict[tuple[str, str], list[CoverageReport]] = {}
    for r in reps:
        m = r.metadata
        if m is None or not m.office_key or m.value("year") is None:
            continue
        groups.setdefault((m.office_key, str(m.value("level") or "")), []).append(r)
    out = []
    for (key, level), rs in groups.items():
        years = sorted({int(r.metadata.value("year")) for r in rs})
        if len(years) < 2:
            continue
        r0 = rs[0]
        dims = r0.real_dimensions
        by_year: dict[int, list[CoverageReport]] = defaultdict(list)
        for r in rs:
            by_year[int(r.metadata.value("year"))].append(r)
        counts = {y: {d: sum(r.counts.get(d, 0) for r in by_year[y]) for d in dims} for y in years}
        problems = {y: {d: sum(len(r.problems.get(d, [])) for r in by_year[y]) for d in dims} for y in years}
        t = Trend(office=str(r0.metadata.value("office")), office_key=key, level=level, years=years,
                  reports={y: [r.doc_id for r in by_year[y]] for y in years}, dimensions=list(dims),
                  dimension_names=dict(r0.dimension_names), short_names=dict(r0.short_names),
                  n_body={y: sum(r.n_body for r in by_year[y]) for y in years}, counts=counts, problems=problems)
        for a, b in zip(years, years[1:]):
            before, after = set(t.covered(a)), set(t.covered(b))
            t.changes.append({"from": a, "to": b, "appeared": [d for d in dims if d in after - before],
                              "disappeared": [d for d in dims if d in before - after]})
        out.append(t)
    return out
