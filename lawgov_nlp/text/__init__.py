"""Text in, records out: reading files of any format, segmentation, character utilities, inputs.

Pure functions on ``str`` with exact offsets (``segment``), and readers that turn a
file or bytes into a :class:`Document` (``read_file``). Nothing here imports torch.
"""
from __future__ import annotations

from .chars import Span, detect_script, find_chrome, find_mojibake, to_simplified, to_simplified_chars, to_traditional
from .inputs import InputProblem, collect_inputs
from .metadata import GENRES, LEVELS, DocumentMetadata, MetaField, extract_metadata
from .reading import SUPPORTED_SUFFIXES, Document, read_bytes, read_file, read_text
from .segment import Section, Segmentation, Sentence, heading_level, segment, segment_document

__all__ = [
    "Span", "detect_script", "find_chrome", "find_mojibake", "to_simplified", "to_simplified_chars", "to_traditional",
    "InputProblem", "collect_inputs", "GENRES", "LEVELS", "DocumentMetadata", "MetaField", "extract_metadata",
    "SUPPORTED_SUFFIXES", "Document", "read_bytes", "read_file", "read_text",
    "Section", "Segmentation", "Sentence", "heading_level", "segment", "segment_document",
]
