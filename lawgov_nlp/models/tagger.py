"""What every model kind does: tag documents and sentences.

A kind subclasses :class:`Tagger` and implements :meth:`Tagger.predict_documents` (per-class
probabilities for the sentences of each document, in order), ``save(dir)`` and the class method
``from_dir(dir, manifest, scheme, **options)``. Kinds that read each sentence alone subclass
:class:`SentenceTagger` and implement :meth:`SentenceTagger.predict_proba` instead.

Everything else is shared: thresholds and decisions, ``tag_documents`` / ``tag_text`` /
``tag_file`` / ``tag_files`` / ``tag_sentences``, and prediction on annotated records for
evaluation and threshold tuning.
"""
from __future__ import annotations

import abc
import os
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Iterable, Sequence

from ..errors import ModelError, ReadError
from ..records import Decision, TaggedDocument, TaggedSentence
from ..text.reading import Document, read_file, read_text
from ..text.segment import Sentence, heading_level
from .contract import Thresholds

Progress = Callable[[int], None] | None


@dataclass(frozen=True)
class SentenceInput:
    """A sentence as a model sees it: its text and its place in the document."""

    text: str
    section: tuple[str, ...] = ()
    is_heading: bool = False
    heading_level: int | None = None
    paragraph: int = 0
    index: int = 0
    start: int = 0
    end: int = 0


def records_as_documents(records: Sequence[dict]) -> tuple[list[list[SentenceInput]], list[tuple[int, int]]]:
    """Group annotated records into documents (by ``doc_id``, keeping file order) as model inputs.

    Returns the documents and, for every record, (document number, position) so that
    predictions can be put back in record order. Records without heading fields get them
    from the segmenter's heading rule; without ``paragraph`` each record is its own paragraph.
    """
    docs: list[list[SentenceInput]] = []
    where: list[tuple[int, int]] = []
    by_id: dict[Any, int] = {}
    for n, r in enumerate(records):
        key = r.get("doc_id", f"__record_{n}")
        if key not in by_id:
            by_id[key] = len(docs)
            docs.append([])
        k = by_id[key]
        text = r["text"]
        if "is_heading" in r:
            is_head = bool(r.get("is_heading"))
            level = r.get("heading_level")
        else:
            level = heading_level(text)
            is_head = level is not None and level < 5
            level = level if is_head else None
        par = r.get("paragraph")
        where.append((k, len(docs[k])))
        docs[k].append(SentenceInput(text=text, section=tuple(r.get("section") or ()), is_heading=is_head,
                                     heading_level=level, paragraph=int(par) if par is not None else n,
                                     index=len(docs[k]), start=0, end=len(text)))
    return docs, where


def _as_input(s: Sentence) -> SentenceInput:
    return SentenceInput(s.text, tuple(s.section), s.is_heading, s.heading_level, s.paragraph, s.index, s.start, s.end)


