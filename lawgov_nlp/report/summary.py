"""Coverage and problem summaries of tagged reports: per document, compared across documents.

How sentences are counted
-------------------------
* **Headings** (``is_heading``: ``一、…``, ``（一）…`` …) structure the text; they are not
  reported work, so coverage, problem and plan counts are over *body* sentences only.
  Headings give the sections in which a dimension appears, and how the model tagged
  them is kept apart (``heading_counts``). ``counts`` therefore add up to
  ``n_body = n_sentences - n_headings``.
* **The fallback dimension** of the scheme (``other``: boilerplate, dates, page
  chrome) is counted like any dimension, so the counts add up, but it is never
  "not covered", it is left out of the least-covered ranking, and charts draw it
  last, in grey. ``substantive_share`` is the share of body sentences in a real
  dimension.
* A problem is a body sentence with ``is_problem``; a plan is one whose role is the
  plan role (``plan`` in the shipped scheme). Both are listed per dimension with
  the sentences themselves.

Dimension codes, names and order come from the label scheme (the tagger's, or the
shipped one); nothing here hard-codes the label list.

Reports are named by their metadata (:func:`report_label`: title, office, year), the file
name staying the ``doc_id``. :data:`COUNT_DEFINITION` states the counting rule once; the CLI,
the HTML page, the workbook and the DOCX brief all print it and count with :func:`totals`.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

from ..scheme import LabelScheme, load_scheme

# Documents here are ``lawgov_nlp.records.TaggedDocument`` objects (or anything with the same
# attributes); this module does not import that one, because it imports this one.

NO_SECTION = "（无标题）"
DEFAULT_PLAN_ROLE = "plan"

#: The one counting rule, printed by the CLI, the HTML page, the workbook and the brief.
COUNT_DEFINITION = ("统计口径：覆盖、问题句、计划句只计正文句，标题（“一、……”“（一）……”等）不计；"
                    "问题句＝模型标为“存在问题”的正文句；计划句＝作用为“下一步计划”的正文句（问题句除外）。")
COUNT_DEFINITION_EN = ("problem sentences are body sentences tagged as problems; headings are never counted "
                       "as problems, plans or coverage")

# --------------------------------------------------------------------------- the scheme behind a document


@dataclass(frozen=True)
class _Labels:
    dimensions: tuple[str, ...]
    names: dict
    fallback: str | None
    roles: tuple[str, ...]
    role_names: dict
    problem_role: str | None
    plan_role: str | None
    short: dict = field(default_factory=dict)


def _short_names(sc: LabelScheme, names: dict[str, str]) -> dict[str, str]:
    """Short display names: the scheme's ``short``, else the shipped scheme's for the same code and
    name (a model's copy of an older scheme file has none), else the name's first four characters."""
    own = {x.code: x for x in sc.dimensions}
    try:
        shipped = {x.code: x for x in load_scheme().dimensions}
    except Exception:  # noqa: BLE001 - short names are a nicety; never fail a report for them
        shipped = {}
    out = {}
    for code, name in names.items():
        lab = own.get(code) if own.get(code) is not None and own[code].name == name else None
        alt = shipped.get(code) if shipped.get(code) is not None and shipped[code].name == name else None
        out[code] = (lab.short if lab is not None and lab.short else
                     alt.short if alt is not None and alt.short else name[:4])
    return out


def _labels(docs: Sequence["Any"], scheme: LabelScheme | None, plan_role: str | None) -> _Labels:
    """Dimension order and names: the documents' (the tagger's scheme), completed by ``scheme``."""
    sc = scheme if scheme is not None else load_scheme()
    dims: list[str] = []
    names: dict[str, str] = {}
    for d in docs:
        for code, name in (getattr(d, "dimension_names", None) or {}).items():
            if code not in names:
                dims.append(code)
                names[code] = name
    if not dims:
        dims = list(sc.dimension_codes)
        names = {x.code: x.name for x in sc.dimensions}
    for d in docs:  # a dimension only seen in the data still gets a row
        for s in d.sentences:
            if s.dimension not in names:
                dims.append(s.dimension)
                names[s.dimension] = s.dimension
    fallback = sc.fallback_dimension if sc.fallback_dimension in names else None
    if fallback:  # the fallback goes last
        dims = [x for x in dims if x != fallback] + [fallback]
    roles = list(sc.role_codes)
    role_names = {r.code: r.name for r in sc.roles}
    for d in docs:
        for s in d.sentences:
            if s.role not in role_names:
                roles.append(s.role)
                role_names[s.role] = s.role
    return _Labels(tuple(dims), names, fallback, tuple(roles), role_names,
                   sc.problem_role if sc.problem_role in role_names else None,
                   plan_role if plan_role in role_names else None, _short_names(sc, names))


def _section_label(section: Sequence[str], depth: int) -> str:
    return " > ".join(section[:depth]) if section else NO_SECTION


# --------------------------------------------------------------------------- one document
@dataclass
class CoverageReport:
    """What one tagged report covers, and which problems it admits, per dimension.

    All per-dimension mappings have every dimension of the scheme as a key, in
    scheme order (the fallback dimension last). Counts are over body sentences
    (headings excluded; see the module docstring).
    """

    doc_id: str
    path: str | None
    dimensions: list[str]
    dimension_names: dict[str, str]
    fallback: str | None
    n_sentences: int
    n_headings: int
    counts: dict[str, int]
    shares: dict[str, float]
    problems: dict[str, list]            # dimension -> problem sentences (TaggedSentence)
    plans: dict[str, list]               # dimension -> plan sentences
    role_counts: dict[str, dict[str, int]]
    sections: dict[str, list[tuple[str, int]]]  # dimension -> [(section, body sentences)] in text order
    heading_counts: dict[str, int]
    missing: list[str]                   # real dimensions with no body sentence
    role_names: dict[str, str] = field(default_factory=dict)
    problem_role: str | None = None
    plan_role: str | None = None
    metadata: Any = None                 # DocumentMetadata (title, office, level, year, genre, date)
    short_names: dict[str, str] = field(default_factory=dict)

    # -- derived ---------------------------------------------------------
    @property
    def label(self) -> str:
        """How the report is named for people: see :func:`report_label`."""
        return report_label(self.metadata, self.doc_id)

    def short(self, code: str) -> str:
        return self.short_names.get(code) or self.name(code)[:4]

    @property
    def n_body(self) -> int:
        return self.n_sentences - self.n_headings

    @property
    def real_dimensions(self) -> list[str]:
        """The dimensions that can be covered (all but the fallback)."""
        return [d for d in self.dimensions if d != self.fallback]

    @property
    def covered(self) -> list[str]:
        return [d for d in self.real_dimensions if self.counts[d] > 0]

    @property
    def problem_counts(self) -> dict[str, int]:
        return {d: len(v) for d, v in self.problems.items()}

    @property
    def plan_counts(self) -> dict[str, int]:
        return {d: len(v) for d, v in self.plans.items()}

    @property
    def n_problems(self) -> int:
        return sum(self.problem_counts.values())

    @property
    def n_plans(self) -> int:
        return sum(self.plan_counts.values())

    @property
    def substantive_share(self) -> float:
        other = self.counts.get(self.fallback, 0) if self.fallback else 0
        return (self.n_body - other) / self.n_body if self.n_body else 0.0

    def name(self, code: str) -> str:
        return self.dimension_names.get(code, code)

    # -- views -----------------------------------------------------------
    def to_frame(self):
        """One row per dimension: name, sentences, share, problems, plans, headings, covered, sections."""
        import pandas as pd

        rows = [{
            "dimension": d, "name": self.name(d), "sentences": self.counts[d], "share": self.shares[d],
            "problems": len(self.problems[d]), "plans": len(self.plans[d]), "headings": self.heading_counts[d],
            "covered": (self.counts[d] > 0) if d != self.fallback else None,
            "sections": "；".join(f"{s}（{n}）" for s, n in self.sections[d]),
        } for d in self.dimensions]
        return pd.DataFrame(rows).set_index("dimension")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: problem and plan sentences as their text, index and section."""
        def sents(v):
            return [{"index": s.index, "text": s.text, "section": list(s.section),
                     "problem_probability": round(s.problem_probability, 4)} for s in v]

        return {
            "doc_id": self.doc_id, "path": self.path, "label": self.label,
            "metadata": self.metadata.to_dict() if self.metadata is not None else None,
            "n_sentences": self.n_sentences,
            "n_headings": self.n_headings, "n_body": self.n_body, "dimensions": self.dimensions,
            "dimension_names": self.dimension_names, "fallback": self.fallback,
            "counts": self.counts, "shares": self.shares,
            "problems": {d: sents(v) for d, v in self.problems.items()},
            "plans": {d: sents(v) for d, v in self.plans.items()},
            "role_counts": self.role_counts,
            "sections": {d: [list(x) for x in v] for d, v in self.sections.items()},
            "heading_counts": self.heading_counts, "missing": self.missing, "covered": self.covered,
        }

    def coverage_numbers(self) -> dict[str, Any]:
        """The numbers only (no sentences): one flat JSON-ready record per document, for a summary
        file beside the rows of a large run."""
        return {
            "doc_id": self.doc_id, "path": self.path, "n_sentences": self.n_sentences,
            "n_headings": self.n_headings, "n_body": self.n_body, "n_covered": len(self.covered),
            "n_dimensions": len(self.real_dimensions), "substantive_share": round(self.substantive_share, 4),
            "n_problems": self.n_problems, "n_plans": self.n_plans, "missing": self.missing,
            "counts": self.counts, "shares": {d: round(v, 4) for d, v in self.shares.items()},
            "problem_counts": self.problem_counts, "plan_counts": self.plan_counts,
        }

    def format(self) -> str:
        """A short plain-text answer: coverage per dimension, what is missing, the problems."""
        head = self.doc_id if self.label == self.doc_id else f"{self.label} [{self.doc_id}]"
        lines = [f"{head}: {self.n_body} body sentences ({self.n_headings} headings not counted), "
                 f"{len(self.covered)}/{len(self.real_dimensions)} dimensions covered, "
                 f"{self.n_problems} problem(s), {self.n_plans} plan(s)"]
        for d in self.dimensions:
            p = len(self.problems[d])
            lines.append(f"  {self.name(d):<12}\t{self.counts[d]:>4}  {self.shares[d]:6.1%}"
                         + (f"  problems {p}" if p else "") + ("  NOT COVERED" if d in self.missing else ""))
        if self.missing:
            lines.append("not covered: " + "、".join(self.name(d) for d in self.missing))
        if self.metadata is not None and self.metadata.format():
            lines.append("metadata: " + self.metadata.format())
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.format()


