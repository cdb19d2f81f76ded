"""Choosing what to annotate next (active learning): ``lawgov data suggest`` / :func:`suggest`.

Every sentence of the unlabelled inputs gets the model's dimension and role probabilities; its
**uncertainty** is the mean of the two heads' normalised scores, each in [0, 1]:

* ``margin``: ``1 - (p1 - p2)``, the gap between a head's two most probable classes;
* ``entropy``: ``H(p) / log K``, the head's entropy over its K classes.

Sentences are then taken from the most uncertain down (:func:`select`), with diversity:

* **no near-duplicates**: texts are normalised (simplified script, NFKC, no spaces or
  punctuation, digits as 0); a sentence whose normalised text equals, or whose character
  3-gram Jaccard similarity reaches ``near_duplicate`` (0.7) with, a sentence already chosen
  (or one of ``exclude``, e.g. the texts already labelled) is skipped;
* **spread over documents and predicted dimensions**: at most ``per_document`` sentences of one
  document and ``per_dimension`` of one predicted dimension (defaults: twice an even share,
  ``ceil(2n / documents)`` and ``ceil(2n / dimensions)``); when the caps leave fewer than ``n``,
  they are doubled and the pass goes on over what is left, so the caps decide the order of
  preference, never the count;
* sentences **without content** (fewer than ``min_content`` letters once a leading enumeration
  such as ``一、`` or ``（二）`` is removed: bare numbering, lone punctuation) are not suggested.

Ties are broken by a seeded shuffle, so a run is reproducible (``seed``).

Each suggestion is a record in the project format with the model's labels as the prediction
(``score``: its confidence in the dimension), its ``uncertainty``, its place (``doc_id``,
``index``, ``section``) and its neighbours (``context_before`` / ``context_after``: up to
``context`` sentences each side), so that an ML backend can rebuild the document context.
"""
from __future__ import annotations

import math
import os
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Sequence

from ..errors import CorpusError, LawgovError, UsageError

STRATEGIES = ("margin", "entropy")
OUTPUT_FORMATS = ("labelstudio", "doccano", "csv", "jsonl")
_ENUM = re.compile(r"^\s*(?:第?[一二三四五六七八九十百零〇\d０-９]+[、.．,，:：)）]|[（(][一二三四五六七八九十百零〇\d０-９]+[)）])\s*")


# --------------------------------------------------------------------------- scores
def head_uncertainty(p, strategy: str = "margin"):
    """Per row of a probability matrix [N, K], a score in [0, 1] (1: the head cannot choose)."""
    import numpy as np

    p = np.asarray(p, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] < 2:
        raise UsageError(f"probabilities must be a matrix [sentences, classes ≥ 2], got shape {p.shape}")
    if strategy == "margin":
        top = np.sort(p, axis=1)[:, ::-1]
        return 1.0 - (top[:, 0] - top[:, 1])
    if strategy == "entropy":
        q = np.clip(p, 1e-12, 1.0)
        return -(q * np.log(q)).sum(1) / math.log(p.shape[1])
    raise UsageError(f"unknown strategy {strategy!r}; choose from {', '.join(STRATEGIES)}")


def uncertainty(dim_p, role_p, strategy: str = "margin"):
    """The combined uncertainty of both heads: the mean of their normalised scores (see the module docstring)."""
    return (head_uncertainty(dim_p, strategy) + head_uncertainty(role_p, strategy)) / 2.0


# --------------------------------------------------------------------------- near-duplicates
def normalise_text(text: str) -> str:
    """What two near-identical sentences share: simplified script, NFKC, no spaces or punctuation, digits as 0."""
    from ..text.chars import to_simplified

    t = unicodedata.normalize("NFKC", to_simplified(text or "")).lower()
    out = []
    for ch in t:
        cat = unicodedata.category(ch)
        if cat[0] in "PZSC":
            continue
        out.append("0" if cat == "Nd" else ch)
    return "".join(out)


def shingles(norm: str, k: int = 3) -> frozenset:
    """Character k-grams of a normalised text (the whole text when shorter)."""
    if len(norm) <= k:
        return frozenset([norm]) if norm else frozenset()
    return frozenset(norm[i:i + k] for i in range(len(norm) - k + 1))


