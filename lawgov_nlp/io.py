"""File helpers shared by the CLI commands: input collection and atomic output."""
from __future__ import annotations

import contextlib
import glob
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

from .reading import SUPPORTED_SUFFIXES


@dataclass(frozen=True)
class InputProblem:
    """An input argument that names no readable file."""

    path: str
    reason: str


def collect_inputs(args: Sequence[str | os.PathLike]) -> tuple[list[Path], list[InputProblem]]:
    """Expand files, folders (recursively, supported suffixes only) and glob patterns, in order, without repeats."""
    files: list[Path] = []
    problems: list[InputProblem] = []
    seen: set[Path] = set()

    def add(p: Path) -> None:
        key = p.resolve()
        if key not in seen:
            seen.add(key)
            files.append(p)

    for arg in args:
        s = str(arg)
        p = Path(s)
        if p.is_dir():
            found = sorted(q for q in p.rglob("*") if q.is_file() and q.suffix.lower() in SUPPORTED_SUFFIXES
                           and not any(part.startswith(".") for part in q.relative_to(p).parts))
            if not found:
                problems.append(InputProblem(s, f"folder has no report files ({', '.join(sorted(SUPPORTED_SUFFIXES))})"))
            for q in found:
                add(q)
        elif p.exists():
            add(p)
        elif glob.has_magic(s):
            matches = sorted(Path(m) for m in glob.glob(s, recursive=True) if Path(m).is_file())
            if not matches:
                problems.append(InputProblem(s, "no file matches this pattern"))
            for q in matches:
                add(q)
        else:
            problems.append(InputProblem(s, "no such file or folder"))
    return files, problems


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w", encoding: str | None = "utf-8") -> Iterator:
    """Write to a temporary file beside ``path`` and rename it into place only on success.

    After a crash or Ctrl-C the old file (if any) is intact and no half-written
    file is left under the final name.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    kwargs = {"encoding": encoding, "newline": ""} if "b" not in mode else {}
    try:
        with os.fdopen(fd, mode, **kwargs) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
