"""Writing outputs without losing or destroying anything.

* :func:`resolve_output` decides what an output path is before anything is written: ``-``
  (standard output), a FIFO or character device (written through, never replaced), a symlink
  (its target is replaced, not the link), or a regular file (replaced atomically, with the
  user's umask). It refuses a folder, and an output that is one of the inputs.
* :func:`atomic_write` writes a whole file at once; :class:`RowWriter` streams tagged rows,
  one finished document at a time (JSONL and CSV are appended and flushed as each document
  completes; XLSX is built from a journal at the end and on interrupt).
* :func:`read_rows` reads an earlier output back for ``--resume``: every column as text, a
  truncated last JSONL line dropped.
* :func:`neutralise_formula` is the CSV defence against spreadsheet formula injection (OWASP):
  a text cell that starts with ``= + - @`` (or a tab / carriage return) gets a leading ``'``.
  XLSX text cells are stored as text, never as formulas. JSONL is left unchanged.
* :func:`atomic_directory` builds a directory beside its final name and swaps it in.
"""
from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import stat
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Sequence

from .errors import OutputError

STDOUT = "-"
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


# --------------------------------------------------------------------------- what an output path is
@dataclass(frozen=True)
class Output:
    """A checked output destination."""

    path: Path | None          # the file to write (a symlink's target), None for stdout
    kind: str                  # "stdout" | "stream" (FIFO, character device) | "file"
    given: str                 # as the user typed it

    @property
    def is_file(self) -> bool:
        return self.kind == "file"

    @property
    def exists(self) -> bool:
        return self.path is not None and self.path.exists()

    def __str__(self) -> str:
        return self.given

    def __fspath__(self) -> str:
        return self.given


def _umask() -> int:
    old = os.umask(0o022)
    os.umask(old)
    return old


def resolve_output(path: str | os.PathLike, inputs: Iterable[str | os.PathLike] = (), *,
                   check_writable: bool = True) -> Output:
    """Check an output path before any work is done (see the module docstring)."""
    given = os.fspath(path)
    if given == STDOUT:
        return Output(None, "stdout", given)
    p = Path(given).expanduser()
    if p.is_symlink():
        target = Path(os.path.realpath(p))
    else:
        target = p
    try:
        st = target.stat()
    except FileNotFoundError:
        st = None
    except OSError as e:
        raise OutputError(given, f"cannot use this output ({e.strerror or e})") from e
    if st is not None:
        if stat.S_ISDIR(st.st_mode):
            raise OutputError(given, "is a folder; give a file name for the output")
        if stat.S_ISFIFO(st.st_mode) or stat.S_ISCHR(st.st_mode):
            return Output(target, "stream", given)
        if not stat.S_ISREG(st.st_mode):
            raise OutputError(given, "is not a regular file, FIFO or character device; refusing to replace it")
        for i in inputs:
            try:
                if os.path.samefile(target, i):
                    raise OutputError(given, f"is the input {os.fspath(i)}; refusing to overwrite a report with "
                                             "the output (choose another output file)")
            except OSError:
                continue
    if check_writable:
        _check_writable(target, given)
    return Output(target, "file", given)


def _check_writable(target: Path, given: str) -> None:
    parent = target.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(given, f"cannot create the folder {parent} ({e.strerror or e})") from e
    try:
        fd, probe = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".probe", dir=parent)
    except OSError as e:
        raise OutputError(given, f"cannot write in {parent} ({e.strerror or e})") from e
    os.close(fd)
    os.unlink(probe)
    if target.exists() and not os.access(target, os.W_OK):
        raise OutputError(given, "the file exists and is not writable")


# --------------------------------------------------------------------------- whole files
@contextlib.contextmanager
def atomic_write(path: "str | os.PathLike | Output", mode: str = "w", encoding: str | None = "utf-8") -> Iterator:
    """Write a whole output: a regular file appears only when complete (temporary file + rename,
    the user's umask, or the old file's mode); stdout, FIFOs and devices are written through.

    After a crash or Ctrl-C an old regular file is intact and no half-written file is left under
    the final name.
    """
    out = path if isinstance(path, Output) else resolve_output(path, check_writable=False)
    binary = "b" in mode
    if out.kind == "stdout":
        fh = sys.stdout.buffer if binary else sys.stdout
        yield fh
        fh.flush()
        return
    if out.kind == "stream":
        kwargs = {} if binary else {"encoding": encoding, "newline": ""}
        with open(out.path, mode, **kwargs) as fh:
            yield fh
        return
    target = out.path
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        old_mode = stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        old_mode = 0o666 & ~_umask()
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    kwargs = {} if binary else {"encoding": encoding, "newline": ""}
    try:
        with os.fdopen(fd, mode, **kwargs) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, old_mode)
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
    if out.exists() and not out.is_dir():
        raise OutputError(out, "is a file; a model is written as a folder")
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