def jaccard(a: frozenset, b: frozenset) -> float:
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b) if (a or b) else 0.0


class _NearDuplicates:
    """Texts chosen so far, with an index of their 3-grams so that a new text is compared with few."""

    def __init__(self, threshold: float):
        self.threshold = threshold
        self.exact: set[str] = set()
        self.sets: list[frozenset] = []
        self.index: dict[str, list[int]] = {}

    def is_near(self, norm: str) -> bool:
        if norm in self.exact:
            return True
        s = shingles(norm)
        if not s:
            return False
        counts: dict[int, int] = {}
        for g in s:
            for j in self.index.get(g, ()):
                counts[j] = counts.get(j, 0) + 1
        for j, inter in counts.items():
            union = len(s) + len(self.sets[j]) - inter
            if union and inter / union >= self.threshold:
                return True
        return False

    def add(self, norm: str) -> None:
        self.exact.add(norm)
        s = shingles(norm)
        j = len(self.sets)
        self.sets.append(s)
        for g in s:
            self.index.setdefault(g, []).append(j)


def content_chars(text: str) -> int:
    """Letters (Han characters included) once a leading enumeration (一、 （二） 3.) is removed."""
    return sum(1 for ch in _ENUM.sub("", text or "", count=1) if ch.isalpha())


# --------------------------------------------------------------------------- selection
def select(records: Sequence[dict], dim_p, role_p, n: int, *, strategy: str = "margin", seed: int = 0,
           per_document: int | None = None, per_dimension: int | None = None, near_duplicate: float = 0.7,
           min_content: int = 2, exclude: Sequence[str] = (), dimensions: Sequence[str] | None = None) -> list[int]:
    """Indices of the ``n`` records to annotate next, in the order chosen: most uncertain first under the
    caps, then (if the caps were relaxed) the most uncertain of the rest (see the module docstring).

    ``records`` need ``text`` and ``doc_id``; the predicted dimension is the argmax of ``dim_p``
    (``dimensions`` only names its columns in messages). ``exclude``: texts that are already
    labelled; their near-duplicates are not suggested.
    """
    import numpy as np

    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise UsageError(f"n must be a whole number ≥ 1, got {n!r}")
    if not isinstance(near_duplicate, (int, float)) or not 0 < near_duplicate <= 1:
        raise UsageError(f"near_duplicate must be a similarity in (0, 1], got {near_duplicate!r}")
    dim_p = np.asarray(dim_p)
    role_p = np.asarray(role_p)
    if len(dim_p) != len(records) or len(role_p) != len(records):
        raise UsageError(f"{len(records)} records but {len(dim_p)} dimension and {len(role_p)} role probability rows")
    if not len(records):
        return []
    u = uncertainty(dim_p, role_p, strategy)
    rng = np.random.default_rng(seed)
    shuffled = rng.permutation(len(records))
    order = shuffled[np.argsort(-u[shuffled], kind="stable")]
    pred_dim = dim_p.argmax(1)
    docs = [str(r.get("doc_id", "")) for r in records]
    n_docs = len(set(docs))
    n_dims = dim_p.shape[1]
    cap_doc = per_document or max(1, math.ceil(2 * n / n_docs))
    cap_dim = per_dimension or max(1, math.ceil(2 * n / n_dims))
    seen = _NearDuplicates(near_duplicate)
    for t in exclude:
        seen.add(normalise_text(t))
    norms = [normalise_text(r.get("text") or "") for r in records]
    eligible = [int(i) for i in order if content_chars(records[i].get("text") or "") >= min_content]
    chosen: list[int] = []
    taken: set[int] = set()
    dup: set[int] = set()
    by_doc: dict[str, int] = {}
    by_dim: dict[int, int] = {}
    while len(chosen) < n:
        for i in eligible:
            if len(chosen) >= n:
                break
            if i in taken or i in dup:
                continue
            if by_doc.get(docs[i], 0) >= cap_doc or by_dim.get(int(pred_dim[i]), 0) >= cap_dim:
                continue
            if seen.is_near(norms[i]):
                dup.add(i)
                continue
            chosen.append(i)
            taken.add(i)
            seen.add(norms[i])
            by_doc[docs[i]] = by_doc.get(docs[i], 0) + 1
            by_dim[int(pred_dim[i])] = by_dim.get(int(pred_dim[i]), 0) + 1
        if len(chosen) >= n or len(taken) + len(dup) >= len(eligible):
            break
        if cap_doc >= len(records) and cap_dim >= len(records):
            break
        cap_doc, cap_dim = cap_doc * 2, cap_dim * 2  # the caps order the choice; they never leave it short
    return chosen


