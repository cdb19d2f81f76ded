"""lawgov-nlp: read, segment and tag Chinese local governments' rule-of-law reports.

    import lawgov_nlp as lg
    doc = lg.load().tag_file("report.docx")     # the shipped default model, offline
    doc.summary()                               # coverage and problems per dimension

The data flows read → segment → tag → report: :mod:`lawgov_nlp.text` (reading, segmentation),
:mod:`lawgov_nlp.models` (every model kind behind one contract), :mod:`lawgov_nlp.records`
(tagged sentences and documents), :mod:`lawgov_nlp.report` (summaries, HTML, XLSX). Training
is :mod:`lawgov_nlp.train`, annotated data :mod:`lawgov_nlp.data`, metrics
:mod:`lawgov_nlp.metrics`, the command line :mod:`lawgov_nlp.cli`.

Light at import time: the text functions and the label scheme import nothing heavy; torch and
transformers load only when a neural model is used.
"""
from __future__ import annotations

from ._version import __version__
from .errors import (ConfigError, CorpusError, LawgovError, ModelError, OutputError, ReadError, SchemeError,
                     UsageError)
from .scheme import LabelScheme, load_scheme
from .text.metadata import DocumentMetadata, extract_metadata
from .text.reading import Document, read_bytes, read_file, read_text
from .text.segment import Section, Sentence, segment


def load(name_or_path=None, **options):
    """Load any model: the shipped default when ``name_or_path`` is None, ``"keywords"``, the name of
    a shipped model, or a model directory (see :func:`lawgov_nlp.models.registry.load`)."""
    from .models.registry import load as _load

    return _load(name_or_path, **options)


_LAZY = {
    "Tagger": ("models.tagger", "Tagger"),
    "SentenceTagger": ("models.tagger", "SentenceTagger"),
    "EncoderTagger": ("models.encoder", "EncoderTagger"),
    "TfidfTagger": ("models.baselines", "TfidfTagger"),
    "KeywordTagger": ("models.baselines", "KeywordTagger"),
    "TaggedSentence": ("records", "TaggedSentence"),
    "TaggedDocument": ("records", "TaggedDocument"),
    "Decision": ("records", "Decision"),
    "CoverageReport": ("report.summary", "CoverageReport"),
    "TrainConfig": ("train.config", "TrainConfig"),
}


def __getattr__(name):  # lazy: model classes import torch only when used
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(f"{__name__}.{module}"), attr)
    raise AttributeError(f"module 'lawgov_nlp' has no attribute {name!r}")


__all__ = [
    "load", *_LAZY,
    "LawgovError", "ReadError", "SchemeError", "ModelError", "ConfigError", "CorpusError", "OutputError", "UsageError",
    "LabelScheme", "load_scheme", "DocumentMetadata", "extract_metadata",
    "Sentence", "Section", "segment",
    "Document", "read_file", "read_bytes", "read_text",
    "__version__",
]
