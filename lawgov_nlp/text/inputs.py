"""Input collection: files, folders and glob patterns → report files, in order, without repeats."""
from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

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