# --------------------------------------------------------------------------- inputs
@dataclass
class Candidates:
    """Sentences to choose from, in document order, with the model's probabilities."""

    records: list[dict]
    dim_p: Any
    role_p: Any
    dimensions: list[str]
    roles: list[str]
    model_version: str
    problems: list[tuple[str, str]] = field(default_factory=list)   # (input, reason) of inputs left out


def _probabilities_from_tag_rows(rows: Sequence[dict], where: str):
    """(dimension codes, role codes, dim_p, role_p) from the per-class columns ``lawgov tag`` writes."""
    import numpy as np

    keys = [k for k in rows[0] if isinstance(k, str)]
    roles = [k[len("p_role_"):] for k in keys if k.startswith("p_role_")]
    dims = [k[2:] for k in keys if k.startswith("p_") and not k.startswith("p_role_")]
    if len(dims) < 2 or len(roles) < 2:
        raise CorpusError(where, [], "lawgov tag output (it lacks the per-class probability columns p_… / p_role_…)")
    try:
        dp = np.array([[float(r[f"p_{d}"]) for d in dims] for r in rows], dtype=np.float32)
        rp = np.array([[float(r[f"p_role_{x}"]) for x in roles] for r in rows], dtype=np.float32)
    except (KeyError, TypeError, ValueError) as e:
        from .corpus import Problem

        raise CorpusError(where, [Problem(0, "p_", f"a probability column is missing or not a number ({e})")],
                          "lawgov tag output") from None
    return dims, roles, dp, rp


def _records_input(path: str, tagger_fn):
    """Records and probabilities of one JSONL/CSV file: ``lawgov tag`` output (its own probabilities) or
    unlabelled project records (tagged by the model, each document whole)."""
    from .corpus import Problem, read_jsonl
    from .formats import from_csv, from_tag_rows, guess_format, is_tag_rows

    try:
        if guess_format(path) == "csv":
            rows, problems = from_csv(path), []
        else:
            rows, problems = read_jsonl(path)
    except OSError as e:
        raise CorpusError(path, [Problem(0, "file", f"cannot read it ({e.strerror or e})")]) from e
    except UnicodeDecodeError as e:
        raise CorpusError(path, [Problem(0, "file", f"not UTF-8 text ({e.reason} at byte {e.start})")]) from e
    if problems:
        raise CorpusError(path, problems)
    if not rows:
        raise CorpusError(path, [Problem(0, "file", "no records: the file is empty")])
    if is_tag_rows(rows):
        dims, roles, dp, rp = _probabilities_from_tag_rows(rows, path)
        recs = from_tag_rows(rows, model_version=f"lawgov tag ({os.path.basename(path)})")
        return recs, dp, rp, dims, roles, None
    bad = [Problem(int(r.get("_line", i)), "text", "missing text") for i, r in enumerate(rows, 1)
           if not isinstance(r.get("text"), str) or not r["text"].strip()]
    if bad:
        raise CorpusError(path, bad, "unlabelled records (each needs a text; doc_id groups them into documents)")
    for i, r in enumerate(rows):
        r.setdefault("doc_id", os.path.splitext(os.path.basename(path))[0])
    tagger = tagger_fn()
    dp, rp = tagger.predict_records(rows)
    return rows, dp, rp, list(tagger.dimensions), list(tagger.roles), tagger


def _is_records_file(p) -> bool:
    return str(p).lower().endswith((".jsonl", ".csv"))