def summarize(doc: "Any", scheme: LabelScheme | None = None, *, plan_role: str | None = DEFAULT_PLAN_ROLE,
              section_depth: int = 2, _labels_cache: _Labels | None = None) -> CoverageReport:
    """The :class:`CoverageReport` of one tagged document (``TaggedDocument.summary()`` calls this).

    ``section_depth``: how many heading levels name a section (2: ``一、… > （一）…``).
    """
    lab = _labels_cache or _labels([doc], scheme, plan_role)
    dims = list(lab.dimensions)
    body = [s for s in doc.sentences if not s.is_heading]
    heads = [s for s in doc.sentences if s.is_heading]
    counts = {d: 0 for d in dims}
    problems: dict[str, list] = {d: [] for d in dims}
    plans: dict[str, list] = {d: [] for d in dims}
    roles = {d: {r: 0 for r in lab.roles} for d in dims}
    sec: dict[str, Counter] = {d: Counter() for d in dims}
    for s in body:
        counts[s.dimension] += 1
        roles[s.dimension][s.role] = roles[s.dimension].get(s.role, 0) + 1
        if s.is_problem:
            problems[s.dimension].append(s)
        if lab.plan_role and s.role == lab.plan_role and not s.is_problem:
            plans[s.dimension].append(s)
        sec[s.dimension][_section_label(s.section, section_depth)] += 1  # Counter keeps first-seen order
    n_body = len(body)
    hc = Counter(s.dimension for s in heads)
    return CoverageReport(
        doc_id=doc.doc_id, path=doc.path, dimensions=dims, dimension_names=dict(lab.names), fallback=lab.fallback,
        n_sentences=len(doc.sentences), n_headings=len(heads), counts=counts,
        shares={d: (counts[d] / n_body if n_body else 0.0) for d in dims},
        problems=problems, plans=plans, role_counts=roles,
        sections={d: list(sec[d].items()) for d in dims},
        heading_counts={d: hc.get(d, 0) for d in dims},
        missing=[d for d in dims if d != lab.fallback and counts[d] == 0],
        role_names=dict(lab.role_names), problem_role=lab.problem_role, plan_role=lab.plan_role,
        metadata=_metadata_of(doc), short_names=dict(lab.short),
    )


