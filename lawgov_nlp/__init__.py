"""lawgov-nlp: read, segment and tag Chinese local governments' rule-of-law reports.

Light at import time: the text functions (reading, segmentation, the label
scheme) import nothing heavy; torch and transformers load only when a model is
used.
"""
from __future__ import annotations

__version__ = "0.1.0"

from .errors import LawgovError, ReadError, SchemeError
from .scheme import LabelScheme, load_scheme
from .segment import Section, Sentence, segment
from .reading import Document, read_file, read_bytes, read_text



def load(path=None, **kwargs):
    """Load a tagger (the shipped default model when ``path`` is None); see :class:`Tagger`."""
    from .tagger import Tagger

    return Tagger.load(path, **kwargs)


def __getattr__(name):  # lazy: Tagger and records import nothing heavy until used
    if name in ("Tagger", "TaggedSentence", "TaggedDocument"):
        from . import tagger

        return getattr(tagger, name)
    raise AttributeError(f"module 'lawgov_nlp' has no attribute {name!r}")


__all__ = [
    "load", "Tagger", "TaggedSentence", "TaggedDocument",
    "LawgovError", "ReadError", "SchemeError",
    "LabelScheme", "load_scheme",
    "Sentence", "Section", "segment",
    "Document", "read_file", "read_bytes", "read_text",
    "__version__",
]