def gather(inputs: Sequence[str | os.PathLike], model: str | os.PathLike | None = None, *,
           on_error=None, load_options: dict | None = None) -> Candidates:
    """Candidates from report files, folders and globs (read and segmented as ``lawgov tag`` does, tagged
    a whole document at a time), unlabelled JSONL/CSV records, or what ``lawgov tag`` wrote.

    An input that cannot be used goes to ``on_error(input, reason)`` and is left out; without a
    handler it raises. No usable sentence at all is a :class:`~lawgov_nlp.errors.LawgovError`.
    """
    import numpy as np

    from ..errors import ReadError
    from ..text.inputs import collect_inputs

    problems: list[tuple[str, str]] = []

    def fail(where: str, reason: str, exc: Exception | None = None) -> None:
        problems.append((where, reason))
        if on_error is None:
            if isinstance(exc, LawgovError):
                raise exc
            raise UsageError(f"{where}: {reason}")
        on_error(where, reason)

    tagger = None

    def get_tagger():
        nonlocal tagger
        if tagger is None:
            from ..models.registry import load

            tagger = load(model, **(load_options or {}))
        return tagger

    files, bad = collect_inputs(inputs)
    for p in bad:
        fail(p.path, p.reason)
    parts: list[tuple[list[dict], Any, Any]] = []
    labels: tuple[list[str], list[str]] | None = None
    versions: list[str] = []
    reports = []
    for f in files:
        if _is_records_file(f):
            try:
                recs, dp, rp, dims, roles, t = _records_input(str(f), get_tagger)
            except CorpusError as e:
                fail(str(f), str(e).split(": ", 1)[-1], e)
                continue
            if labels is not None and (dims, roles) != labels:
                fail(str(f), f"its labels ({', '.join(dims)} / {', '.join(roles)}) differ from the other inputs'")
                continue
            labels = (dims, roles)
            versions.append(_model_version(t) if t is not None else recs[0].get("_model_version", "lawgov tag"))
            parts.append((recs, dp, rp))
        else:
            reports.append(f)
    if reports:
        from ..engines.local import document_rows, read_one
        from .formats import from_tag_rows

        docs = []
        for f in reports:
            try:
                docs.append(read_one(f))
            except ReadError as e:
                fail(e.path, e.reason, e)
        for d in [d for d in docs if not d.sentences]:
            fail(str(d.path), "no sentences in it (an empty or image-only file)")
        docs = [d for d in docs if d.sentences]
        if docs:
            t = get_tagger()
            dims, roles = list(t.dimensions), list(t.roles)
            if labels is not None and (dims, roles) != labels:
                raise UsageError("the report files' model and the tag output among the inputs use different labels")
            labels = (dims, roles)
            used: dict[str, int] = {}
            for td in t.tag_documents(docs):
                rows = document_rows(td)
                if not rows:
                    continue
                dp = np.array([[s.scores[d] for d in dims] for s in td.sentences], dtype=np.float32)
                rp = np.array([[s.role_scores[x] for x in roles] for s in td.sentences], dtype=np.float32)
                recs = from_tag_rows(rows, model_version=_model_version(t))
                doc_id = td.doc_id
                if doc_id in used:  # two files with the same name in different folders stay two documents
                    used[doc_id] += 1
                    doc_id = f"{doc_id}~{used[doc_id]}"
                else:
                    used[doc_id] = 1
                for r, s in zip(recs, td.sentences):
                    r["doc_id"] = doc_id
                    r["sent_id"] = f"{doc_id}-{r['index']:04d}"
                    r["heading_level"] = s.heading_level
                    r["paragraph"] = s.paragraph
                parts.append((recs, dp, rp))
            versions.append(_model_version(t))
    if not parts:
        raise LawgovError("no sentences to choose from: " + ("; ".join(f"{w}: {r}" for w, r in problems)
                                                             if problems else "the inputs hold no text"))
    records = [r for recs, _, _ in parts for r in recs]
    dp = np.concatenate([p[1] for p in parts])
    rp = np.concatenate([p[2] for p in parts])
    return Candidates(records, dp, rp, labels[0], labels[1], " + ".join(dict.fromkeys(versions)), problems)