# --------------------------------------------------------------------------- spreadsheets
def neutralise_formula(value):
    """A CSV cell that a spreadsheet would run as a formula, made inert (OWASP: prefix ``'``)."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def text_cells_as_text(workbook) -> None:
    """Store every text cell of an openpyxl workbook as text: a string starting with ``=`` is
    otherwise written as a live formula."""
    for ws in workbook.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.data_type == "f" and isinstance(cell.value, str):
                    cell.data_type = "s"


def write_xlsx_rows(rows: Sequence[dict], fh, sheet: str = "sentences", columns: Sequence[str] | None = None) -> None:
    from openpyxl import Workbook

    cols = list(columns or _columns(rows))
    wb = Workbook(write_only=False)
    ws = wb.active
    ws.title = sheet
    ws.append(cols)
    for r in rows:
        ws.append([r.get(c) for c in cols])
    text_cells_as_text(wb)
    wb.save(fh)


def _columns(rows: Sequence[dict]) -> list[str]:
    cols: list[str] = []
    seen: set[str] = set()
    for r in rows:
        for k in r:
            if k not in seen:
                seen.add(k)
                cols.append(k)
    return cols


# --------------------------------------------------------------------------- streamed rows
ROW_FORMATS = ("jsonl", "csv", "xlsx", "text")  # text: rows are lines (lawgov split --format text)


def _csv_value(v):
    if v is None:
        return ""
    if isinstance(v, bool):
        return "True" if v else "False"
    return neutralise_formula(v) if isinstance(v, str) else v


class RowWriter:
    """Append tagged rows document by document; each finished document is on disk before the next.

    JSONL and CSV go straight to the output (flushed and fsynced per document; to stdout, a FIFO or
    a device as they come). XLSX cannot be appended to: rows go to a journal beside the output
    (``.<name>.journal.jsonl``) and the workbook is written from it, atomically, by :meth:`close`
    — also after Ctrl-C; after a kill, ``--resume`` reads the journal back.

    ``existing`` are rows already in the output that stay (from ``--resume``): the output is
    rewritten with them first, which also drops a truncated last line.
    """

    def __init__(self, out: Output, fmt: str, existing: Sequence[dict] = ()):
        if fmt not in ROW_FORMATS:
            raise OutputError(out.given, f"unknown output format {fmt!r}; use {', '.join(ROW_FORMATS)}")
        self.out, self.fmt = out, fmt
        self.n_rows = 0
        self._columns: list[str] | None = None
        self._fh = None
        self._journal: Path | None = None
        existing = list(existing)
        if fmt == "xlsx":
            if out.kind == "stdout":
                self._rows: list[dict] = []
            else:
                self._journal = journal_path(out)
                with atomic_write(Output(self._journal, "file", str(self._journal))) as fh:
                    for r in existing:
                        fh.write(json.dumps(r, ensure_ascii=False) + "\n")
                self._fh = open(self._journal, "a", encoding="utf-8")
            self._pending_existing = existing
            self.n_rows = len(existing)
            return
        if out.kind == "stdout":
            self._fh = sys.stdout
        elif out.kind == "stream":
            self._fh = open(out.path, "w", encoding="utf-8-sig" if fmt == "csv" else "utf-8", newline="")
        else:
            if existing:  # keep what is finished, drop anything half-written, atomically
                with atomic_write(out, encoding="utf-8-sig" if fmt == "csv" else "utf-8") as fh:
                    self._write(fh, existing)
                self._fh = open(out.path, "a", encoding="utf-8", newline="")
            else:
                self._fh = open(out.path, "w", encoding="utf-8-sig" if fmt == "csv" else "utf-8", newline="")
        if existing and out.kind != "file":
            self._write(self._fh, existing)
        self.n_rows = len(existing)

    def _write(self, fh, rows: Sequence[dict]) -> None:
        if self.fmt == "text":
            for r in rows:
                fh.write(f"{r}\n")
            return
        if self.fmt == "jsonl":
            for r in rows:
                fh.write(json.dumps(r, ensure_ascii=False) + "\n")
            return
        if self._columns is None and rows:
            self._columns = _columns(rows)
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(self._columns)
        w = csv.writer(fh, lineterminator="\n")
        for r in rows:
            w.writerow([_csv_value(r.get(c)) for c in self._columns])

    def write_document(self, rows: Sequence[dict]) -> None:
        """Append one finished document's rows; they are on disk when this returns."""
        rows = list(rows)
        if self.fmt == "xlsx":
            if self._fh is None:
                self._rows.extend(rows)
            else:
                for r in rows:
                    self._fh.write(json.dumps(r, ensure_ascii=False) + "\n")
                self._sync()
        else:
            if self._columns is None and self.fmt == "csv" and self.n_rows:
                self._columns = _columns(rows)  # the header is already in the kept file
            self._write(self._fh, rows)
            self._sync()
        self.n_rows += len(rows)

    def _sync(self) -> None:
        self._fh.flush()
        if self.out.kind == "file":
            with contextlib.suppress(OSError):
                os.fsync(self._fh.fileno())

    def close(self) -> None:
        """Finish the output (XLSX: write the workbook from the journal, then remove the journal)."""
        if self.fmt == "xlsx":
            if self._fh is not None:
                self._fh.close()
                rows = read_jsonl_rows(self._journal)
            else:
                rows = self._rows
            with atomic_write(self.out, mode="wb", encoding=None) as fh:
                write_xlsx_rows(rows, fh)
            if self._journal is not None:
                with contextlib.suppress(OSError):
                    self._journal.unlink()
            self._fh = None
            return
        if self._fh is not None and self._fh is not sys.stdout:
            self._fh.close()
        elif self._fh is sys.stdout:
            sys.stdout.flush()
        self._fh = None


