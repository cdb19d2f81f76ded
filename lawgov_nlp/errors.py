"""Errors a user can cause. Each says what was wrong, where, and what to do."""
from __future__ import annotations


class LawgovError(Exception):
    """Base class for all errors raised by lawgov-nlp."""


class SchemeError(LawgovError, ValueError):
    """A label scheme file is malformed (names the file and the key)."""


class ReadError(LawgovError, OSError):
    """A document could not be read (names the file and the reason)."""

    def __init__(self, path, reason: str):
        self.path = str(path) if path is not None else "<input>"
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")
