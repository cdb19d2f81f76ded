"""Every error a user can cause, in one place. Each says what was wrong, where, and what to do.

All derive from :class:`LawgovError`, so ``except lawgov_nlp.LawgovError`` catches anything
the library raises on purpose; each also derives from the built-in exception a caller
would expect (``ValueError`` for bad values, ``OSError`` for files that cannot be used).
"""
from __future__ import annotations

from typing import Sequence


class LawgovError(Exception):
    """Base class for all errors raised by lawgov-nlp on purpose."""


class SchemeError(LawgovError, ValueError):
    """A label scheme file is malformed (names the file and the key)."""


class UnknownLabelError(SchemeError, KeyError):
    """A label code that the scheme does not have (names the code and the scheme's codes)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class ReadError(LawgovError, OSError):
    """A document could not be read (names the file and the reason)."""

    def __init__(self, path, reason: str):
        self.path = str(path) if path is not None else "<input>"
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class ModelError(LawgovError, OSError):
    """A model directory that cannot be loaded or written (names the file and the problem)."""


class BaseModelError(ModelError):
    """A base encoder could not be built, found or loaded (says why and what to do)."""


class ConfigError(LawgovError, ValueError):
    """A training config (or another settings object) that is malformed: names the file or key."""


class CorpusError(LawgovError, ValueError):
    """Annotated data that does not follow the format; lists the bad lines (or tasks)."""

    def __init__(self, path: str, problems: Sequence, what: str = "annotated data"):
        self.path = path
        self.problems = list(problems)
        head = "\n".join(f"  {p}" for p in self.problems[:20])
        more = f"\n  … and {len(self.problems) - 20} more" if len(self.problems) > 20 else ""
        super().__init__(f"{path}: {len(self.problems)} problem(s) in {what}:\n{head}{more}")


class OutputError(LawgovError, OSError):
    """An output that cannot or must not be written (names the path and the reason)."""

    def __init__(self, path, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class UsageError(LawgovError, ValueError):
    """A call with arguments that do not fit together (e.g. an unknown output format)."""


class RequestError(LawgovError, ValueError):
    """A request a service cannot answer (``status``: the HTTP status code; the message names the problem)."""

    def __init__(self, status: int, message: str):
        self.status = status
        super().__init__(message)


class MissingExtraError(LawgovError, ImportError):
    """An optional part of lawgov-nlp whose extra is not installed (says which ``pip install`` adds it)."""


# kept for code written against 0.1 (baselines had their own error class)
BaselineError = ModelError