def journal_path(out: Output) -> Path:
    return out.path.with_name(f".{out.path.name}.journal.jsonl")


# --------------------------------------------------------------------------- reading rows back
def read_jsonl_rows(path: Path) -> list[dict]:
    """Rows of a JSONL output; a truncated last line (a killed run) is dropped, a bad line elsewhere is an error."""
    rows: list[dict] = []
    with open(path, encoding="utf-8-sig") as fh:
        lines = fh.read().split("\n")
    # the last element is "" after a final newline, or a partial line after a kill
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            if n == len(lines):  # no newline after it: the write was cut off
                break
            raise OutputError(path, f"line {n} is not valid JSON ({e.msg}); not an output of lawgov tag?") from e
        if not isinstance(obj, dict):
            raise OutputError(path, f"line {n} is not a JSON object; not an output of lawgov tag?")
        rows.append(obj)
    return rows


def read_rows(out: "Output | str | os.PathLike", fmt: str) -> list[dict]:
    """Rows of an earlier output (for ``--resume``). CSV and XLSX cells are read as text, so a doc id
    ``001`` stays ``001`` and the text ``nan`` stays ``nan``; an XLSX journal left by a killed run
    is read too."""
    if not isinstance(out, Output):
        out = resolve_output(out, check_writable=False)
    if out.kind != "file":
        raise OutputError(out.given, "--resume needs a regular output file to read back")
    rows: list[dict] = []
    if out.path.exists() and out.path.stat().st_size:
        if fmt == "jsonl":
            rows = read_jsonl_rows(out.path)
        elif fmt == "csv":
            with open(out.path, encoding="utf-8-sig", newline="") as fh:
                text = fh.read()
            if text and not text.endswith("\n"):  # a row cut off by a kill
                text = text[: text.rfind("\n") + 1]
            rows = [dict(r) for r in csv.DictReader(io.StringIO(text))]
        elif fmt == "xlsx":
            from openpyxl import load_workbook

            try:
                wb = load_workbook(out.path, read_only=True, data_only=False)
            except Exception as e:  # noqa: BLE001 - a damaged or foreign workbook
                raise OutputError(out.given, f"cannot read the workbook back ({type(e).__name__}: {e})") from e
            ws = wb["sentences"] if "sentences" in wb.sheetnames else wb.worksheets[0]
            it = ws.iter_rows(values_only=True)
            header = [str(h) for h in next(it, [])]
            for vals in it:
                rows.append({h: ("" if v is None else str(v)) for h, v in zip(header, vals)})
            wb.close()
        else:
            raise OutputError(out.given, f"unknown output format {fmt!r}")
    if fmt == "xlsx" and journal_path(out).exists():
        seen = {(r.get("path"), str(r.get("index"))) for r in rows}
        rows += [r for r in read_jsonl_rows(journal_path(out)) if (r.get("path"), str(r.get("index"))) not in seen]
    return rows


# --------------------------------------------------------------------------- one run per output
@contextlib.contextmanager
def output_lock(out: Output) -> Iterator[None]:
    """Hold an exclusive lock for one output file; a second run on the same output is refused."""
    if out.kind != "file":
        yield
        return
    import fcntl

    lock = out.path.with_name(f".{out.path.name}.lock")
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise OutputError(out.given, "another lawgov run is writing this output now; wait for it to finish "
                                         "or choose another output file") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        try:
            yield
        finally:
            with contextlib.suppress(OSError):
                os.unlink(lock)
    finally:
        os.close(fd)