def _model_version(tagger) -> str:
    path = getattr(tagger, "path", None)
    return f"{tagger.kind}:{os.path.basename(str(path).rstrip('/'))}" if path else str(tagger.kind)


# --------------------------------------------------------------------------- the command
def suggestions(cands: Candidates, chosen: Sequence[int], strategy: str, context: int = 2) -> list[dict]:
    """The chosen candidates as records with predictions, uncertainty and neighbours (module docstring)."""
    import numpy as np

    u = uncertainty(cands.dim_p, cands.role_p, strategy)
    pos: dict[str, list[int]] = {}
    for i, r in enumerate(cands.records):
        pos.setdefault(str(r.get("doc_id", "")), []).append(i)
    place = {i: (doc, k) for doc, idx in pos.items() for k, i in enumerate(idx)}
    out = []
    for rank, i in enumerate(chosen, 1):
        r = cands.records[i]
        dp, rp = cands.dim_p[i], cands.role_p[i]
        di, ri = int(np.argmax(dp)), int(np.argmax(rp))
        doc, k = place[i]
        idx = pos[doc]
        rec = {k2: v for k2, v in r.items() if not k2.startswith("_") and k2 not in ("dimension", "role", "score")}
        rec.update({
            "doc_id": r.get("doc_id"), "sent_id": r.get("sent_id") or f"{doc}-{k:04d}", "text": r["text"],
            "dimension": r.get("dimension") or cands.dimensions[di], "role": r.get("role") or cands.roles[ri],
            "secondary": list(r.get("secondary") or []), "section": list(r.get("section") or []),
            "index": r.get("index", k), "score": round(float(dp[di]), 4), "uncertainty": round(float(u[i]), 4),
            "rank": rank, "strategy": strategy,
            "context_before": [cands.records[j]["text"] for j in idx[max(0, k - context):k]],
            "context_after": [cands.records[j]["text"] for j in idx[k + 1:k + 1 + context]],
        })
        rec["_role_score"] = round(float(rp[cands.roles.index(rec["role"])] if rec["role"] in cands.roles else rp[ri]), 4)
        rec["_model_version"] = r.get("_model_version") or cands.model_version
        out.append(rec)
    return out


def suggest(inputs: Sequence[str | os.PathLike], n: int, *, model: str | os.PathLike | None = None,
            strategy: str = "margin", seed: int = 0, per_document: int | None = None,
            per_dimension: int | None = None, near_duplicate: float = 0.7, min_content: int = 2,
            exclude: Sequence[str] = (), context: int = 2, on_error=None,
            load_options: dict | None = None) -> list[dict]:
    """The ``n`` sentences of ``inputs`` to annotate next, as records with the model's predictions
    (write them with :func:`write_suggestions`). See the module docstring for the ranking."""
    if strategy not in STRATEGIES:
        raise UsageError(f"unknown strategy {strategy!r}; choose from {', '.join(STRATEGIES)}")
    cands = gather(inputs, model, on_error=on_error, load_options=load_options)
    chosen = select(cands.records, cands.dim_p, cands.role_p, n, strategy=strategy, seed=seed,
                    per_document=per_document, per_dimension=per_dimension, near_duplicate=near_duplicate,
                    min_content=min_content, exclude=exclude, dimensions=cands.dimensions)
    return suggestions(cands, chosen, strategy, context)


def write_suggestions(records: Sequence[dict], path: str | os.PathLike, fmt: str | None = None) -> None:
    """Label Studio tasks (predictions to correct; each task's data keeps the document id, index,
    section and neighbours), doccano JSONL, CSV or project JSONL (default: from the extension)."""
    from .formats import guess_format, write_any

    fmt = fmt or guess_format(path)
    if fmt not in OUTPUT_FORMATS:
        raise UsageError(f"unknown format {fmt!r}; choose from {', '.join(OUTPUT_FORMATS)}")
    write_any(records, path, fmt)


__all__ = ["STRATEGIES", "OUTPUT_FORMATS", "Candidates", "content_chars", "gather", "head_uncertainty", "jaccard",
           "normalise_text", "select", "shingles", "suggest", "suggestions", "uncertainty", "write_suggestions"]