class Tagger(abc.ABC):
    """A model that tags every sentence of a report with a dimension and a role.

    Attributes every kind sets: ``scheme`` (its :class:`~lawgov_nlp.scheme.LabelScheme`),
    ``thresholds`` (:class:`~lawgov_nlp.models.contract.Thresholds`) and ``path`` (the
    directory it was loaded from, or None).
    """

    kind: ClassVar[str] = ""
    scheme: Any
    thresholds: Thresholds
    path: str | None = None

    # -- labels --------------------------------------------------------------
    @property
    def dimensions(self) -> list[str]:
        return self.scheme.dimension_codes

    @property
    def roles(self) -> list[str]:
        return self.scheme.role_codes

    @property
    def dimension_names(self) -> dict[str, str]:
        return {d.code: d.name for d in self.scheme.dimensions}

    # -- what a kind implements ---------------------------------------------
    @abc.abstractmethod
    def predict_documents(self, docs: Sequence[Sequence[SentenceInput]], progress: Progress = None) -> list[tuple]:
        """For each document, (dimension probabilities [n, D], role probabilities [n, R]) as numpy arrays."""

    @abc.abstractmethod
    def save(self, out_dir: str | os.PathLike):
        """Write the model directory (see :mod:`lawgov_nlp.models.contract`)."""

    # -- decisions -------------------------------------------------------------
    def decide(self, dim_p, role_p) -> list[Decision]:
        """Labels from probabilities with the model's thresholds."""
        dims, roles = self.dimensions, self.roles
        problem = self.scheme.problem_role
        pi = roles.index(problem) if problem in roles else None
        th = self.thresholds
        out = []
        for dp, rp in zip(dim_p, role_p):
            di = int(dp.argmax())
            secondary = tuple(dims[j] for j in (-dp).argsort() if j != di and dp[j] >= th.secondary
                              and dims[j] != self.scheme.fallback_dimension)
            p_problem = float(rp[pi]) if pi is not None else 0.0
            is_problem = pi is not None and p_problem >= th.problem
            if is_problem:
                role = problem
            else:
                order = [j for j in (-rp).argsort() if j != pi]
                role = roles[int(order[0])]
            out.append(Decision(dims[di], secondary, role, is_problem, p_problem))
        return out

    # -- prediction on annotated records (evaluation, thresholds) -----------------
    def predict_records(self, records: Sequence[dict], progress: Progress = None):
        """(dimension probabilities, role probabilities) for annotated records, in record order.

        Records are grouped into their documents (``doc_id``) so that a context model sees
        each sentence's neighbours.
        """
        import numpy as np

        docs, where = records_as_documents(records)
        preds = self.predict_documents(docs, progress)
        D, R = len(self.dimensions), len(self.roles)
        dp = np.zeros((len(records), D), dtype=np.float32)
        rp = np.zeros((len(records), R), dtype=np.float32)
        for i, (k, j) in enumerate(where):
            dp[i] = preds[k][0][j]
            rp[i] = preds[k][1][j]
        return dp, rp

    # -- tagging ---------------------------------------------------------------
    def tag_documents(self, docs: Sequence[Document], progress: Progress = None) -> list[TaggedDocument]:
        """Tag already-read documents (batched across all of them)."""
        preds = self.predict_documents([[_as_input(s) for s in d.sentences] for d in docs], progress)
        out = []
        for d, (dp, rp) in zip(docs, preds):
            decided = self.decide(dp, rp)
            sents = [TaggedSentence.from_parts(s, dec, dp[j], rp[j], self.dimensions, self.roles, d.doc_id)
                     for j, (s, dec) in enumerate(zip(d.sentences, decided))]
            out.append(TaggedDocument(d.doc_id, sents, d.path, d.info(), self.dimension_names))
        return out

    def tag_sentences(self, sentences: Sequence[str], sections: Sequence[Any] | None = None) -> list[TaggedSentence]:
        """Tag sentences one by one, each alone (optionally with its heading path); no document context."""
        docs = [[SentenceInput(t, tuple(sections[i]) if sections else (), end=len(t))] for i, t in enumerate(sentences)]
        preds = self.predict_documents(docs)
        out = []
        for i, (doc, (dp, rp)) in enumerate(zip(docs, preds)):
            dec = self.decide(dp, rp)[0]
            s = doc[0]
            out.append(TaggedSentence.from_parts(SentenceInput(s.text, s.section, index=i, end=len(s.text)),
                                                 dec, dp[0], rp[0], self.dimensions, self.roles))
        return out

    def tag_text(self, text: str, doc_id: str = "text") -> TaggedDocument:
        """Segment and tag a report given as a string."""
        return self.tag_documents([read_text(text, doc_id)])[0]

    def tag_file(self, path: str | os.PathLike, encoding: str | None = None) -> TaggedDocument:
        """Read, segment and tag one report file (.txt .html .docx .pdf)."""
        return self.tag_documents([read_file(path, encoding=encoding)])[0]

    def tag_files(self, paths: Iterable[str | os.PathLike], on_error: Callable[[str, str], None] | None = None,
                  docs_per_batch: int = 16, progress: Progress = None) -> list[TaggedDocument]:
        """Tag many files, batching across documents; unreadable files are reported to ``on_error``
        (path, reason) and skipped, or raise :class:`~lawgov_nlp.errors.ReadError` when no handler is given."""
        out: list[TaggedDocument] = []
        pending: list[Document] = []
        for p in paths:
            try:
                pending.append(read_file(p))
            except ReadError as e:
                if on_error is None:
                    raise
                on_error(e.path, e.reason)
            if len(pending) >= docs_per_batch:
                out.extend(self.tag_documents(pending, progress))
                pending = []
        if pending:
            out.extend(self.tag_documents(pending, progress))
        return out

    def __repr__(self) -> str:
        extra = f" run={self.path_name!r}" if getattr(self, "path_name", None) else ""
        return f"<{type(self).__name__} kind={self.kind!r} path={self.path!r}{extra}>"


