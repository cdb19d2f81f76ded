"""From tags to answers: coverage and problem reports per document and across a folder.

    import lawgov_nlp as lg
    docs = lg.load().tag_files(paths)
    rep = docs[0].summary()                  # CoverageReport: counts, shares, problems, plans, missing, sections
    compare(docs)                            # DataFrame: documents x (measure, dimension)
    least_covered(docs)                      # dimensions ranked from least to most covered across the set
    write_html(docs, "report.html")          # one self-contained page (no network needed)
    write_xlsx(docs, "report.xlsx")          # sentences, summary, comparison … sheets

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
"""
from __future__ import annotations

import datetime as _dt
import html
import io
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Sequence

if TYPE_CHECKING:  # pragma: no cover
    from .scheme import LabelScheme
    from .tagger import TaggedDocument, TaggedSentence

NO_SECTION = "（无标题）"
DEFAULT_PLAN_ROLE = "plan"

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


def _labels(docs: Sequence["TaggedDocument"], scheme: "LabelScheme | None", plan_role: str | None) -> _Labels:
    """Dimension order and names: the documents' (the tagger's scheme), completed by ``scheme``."""
    from .scheme import load_scheme

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
                   plan_role if plan_role in role_names else None)


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

    # -- derived ---------------------------------------------------------
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
            "doc_id": self.doc_id, "path": self.path, "n_sentences": self.n_sentences,
            "n_headings": self.n_headings, "n_body": self.n_body, "dimensions": self.dimensions,
            "dimension_names": self.dimension_names, "fallback": self.fallback,
            "counts": self.counts, "shares": self.shares,
            "problems": {d: sents(v) for d, v in self.problems.items()},
            "plans": {d: sents(v) for d, v in self.plans.items()},
            "role_counts": self.role_counts,
            "sections": {d: [list(x) for x in v] for d, v in self.sections.items()},
            "heading_counts": self.heading_counts, "missing": self.missing, "covered": self.covered,
        }

    def format(self) -> str:
        """A short plain-text answer: coverage per dimension, what is missing, the problems."""
        lines = [f"{self.doc_id}: {self.n_body} body sentences ({self.n_headings} headings not counted), "
                 f"{len(self.covered)}/{len(self.real_dimensions)} dimensions covered, "
                 f"{self.n_problems} problem(s), {self.n_plans} plan(s)"]
        for d in self.dimensions:
            p = len(self.problems[d])
            lines.append(f"  {self.name(d):<12}\t{self.counts[d]:>4}  {self.shares[d]:6.1%}"
                         + (f"  problems {p}" if p else "") + ("  NOT COVERED" if d in self.missing else ""))
        if self.missing:
            lines.append("not covered: " + "、".join(self.name(d) for d in self.missing))
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.format()


def summarize(doc: "TaggedDocument", scheme: "LabelScheme | None" = None, *, plan_role: str | None = DEFAULT_PLAN_ROLE,
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
    )


