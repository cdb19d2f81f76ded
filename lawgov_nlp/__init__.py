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

__all__ = [
    "LawgovError", "ReadError", "SchemeError",
    "LabelScheme", "load_scheme",
    "Sentence", "Section", "segment",
    "Document", "read_file", "read_bytes", "read_text",
    "__version__",
]
