"""Annotated data: the corpus format and validation (:mod:`.corpus`), annotation-tool formats
and conversions (:mod:`.formats`), choosing what to annotate next (:mod:`.suggest`)."""
from __future__ import annotations

from ..errors import CorpusError
from .corpus import (FIELD_ORDER, OPTIONAL, REQUIRED, Problem, check_splits, label_counts, load_dataset, load_records,
                     load_splits, read_jsonl, to_dataset, validate_file, validate_records, write_jsonl)
from .formats import (FORMATS, from_csv, from_doccano, from_label_studio, from_tag_rows, guess_format, is_tag_rows,
                      label_studio_config, read_any, read_label_studio, to_csv, to_doccano, to_label_studio,
                      validate_any, write_any)

__all__ = [
    "CorpusError", "FIELD_ORDER", "OPTIONAL", "REQUIRED", "Problem", "check_splits", "label_counts", "load_dataset",
    "load_records", "load_splits", "read_jsonl", "to_dataset", "validate_file", "validate_records", "write_jsonl",
    "FORMATS", "from_csv", "from_doccano", "from_label_studio", "from_tag_rows", "guess_format", "is_tag_rows",
    "label_studio_config", "read_any", "read_label_studio", "to_csv", "to_doccano", "to_label_studio", "validate_any",
    "write_any",
]