# --------------------------------------------------------------------------- many documents
def summaries(docs: Iterable, scheme: "LabelScheme | None" = None, *,
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


def compare(docs: Iterable, scheme: "LabelScheme | None" = None) -> "Any":
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


def least_covered(docs: Iterable, scheme: "LabelScheme | None" = None):
    """Real dimensions (fallback excluded) ranked from least to most covered across the documents.

    Columns: ``dimension``, ``name``, ``documents`` (covering it), ``missing_in`` (documents
    without a single sentence), ``sentences`` (total), ``mean_share``, ``min_share``,
    ``problems`` (total). Order: mean share, then documents covering, ascending; index is
    the rank from 1.
    """
    import pandas as pd

    reps = summaries(docs, scheme)
    if not reps:
        return pd.DataFrame(columns=["dimension", "name", "documents", "missing_in", "sentences", "mean_share",
                                     "min_share", "problems"])
    r0 = reps[0]
    rows = []
    for d in r0.real_dimensions:
        shares = [r.shares.get(d, 0.0) for r in reps]
        rows.append({
            "dimension": d, "name": r0.name(d),
            "documents": sum(r.counts.get(d, 0) > 0 for r in reps),
            "missing_in": sum(r.counts.get(d, 0) == 0 for r in reps),
            "sentences": sum(r.counts.get(d, 0) for r in reps),
            "mean_share": sum(shares) / len(shares), "min_share": min(shares),
            "problems": sum(len(r.problems.get(d, [])) for r in reps),
        })
    df = pd.DataFrame(rows).sort_values(["mean_share", "documents", "sentences"], kind="stable").reset_index(drop=True)
    df.index = pd.RangeIndex(1, len(df) + 1, name="rank")
    return df


# --------------------------------------------------------------------------- colours
# Categorical colours by position in the scheme (no red: red marks problems); the fallback is grey.
_PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#d4a017", "#76b7b2", "#ff9da7", "#9c755f",
            "#3b8686", "#8cd17d", "#a0cbe8", "#d4a6c8", "#86bcb6", "#f1ce63", "#79706e", "#ffbe7d"]
_FALLBACK_COLOUR = "#a5a5a5"
_PROBLEM = "#d62728"


def dimension_colours(dimensions: Sequence[str], fallback: str | None) -> dict[str, str]:
    out, k = {}, 0
    for d in dimensions:
        if d == fallback:
            out[d] = _FALLBACK_COLOUR
        else:
            out[d] = _PALETTE[k % len(_PALETTE)]
            k += 1
    return out


# --------------------------------------------------------------------------- HTML
_CSS = """
:root{--fg:#1f2328;--muted:#5b6470;--line:#d8dee4;--bg:#f6f8fa;--prob:%(prob)s}
*{box-sizing:border-box}
body{margin:0;color:var(--fg);background:#fff;font:15px/1.65 "Noto Sans CJK SC","Source Han Sans SC","Source Han Sans CN",
 "Microsoft YaHei","PingFang SC","Hiragino Sans GB","WenQuanYi Micro Hei","Noto Sans SC",sans-serif}
header{padding:18px 28px 10px;border-bottom:1px solid var(--line);background:var(--bg)}
h1{font-size:24px;margin:0 0 4px} h2{font-size:20px;margin:26px 0 8px} h3{font-size:16px;margin:16px 0 6px}
main{padding:6px 28px 40px;max-width:1500px}
.meta{color:var(--muted);font-size:13px}
.warn{color:#8a4b00;background:#fff4e0;border:1px solid #f0c36d;padding:6px 10px;border-radius:6px;margin:8px 0;font-size:13px}
.note{color:var(--muted);font-size:13px;margin:4px 0}
table{border-collapse:collapse;font-size:13px}
th,td{border:1px solid var(--line);padding:4px 7px;text-align:center}
th{background:var(--bg);font-weight:600}
td.doc,th.doc{text-align:left;white-space:nowrap}
th.vert{writing-mode:vertical-rl;text-orientation:upright;letter-spacing:1px;padding:6px 3px;min-width:34px;vertical-align:bottom}
th.vert .sw{display:inline-block;width:10px;height:10px;border-radius:2px;margin-bottom:4px}
td.miss{background:#fde4e4;color:#b42318}
td .pb{color:var(--prob);background:#fff;border-radius:7px;padding:0 3px;font-weight:700;font-size:11px;margin-left:3px}
.findings{margin:6px 0 10px;padding-left:20px} .findings li{margin:3px 0}
.badge{display:inline-block;border-radius:10px;padding:0 8px;margin:1px 3px 1px 0;font-size:12px;border:1px solid}
.badge.miss{color:#b42318;border-color:#f5b5b5;background:#fff1f1}
.pill{display:inline-block;border-radius:10px;padding:0 7px;font-size:12px;color:#fff;background:var(--prob)}
.grid{display:grid;grid-template-columns:minmax(520px,640px) 1fr;gap:22px;align-items:start}
.toolbar{position:sticky;top:0;z-index:5;background:#fffffff2;border-bottom:1px solid var(--line);padding:8px 0;margin:10px 0}
.toolbar label{margin-right:10px;white-space:nowrap;font-size:13px;cursor:pointer}
.toolbar .sw{display:inline-block;width:12px;height:12px;border-radius:2px;vertical-align:-1px;margin-right:3px}
.toolbar .row{margin:2px 0}
.toolbar button{font:inherit;font-size:12px;margin-left:4px}
.doc{border-top:3px solid var(--line);margin-top:28px}
.probs{margin:0;padding-left:0;list-style:none;font-size:14px;max-height:520px;overflow:auto}
.probs li{margin:4px 0;padding:3px 8px;border-left:4px solid var(--prob);background:#fff6f6}
.probs .dn{font-size:12px;font-weight:600;margin-right:6px}
.probs a{color:inherit;text-decoration:none}
.text{font-size:15px;line-height:2.0;background:#fcfcfd;border:1px solid var(--line);border-radius:6px;padding:10px 16px}
.text p{margin:4px 0 8px}
.text .h{font-weight:700;margin:12px 0 4px}
.text .h1{font-size:17px} .text .h2{font-size:16px}
.s{padding:1px 1px;border-bottom:3px solid transparent;border-radius:2px;transition:opacity .15s}
.s.prob{outline:2px solid var(--prob);outline-offset:0;background-image:none}
.s.prob::before{content:"⚠";color:var(--prob);font-weight:700;margin-right:1px}
.s.plan{border-bottom-style:dashed}
.s.off{opacity:.18} .s.gone{display:none}
.s:target{box-shadow:0 0 0 3px #ffd33d}
details summary{cursor:pointer;color:var(--muted);font-size:14px;margin:8px 0}
.legend span{margin-right:12px;font-size:13px;white-space:nowrap}
svg text{font-family:inherit}
%(dimcss)s
"""