def _metadata_of(doc: "Any"):
    from ..text.metadata import DocumentMetadata

    meta = getattr(doc, "metadata", None)
    return meta if isinstance(meta, DocumentMetadata) else DocumentMetadata()


def report_label(meta: "Any", doc_id: str) -> str:
    """A report's name for people: its title (with the office in front when the title does not name
    it), else office · year · genre from what was found, else the file name (``doc_id``)."""
    if meta is None:
        return doc_id
    title, office, year = meta.value("title"), meta.value("office"), meta.value("year")
    if title:
        if office and str(office) not in str(title) and meta.office_key not in str(title):
            return f"{office}：{title}"
        return str(title)
    parts = [str(office)] if office else []
    if year:
        parts.append(f"{year}年度")
    if meta.value("genre"):
        parts.append(meta.genre_name)
    if office:
        return " ".join(parts)
    return f"{' '.join(parts)}（{doc_id}）" if parts else doc_id


def unique_labels(reps: Sequence[CoverageReport]) -> list[str]:
    """:func:`report_label` of each report, the file name added where two reports would share one."""
    labels = [r.label for r in reps]
    seen = Counter(labels)
    return [lab if seen[lab] == 1 or lab == r.doc_id else f"{lab}（{r.doc_id}）" for lab, r in zip(labels, reps)]


