"""The records that flow out of tagging: a :class:`Decision` per sentence, :class:`TaggedSentence`
and :class:`TaggedDocument`.

Sentences as read come from :mod:`lawgov_nlp.text.segment` (:class:`~lawgov_nlp.text.Sentence`);
a tagger turns each into a :class:`TaggedSentence`: the same text and offsets plus its labels
and every class's probability.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from .text.metadata import DocumentMetadata


@dataclass(frozen=True)
class Decision:
    """The labels a tagger decided for one sentence from its probabilities and thresholds."""

    dimension: str
    secondary: tuple[str, ...]
    role: str
    is_problem: bool
    problem_probability: float


@dataclass
class TaggedSentence:
    """One sentence with its tags. ``scores``/``role_scores`` hold every class's probability."""

    text: str
    start: int
    end: int
    index: int
    section: tuple[str, ...]
    dimension: str
    scores: dict[str, float]
    secondary: list[str]
    role: str
    role_scores: dict[str, float]
    is_problem: bool
    problem_probability: float
    is_heading: bool = False
    heading_level: int | None = None
    doc_id: str = ""
    paragraph: int = 0

    @property
    def dimension_score(self) -> float:
        return self.scores[self.dimension]

    @classmethod
    def from_parts(cls, sentence: Any, decision: Decision, dimension_probs, role_probs,
                   dimensions: list[str], roles: list[str], doc_id: str = "") -> "TaggedSentence":
        """A sentence as read (anything with text, offsets, index, section, heading fields) plus its tags."""
        return cls(
            text=sentence.text, start=sentence.start, end=sentence.end, index=sentence.index,
            section=tuple(sentence.section), dimension=decision.dimension,
            scores={k: float(v) for k, v in zip(dimensions, dimension_probs)}, secondary=list(decision.secondary),
            role=decision.role, role_scores={k: float(v) for k, v in zip(roles, role_probs)},
            is_problem=decision.is_problem, problem_probability=decision.problem_probability,
            is_heading=bool(getattr(sentence, "is_heading", False)),
            heading_level=getattr(sentence, "heading_level", None), doc_id=doc_id,
            paragraph=int(getattr(sentence, "paragraph", 0) or 0))

    def to_dict(self) -> dict:
        d = asdict(self)
        d["section"] = list(self.section)
        return d

    def to_row(self, dimension_names: dict[str, str] | None = None) -> dict:
        """A flat row for JSONL/CSV/XLSX: probabilities as ``p_<dimension>`` / ``p_role_<role>`` columns."""
        names = dimension_names or {}
        return {
            "doc_id": self.doc_id, "index": self.index, "start": self.start, "end": self.end,
            "section": " > ".join(self.section), "is_heading": self.is_heading, "text": self.text,
            "dimension": self.dimension, "dimension_name": names.get(self.dimension, ""),
            "dimension_score": round(self.scores[self.dimension], 4), "secondary": "|".join(self.secondary),
            "role": self.role, "is_problem": self.is_problem, "problem_probability": round(self.problem_probability, 4),
            **{f"p_{k}": round(v, 4) for k, v in self.scores.items()},
            **{f"p_role_{k}": round(v, 4) for k, v in self.role_scores.items()},
        }


@dataclass
class TaggedDocument:
    """A tagged report: its sentences and how it was read."""

    doc_id: str
    sentences: list[TaggedSentence]
    path: str | None = None
    info: dict = field(default_factory=dict)
    dimension_names: dict[str, str] = field(default_factory=dict)

    def to_dicts(self) -> list[dict]:
        return [s.to_dict() for s in self.sentences]

    @property
    def metadata(self) -> "DocumentMetadata":
        """Title, office, level, year, genre and date (:mod:`lawgov_nlp.text.metadata`).

        From ``info["metadata"]`` (what the reader found in the whole text); a document built
        without it (hand-made, or read back from rows) is read from its sentences, placed at
        their offsets, so evidence offsets still point into the original text.
        """
        from .text.metadata import DocumentMetadata, extract_metadata

        info = self.info if isinstance(self.info, dict) else {}
        if isinstance(info.get("metadata"), dict):
            return DocumentMetadata.from_dict(info["metadata"])
        return extract_metadata(self.text_from_sentences(), str(info.get("page_title") or ""))

    def text_from_sentences(self) -> str:
        """The document text as far as the sentences hold it: each sentence at its offsets, line
        breaks between (the gaps' own characters are not kept in tagged records)."""
        if not self.sentences:
            return ""
        buf = ["\n"] * max(s.end for s in self.sentences)
        for s in self.sentences:
            if len(s.text) == s.end - s.start:
                buf[s.start:s.end] = list(s.text)
        return "".join(buf)

    def to_records(self) -> list[dict]:
        """Flat rows (one per sentence) for JSONL/CSV/XLSX: probabilities as ``p_<dimension>`` columns,
        the document's metadata as ``doc_title`` … ``doc_date`` ("" where not found)."""
        meta = self.metadata.columns()
        return [{**s.to_row(self.dimension_names), **meta} for s in self.sentences]

    def to_dataframe(self):
        import pandas as pd

        return pd.DataFrame(self.to_records())

    @property
    def problems(self) -> list[TaggedSentence]:
        """Body sentences tagged as problems (headings are never counted as problems)."""
        return [s for s in self.sentences if s.is_problem and not s.is_heading]

    def summary(self, scheme=None, **kwargs):
        """Coverage and problems per dimension: a :class:`~lawgov_nlp.report.CoverageReport`."""
        from .report.summary import summarize

        return summarize(self, scheme, **kwargs)