_JS = r"""
(function(){
  function q(s){return Array.prototype.slice.call(document.querySelectorAll(s));}
  function apply(){
    var dims={}; q('input.fd').forEach(function(e){dims[e.value]=e.checked;});
    var r=document.querySelector('input[name=role]:checked'); var role=r?r.value:'*';
    var onlyProb=document.getElementById('onlyprob').checked;
    var hide=document.getElementById('hideoff').checked;
    var shown=0;
    q('.text .s').forEach(function(e){
      var ok=dims[e.getAttribute('data-d')]!==false && (role==='*'||e.getAttribute('data-r')===role)
             && (!onlyProb||e.getAttribute('data-p')==='1');
      e.classList.toggle('off',!ok); e.classList.toggle('gone',!ok&&hide); if(ok)shown++;
    });
    var c=document.getElementById('shown'); if(c)c.textContent=shown;
  }
  q('.toolbar input').forEach(function(e){e.addEventListener('change',apply);});
  var all=document.getElementById('dimall'), none=document.getElementById('dimnone');
  if(all)all.addEventListener('click',function(){q('input.fd').forEach(function(e){e.checked=true;});apply();});
  if(none)none.addEventListener('click',function(){q('input.fd').forEach(function(e){e.checked=false;});apply();});
  apply();
})();
"""


def _e(x: Any) -> str:
    return html.escape(str(x), quote=True)


def _pct(x: float) -> str:
    return f"{x * 100:.1f}%"


def _hex_rgba(hexc: str, a: float) -> str:
    h = hexc.lstrip("#")
    r, g, b = int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)
    return f"rgba({r},{g},{b},{a:.3f})"