def totals(reps: Sequence[CoverageReport]) -> dict[str, int]:
    """Counts over a set of reports, by :data:`COUNT_DEFINITION`: documents, sentences, headings,
    body sentences, problem and plan sentences."""
    return {"documents": len(reps), "sentences": sum(r.n_sentences for r in reps),
            "headings": sum(r.n_headings for r in reps), "body": sum(r.n_body for r in reps),
            "problems": sum(r.n_problems for r in reps), "plans": sum(r.n_plans for r in reps)}


# --------------------------------------------------------------------------- many documents
def summaries(docs: Iterable, scheme: LabelScheme | None = None, *,
              plan_role: str | None = DEFAULT_PLAN_ROLE) -> list[CoverageReport]:
    """Coverage reports for documents (TaggedDocument or CoverageReport), on one shared dimension list."""
    docs = list(docs)
    tagged = [d for d in docs if not isinstance(d, CoverageReport)]
    lab = _labels(tagged, scheme, plan_role) if tagged else None
    return [d if isinstance(d, CoverageReport) else summarize(d, scheme, plan_role=plan_role, _labels_cache=lab)
            for d in docs]


def _unique_ids(reps: Sequence[CoverageReport]) -> list[str]:
    seen: Counter = Counter()
    out = []
    for r in reps:
        seen[r.doc_id] += 1
        out.append(r.doc_id if seen[r.doc_id] == 1 else f"{r.doc_id}#{seen[r.doc_id]}")
    return out


COMPARE_MEASURES = ("sentences", "share", "problems", "plans")


def compare(docs: Iterable, scheme: LabelScheme | None = None) -> "Any":
    """Documents × dimensions as a DataFrame.

    Index: ``doc_id`` (made unique with ``#2`` … when two files share a name).
    Columns: a MultiIndex ``(measure, dimension)`` with measures ``sentences``
    (body sentences), ``share`` (of the document's body sentences), ``problems`` and
    ``plans``; ``df["share"]`` is the coverage heat-map, ``df["problems"]`` the
    problem counts.
    """
    import pandas as pd

    reps = summaries(docs, scheme)
    dims = reps[0].dimensions if reps else list(_labels([], scheme, None).dimensions)
    data = {}
    for m in COMPARE_MEASURES:
        for d in dims:
            col = []
            for r in reps:
                if m == "sentences":
                    col.append(r.counts.get(d, 0))
                elif m == "share":
                    col.append(r.shares.get(d, 0.0))
                elif m == "problems":
                    col.append(len(r.problems.get(d, [])))
                else:
                    col.append(len(r.plans.get(d, [])))
            data[(m, d)] = col
    df = pd.DataFrame(data, index=pd.Index(_unique_ids(reps), name="doc_id"))
    df.columns = pd.MultiIndex.from_tuples(list(data), names=["measure", "dimension"])
    return df


def least_covered(docs: Iterable, scheme: LabelScheme | None = None):
    """Real dimensions (fallback excluded) ranked from least to most covered across the documents.

    What it ranks: first ``coverage_rate``, the share of the reports that cover the dimension at
    all (at least one body sentence), then ``mean_share``, the mean over the reports of the
    dimension's share of their body sentences; both ascending, so rank 1 is the dimension the
    fewest reports mention. Columns: ``dimension``, ``name``, ``short``, ``documents`` (covering
    it), ``coverage_rate``, ``missing_in`` (reports without a single sentence), ``sentences``
    (total), ``mean_share``, ``min_share``, ``problems`` (total); index is the rank from 1.
    """
    import pandas as pd

    reps = summaries(docs, scheme)
    if not reps:
        return pd.DataFrame(columns=["dimension", "name", "short", "documents", "coverage_rate", "missing_in",
                                     "sentences", "mean_share", "min_share", "problems"])
    r0 = reps[0]
    rows = []
    for d in r0.real_dimensions:
        shares = [r.shares.get(d, 0.0) for r in reps]
        covering = sum(r.counts.get(d, 0) > 0 for r in reps)
        rows.append({
            "dimension": d, "name": r0.name(d), "short": r0.short(d),
            "documents": covering, "coverage_rate": covering / len(reps),
            "missing_in": sum(r.counts.get(d, 0) == 0 for r in reps),
            "sentences": sum(r.counts.get(d, 0) for r in reps),
            "mean_share": sum(shares) / len(shares), "min_share": min(shares),
            "problems": sum(len(r.problems.get(d, [])) for r in reps),
        })
    df = pd.DataFrame(rows).sort_values(["coverage_rate", "mean_share", "sentences"], kind="stable").reset_index(drop=True)
    df.index = pd.RangeIndex(1, len(df) + 1, name="rank")
    return df
