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


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike, replaced: Sequence[str] = ()) -> Iterator[Path]:
    """Build a directory in a temporary sibling and swap it into place only on success.

    Files of an existing directory that the new one does not write (a model card,
    metrics) are carried over, except the names in ``replaced``. A crash leaves the
    old directory as it was and no half-written one under the final name.
    """
    import shutil

    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        yield tmp
        for f in tmp.rglob("*"):  # mkdtemp makes the directory private; a model directory is meant to be shared
            os.chmod(f, 0o755 if f.is_dir() else 0o644)
        os.chmod(tmp, 0o755)
        if out.exists():
            for f in out.iterdir():
                if f.is_file() and not (tmp / f.name).exists() and f.name not in replaced:
                    shutil.copy2(f, tmp / f.name)
            old = out.with_name(f".{out.name}.old")
            if old.exists():
                shutil.rmtree(old)
            out.rename(old)
            tmp.rename(out)
            shutil.rmtree(old)
        else:
            tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