def _coverage_svg(rep: CoverageReport, colours: dict[str, str], scale_max: int) -> str:
    """Horizontal bars: body sentences per dimension, the problem part in red, missing ones flagged."""
    label_w, bar_w, row_h, top = 190, 300, 26, 8
    width = label_w + bar_w + 150
    height = top + row_h * len(rep.dimensions) + 6
    scale = bar_w / max(1, scale_max)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" aria-label="{_e(rep.doc_id)} 各维度覆盖">']
    out.append('<defs><pattern id="hatch" width="5" height="5" patternUnits="userSpaceOnUse" '
               'patternTransform="rotate(45)"><rect width="5" height="5" fill="#f6c7c7"/>'
               f'<line x1="0" y1="0" x2="0" y2="5" stroke="{_PROBLEM}" stroke-width="3"/></pattern></defs>')
    for i, d in enumerate(rep.dimensions):
        y = top + i * row_h
        n, p = rep.counts[d], len(rep.problems[d])
        name = rep.name(d)
        colour = "#9aa0a6" if d == rep.fallback else "#1f2328"
        out.append(f'<text x="{label_w - 8}" y="{y + 16}" text-anchor="end" font-size="13" fill="{colour}">'
                   f'{_e(name)}</text>')
        out.append(f'<rect x="{label_w}" y="{y + 3}" width="{bar_w}" height="{row_h - 8}" fill="#f1f3f5"/>')
        w = n * scale
        if n:
            out.append(f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row_h - 8}" fill="{colours[d]}">'
                       f'<title>{_e(name)}: {n} 句 ({_pct(rep.shares[d])})</title></rect>')
        if p:
            out.append(f'<rect x="{label_w}" y="{y + 3}" width="{p * scale:.1f}" height="{row_h - 8}" '
                       f'fill="url(#hatch)"><title>{_e(name)}: {p} 条问题句</title></rect>')
        tx = label_w + max(w, 0) + 6
        if d in rep.missing:
            out.append(f'<text x="{label_w + 6}" y="{y + 16}" font-size="13" fill="#b42318" font-weight="700">'
                       '未覆盖</text>')
        else:
            label = f"{n} 句 · {_pct(rep.shares[d])}"
            out.append(f'<text x="{tx:.1f}" y="{y + 16}" font-size="12" fill="#444">{_e(label)}</text>')
            if p:
                px = tx + 8 + 7.2 * len(label)
                out.append(f'<text x="{px:.1f}" y="{y + 16}" font-size="12" fill="{_PROBLEM}" font-weight="700">'
                           f'⚠ {p} 问题</text>')
    out.append("</svg>")
    return "".join(out)


def _heat(share: float, vmax: float) -> tuple[str, str]:
    a = 0.0 if vmax <= 0 else min(1.0, share / vmax)
    bg = f"rgba(31,105,180,{0.08 + 0.82 * a:.3f})" if share > 0 else "#ffffff"
    return bg, ("#fff" if a > 0.55 else "#1f2328")


def _comparison_html(reps: list[CoverageReport], colours: dict[str, str], ids: list[str]) -> str:
    r0 = reps[0]
    dims = r0.dimensions
    real_max = max([r.shares[d] for r in reps for d in r.real_dimensions] + [0.0])
    h = ['<table class="heat"><thead><tr><th class="doc">报告</th><th>正文句</th><th>覆盖维度</th><th>问题句</th>']
    for d in dims:
        h.append(f'<th class="vert" title="{_e(d)}"><span class="sw" style="background:{colours[d]}"></span>'
                 f'{_e(r0.name(d))}</th>')
    h.append("</tr></thead><tbody>")
    for r, i in zip(reps, ids):
        h.append(f'<tr><td class="doc"><a href="#doc-{_e(_anchor(i))}">{_e(i)}</a></td><td>{r.n_body}</td>'
                 f'<td>{len(r.covered)}/{len(r.real_dimensions)}</td>'
                 f'<td>{"<span class=pill>" + str(r.n_problems) + "</span>" if r.n_problems else "0"}</td>')
        for d in dims:
            n, s, p = r.counts[d], r.shares[d], len(r.problems[d])
            tip = f"{r.name(d)}：{n} 句（{_pct(s)}）" + (f"，{p} 条问题句" if p else "")
            pb = f'<span class="pb">⚠{p}</span>' if p else ""
            if d in r.missing:
                h.append(f'<td class="miss" title="{_e(tip)}，未覆盖">0{pb}</td>')
            else:
                bg, fg = _heat(s, real_max if d != r.fallback else max(real_max, s))
                if d == r.fallback:
                    bg, fg = "#f1f1f1", "#666"
                h.append(f'<td style="background:{bg};color:{fg}" title="{_e(tip)}">{n}'
                         f'<br><small>{_pct(s)}</small>{pb}</td>')
        h.append("</tr>")
    h.append("</tbody></table>")
    return "".join(h)