def refuse_unexact_save(tagger, out_dir) -> None:
    """Only the float32 reference is saved: a bfloat16, int8 or ONNX network is a derived copy."""
    run = getattr(tagger, "path_name", "fp32")
    if run != "fp32":
        raise ModelError(f"{out_dir}: this model was loaded for speed ({run}) and is not saved; "
                         "load it with exact=True (lg.load(path, exact=True)) to save it")


CACHE_ENV = "LAWGOV_VECTOR_CACHE"
DEFAULT_CACHE = 20000  # vectors; 384 float32 each: about 30 MB when full


class VectorCache:
    """A bounded cache of sentence vectors by text (least recently stored go first), so that
    sentences repeated across documents and calls (boilerplate, headings) are encoded once. Its
    size: ``size``, else ``$LAWGOV_VECTOR_CACHE``, else 20,000 vectors; 0 turns it off."""

    def __init__(self, size: int | None = None):
        from collections import OrderedDict

        if size is None:
            env = os.environ.get(CACHE_ENV, "")
            try:
                size = int(env) if env.strip() else DEFAULT_CACHE
            except ValueError:
                raise ModelError(f"{CACHE_ENV}={env!r}: must be a whole number of sentence vectors "
                                 f"(0 turns the cache off)") from None
        self.size = max(0, int(size))
        self._d: "OrderedDict[str, Any]" = OrderedDict()
        self.hits = 0

    def lookup(self, keys: Sequence[str]) -> dict:
        found = {}
        for k in keys:
            v = self._d.get(k)
            if v is not None:
                found[k] = v
        self.hits += sum(1 for k in keys if k in found)
        return found

    def store(self, keys: Iterable[str], vectors) -> None:
        if not self.size:
            return
        for i, k in enumerate(keys):
            self._d[k] = vectors[i].copy()
            self._d.move_to_end(k)
        while len(self._d) > self.size:
            self._d.popitem(last=False)

    def __len__(self) -> int:
        return len(self._d)


class SentenceTagger(Tagger):
    """A kind that reads each sentence alone (with its heading path): encoder, TF-IDF, keywords."""

    @abc.abstractmethod
    def predict_proba(self, texts: Sequence[str], sections: Sequence[Any] | None = None, progress: Progress = None):
        """(dimension probabilities [N, D], role probabilities [N, R]) as numpy arrays."""

    def predict_documents(self, docs: Sequence[Sequence[SentenceInput]], progress: Progress = None) -> list[tuple]:
        flat = [s for d in docs for s in d]
        dp, rp = self.predict_proba([s.text for s in flat], [s.section for s in flat], progress=progress)
        out, k = [], 0
        for d in docs:
            out.append((dp[k:k + len(d)], rp[k:k + len(d)]))
            k += len(d)
        return out