def _least_html(df, n_docs: int) -> str:
    h = ['<table><thead><tr><th>#</th><th class="doc">维度</th><th>覆盖的报告</th><th>未覆盖的报告</th>'
         '<th>句子合计</th><th>平均占比</th><th>问题句</th></tr></thead><tbody>']
    for rank, r in df.iterrows():
        miss = f' class="miss"' if r["missing_in"] else ""
        h.append(f'<tr><td>{rank}</td><td class="doc">{_e(r["name"])}</td><td>{int(r["documents"])}/{n_docs}</td>'
                 f'<td{miss}>{int(r["missing_in"])}</td><td>{int(r["sentences"])}</td>'
                 f'<td>{_pct(r["mean_share"])}</td><td>{int(r["problems"])}</td></tr>')
    h.append("</tbody></table>")
    return "".join(h)


def _anchor(doc_key: str) -> str:
    import re

    return re.sub(r"[^0-9A-Za-z_-]+", "_", doc_key) or "doc"


def _findings(reps: list[CoverageReport], ids: list[str]) -> str:
    items = []
    for r, i in zip(reps, ids):
        probs = sorted(((len(v), d) for d, v in r.problems.items() if v), reverse=True)
        top = max(r.real_dimensions, key=lambda d: r.counts[d]) if r.real_dimensions else None
        parts = [f'<a href="#doc-{_e(_anchor(i))}"><b>{_e(i)}</b></a>：覆盖 {len(r.covered)}/{len(r.real_dimensions)} 个维度']
        if top and r.counts[top]:
            parts.append(f"最多为「{_e(r.name(top))}」（{_pct(r.shares[top])}）")
        if r.missing:
            parts.append("未覆盖 " + "".join(f'<span class="badge miss">{_e(r.name(d))}</span>' for d in r.missing))
        if probs:
            parts.append(f'问题句 <span class="pill">{r.n_problems}</span>（'
                         + "、".join(f"{_e(r.name(d))} {n}" for n, d in probs) + "）")
        else:
            parts.append("未陈述问题")
        items.append("<li>" + "；".join(parts) + "</li>")
    return '<ul class="findings">' + "".join(items) + "</ul>"


def _doc_text_html(doc: "TaggedDocument", lab: _Labels, dim_index: dict[str, int], key: str) -> str:
    out = ['<div class="text">']
    para: list[str] = []
    last_section: tuple | None = None

    def flush():
        if para:
            out.append("<p>" + "".join(para) + "</p>")
            para.clear()

    for s in doc.sentences:
        k = dim_index.get(s.dimension, 0)
        tip = (f"{lab.names.get(s.dimension, s.dimension)}（{s.scores.get(s.dimension, 0.0):.2f}）"
               f" · {lab.role_names.get(s.role, s.role)}"
               + (f" · 问题概率 {s.problem_probability:.2f}" if s.is_problem else "")
               + (f" · 次要：{'、'.join(lab.names.get(x, x) for x in s.secondary)}" if s.secondary else "")
               + (f"\n{' > '.join(s.section)}" if s.section else ""))
        cls = f"s d{k}" + (" prob" if s.is_problem else "") + \
              (" plan" if lab.plan_role and s.role == lab.plan_role and not s.is_problem else "")
        span = (f'<span id="{_e(_anchor(key))}-s{s.index}" class="{cls}" data-d="{_e(s.dimension)}" '
                f'data-r="{_e(s.role)}" data-p="{1 if s.is_problem else 0}" title="{_e(tip)}">{_e(s.text)}</span>')
        if s.is_heading:
            flush()
            lvl = min(int(s.heading_level or 3), 3)
            out.append(f'<div class="h h{lvl}">{span}</div>')
            last_section = None
            continue
        if last_section is not None and tuple(s.section) != last_section:
            flush()
        last_section = tuple(s.section)
        para.append(span)
    flush()
    out.append("</div>")
    return "".join(out)


def render_html(docs: Sequence["TaggedDocument"], *, scheme: "LabelScheme | None" = None, title: str | None = None,
                model: str | None = None, skipped: Sequence[tuple[str, str]] = (),
                plan_role: str | None = DEFAULT_PLAN_ROLE) -> str:
    """The report page as a string (see :func:`write_html`)."""
    docs = list(docs)
    lab = _labels(docs, scheme, plan_role)
    reps = [summarize(d, scheme, plan_role=plan_role, _labels_cache=lab) for d in docs]
    ids = _unique_ids(reps)
    dims = list(lab.dimensions)
    colours = dimension_colours(dims, lab.fallback)
    dim_index = {d: i for i, d in enumerate(dims)}
    dimcss = "\n".join(f".d{i}{{background:{_hex_rgba(colours[d], 0.16)};border-bottom-color:{colours[d]}}}"
                       for i, d in enumerate(dims))
    title = title or "法治政府建设报告：维度覆盖与问题分析"
    n_sent = sum(r.n_sentences for r in reps)
    now = _dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    h: list[str] = [
        "<!DOCTYPE html>", '<html lang="zh-CN"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title>", "<style>", _CSS % {"prob": _PROBLEM, "dimcss": dimcss}, "</style></head><body>",
        f"<header><h1>{_e(title)}</h1><div class=\"meta\">{len(reps)} 份报告 · {n_sent} 句"
        f"（正文 {sum(r.n_body for r in reps)}，标题 {sum(r.n_headings for r in reps)}）"
        f" · 问题句 {sum(r.n_problems for r in reps)} · 生成于 {_e(now)}"
        + (f" · 模型 {_e(model)}" if model else "") + "</div>",
        '<div class="note">维度与“问题/计划”由模型自动标注，仅供参考；覆盖统计只计正文句（标题不计），'
        + (f"「{_e(lab.names[lab.fallback])}」（套话、落款等）计入句数但不算作覆盖。" if lab.fallback else "")
        + "</div>",
    ]
    if skipped:
        h.append('<div class="warn"><b>未能读取、已跳过的文件：</b>'
                 + "；".join(f"{_e(p)}（{_e(why)}）" for p, why in skipped) + "</div>")
    h.append("</header><main>")
    if not reps:
        h.append("<p>没有可分析的报告。</p></main></body></html>")
        return "\n".join(h)

    # overview -----------------------------------------------------------
    h.append('<section id="overview"><h2>概览</h2>')
    h.append(_findings(reps, ids))
    h.append("<h3>各报告 × 维度：正文句数与占比（颜色越深占比越高；红底＝未覆盖；⚠＝问题句数）</h3>")
    h.append(_comparison_html(reps, colours, ids))
    h.append("<h3>覆盖最少的维度（按平均占比升序）</h3>")
    h.append(_least_html(least_covered(reps), len(reps)))
    h.append("</section>")

    # toolbar ------------------------------------------------------------
    h.append('<div class="toolbar" id="filters"><div class="row"><b>维度：</b>')
    for i, d in enumerate(dims):
        h.append(f'<label><input type="checkbox" class="fd" value="{_e(d)}" checked>'
                 f'<span class="sw" style="background:{colours[d]}"></span>{_e(lab.names[d])}</label>')
    h.append('<button type="button" id="dimall">全选</button><button type="button" id="dimnone">全不选</button></div>')
    h.append('<div class="row"><b>作用：</b><label><input type="radio" name="role" value="*" checked>全部</label>')
    for r in lab.roles:
        h.append(f'<label><input type="radio" name="role" value="{_e(r)}">{_e(lab.role_names[r])}</label>')
    h.append('<label><input type="checkbox" id="onlyprob"> 只看问题句</label>'
             '<label><input type="checkbox" id="hideoff"> 隐藏不符合的句子</label>'
             '<span class="meta">显示 <b id="shown">–</b> 句 · 图例：底色＝维度；'
             f'<span style="outline:2px solid {_PROBLEM}">⚠ 红框</span>＝问题句；虚下划线＝下一步计划</span></div></div>')

    # documents ----------------------------------------------------------
    scale_max = max([max(r.counts.values()) for r in reps] + [1])
    for doc, r, key in zip(docs, reps, ids):
        a = _anchor(key)
        h.append(f'<section class="doc" id="doc-{_e(a)}"><h2>{_e(key)}</h2>')
        info = [f"{r.n_sentences} 句（正文 {r.n_body}，标题 {r.n_headings}）",
                f"覆盖 {len(r.covered)}/{len(r.real_dimensions)} 个维度",
                f"问题句 {r.n_problems}", f"计划句 {r.n_plans}"]
        if doc.path:
            info.insert(0, str(doc.path))
        h.append(f'<div class="meta">{_e(" · ".join(info))}</div>')
        warn = (doc.info or {}).get("suspicious_spans") if isinstance(doc.info, dict) else None
        if warn:
            h.append(f'<div class="warn">该文件有 {len(warn)} 处疑似乱码，相关句子的标注可能不可靠。</div>')
        h.append('<div class="grid"><div><h3>各维度正文句数（红色斜纹＝问题句）</h3>')
        h.append(_coverage_svg(r, colours, scale_max))
        if r.missing:
            h.append('<div>未覆盖：' + "".join(f'<span class="badge miss">{_e(r.name(d))}</span>' for d in r.missing)
                     + "</div>")
        h.append("</div><div>")
        h.append(f"<h3>存在的问题（{r.n_problems}）</h3>")
        if r.n_problems:
            h.append('<ul class="probs">')
            for d in r.dimensions:
                for s in r.problems[d]:
                    h.append(f'<li><span class="dn" style="color:{colours[d]}">{_e(r.name(d))}</span>'
                             f'<a href="#{_e(a)}-s{s.index}">{_e(s.text)}</a></li>')
            h.append("</ul>")
        else:
            h.append('<p class="note">模型未在本报告中识别出问题句。</p>')
        h.append("</div></div>")
        h.append(f'<details open><summary>全文（{r.n_sentences} 句，按维度着色；悬停查看标注与概率）</summary>')
        h.append(_doc_text_html(doc, lab, dim_index, key))
        h.append("</details></section>")
    h.append("</main><script>" + _JS + "</script></body></html>")
    return "\n".join(h)


def write_html(docs: Sequence["TaggedDocument"], path: str | os.PathLike, **kwargs) -> Path:
    """Write one self-contained HTML report (inline CSS, JS and SVG; no external URL), atomically.

    Shows: findings per document, the documents × dimensions heat-map, the least
    covered dimensions, per-document coverage charts with problem counts, the problem
    sentences, and the full text coloured by dimension with problem sentences framed;
    filters by dimension and role. Keyword arguments go to :func:`render_html`.
    """
    from .io import atomic_write

    page = render_html(docs, **kwargs)
    with atomic_write(path) as fh:
        fh.write(page)
    return Path(path)


# --------------------------------------------------------------------------- XLSX
def _width(v: Any) -> int:
    s = str(v) if v is not None else ""
    return sum(2 if ord(c) > 0x2E80 else 1 for c in s)


def _sheet(wb, name: str, header: list[str], rows: list[list], widths: dict[str, int] | None = None,
           pct_cols: Sequence[str] = (), wrap_cols: Sequence[str] = ()):
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    ws = wb.create_sheet(name)
    ws.append(header)
    for r in rows:
        ws.append(r)
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


def build_workbook(docs: Sequence["TaggedDocument"], *, scheme: "LabelScheme | None" = None,
                   plan_role: str | None = DEFAULT_PLAN_ROLE, skipped: Sequence[tuple[str, str]] = ()):
    """An openpyxl Workbook with sheets sentences, summary, comparison, dimensions, problems, least_covered."""
    from openpyxl import Workbook
    from openpyxl.formatting.rule import ColorScaleRule
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    docs = list(docs)
    lab = _labels(docs, scheme, plan_role)
    reps = [summarize(d, scheme, plan_role=plan_role, _labels_cache=lab) for d in docs]
    ids = _unique_ids(reps)
    dims = list(lab.dimensions)
    wb = Workbook()
    wb.remove(wb.active)

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
    head = ["doc_id", "path", "sentences", "headings", "body_sentences", "dimensions_covered", "dimensions_total",
            "substantive_share", "problems", "plans", "most_covered", "not_covered", "problem_dimensions"]
    rows = []
    for r, key in zip(reps, ids):
        top = max(r.real_dimensions, key=lambda d: r.counts[d]) if r.real_dimensions else None
        rows.append([key, r.path, r.n_sentences, r.n_headings, r.n_body, len(r.covered), len(r.real_dimensions),
                     r.substantive_share, r.n_problems, r.n_plans,
                     r.name(top) if top and r.counts[top] else "",
                     "、".join(r.name(d) for d in r.missing),
                     "、".join(f"{r.name(d)} {len(v)}" for d, v in r.problems.items() if v)])
    _sheet(wb, "summary", head, rows, pct_cols=["substantive_share"], widths={"not_covered": 50,
           "problem_dimensions": 50}, wrap_cols=["not_covered", "problem_dimensions"])

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
        vals = [key] + [r.counts[d] for d in dims] + [r.shares[d] for d in dims] + [len(r.problems[d]) for d in dims]
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
    _sheet(wb, "least_covered", head, rows, pct_cols=["mean_share", "min_share"])
    if skipped:
        _sheet(wb, "skipped", ["path", "reason"], [[p, why] for p, why in skipped])
    return wb


def write_xlsx(docs: Sequence["TaggedDocument"], path: str | os.PathLike, **kwargs) -> Path:
    """Write the workbook (see :func:`build_workbook`) atomically."""
    from .io import atomic_write

    wb = build_workbook(docs, **kwargs)
    buf = io.BytesIO()
    wb.save(buf)
    with atomic_write(path, mode="wb", encoding=None) as fh:
        fh.write(buf.getvalue())
    return Path(path)


REPORT_SUFFIXES = {".html": "html", ".htm": "html", ".xlsx": "xlsx"}


def write_report(docs: Sequence["TaggedDocument"], path: str | os.PathLike, **kwargs) -> Path:
    """HTML or XLSX by the file extension."""
    kind = REPORT_SUFFIXES.get(Path(path).suffix.lower())
    if kind == "html":
        return write_html(docs, path, **kwargs)
    if kind == "xlsx":
        kwargs.pop("title", None)
        kwargs.pop("model", None)
        return write_xlsx(docs, path, **kwargs)
    raise ValueError(f"cannot tell the report format from {Path(path).name!r}; use .html or .xlsx")
