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
* :func:`neutralise_formula` is the CSV defence against spreadsheet formula injection, as the
  OWASP "CSV Injection" page describes it: a text cell that starts with ``=``, ``+``, ``-``, ``@``,
  a tab or a carriage return gets a leading ``'``, so a spreadsheet shows it as text instead of
  running it (the ``csv`` module quotes cells holding separators, quotes or line breaks). A cell
  that already starts with ``'`` gets one more, so :func:`restore_formula` (used when lawgov
  reads its own CSV back: ``--resume``, ``data convert --from csv``) gives back the exact text.
  XLSX text cells are stored as text (inline strings), never as formulas, and characters that
  XLSX cannot hold (C0 controls) become U+FFFD. JSONL is left unchanged: it is for programs.
* :func:`atomic_directory` builds a directory beside its final name and swaps it in.
"""
from __future__ import annotations

import codecs
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
QUOTE_PREFIX = "'"


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
    try:
        st = p.stat()  # follows symlinks: what the output really is
    except FileNotFoundError:  # a new file, or a symlink whose target does not exist yet
        st = None
    except NotADirectoryError:  # a file where a folder should be: reported by the writability check
        st = None
    except OSError as e:
        raise OutputError(given, f"cannot use this output ({e.strerror or e})") from e
    if st is not None and (stat.S_ISFIFO(st.st_mode) or stat.S_ISCHR(st.st_mode)):
        # written through (opening follows the link), never replaced: -o /dev/stdout, a named pipe
        return Output(p, "stream", given)
    # a regular file is replaced atomically; for a symlink that is its target, and the link stays.
    # The real path also gives one lock and one journal however the file is named (sub/../t.csv).
    target = Path(os.path.realpath(p))
    if st is not None:
        if stat.S_ISDIR(st.st_mode):
            raise OutputError(given, "is a folder; give a file name for the output")
        if not stat.S_ISREG(st.st_mode):
            raise OutputError(given, "is not a regular file, FIFO or character device; refusing to replace it")
        for i in inputs:
            try:
                same = os.path.samefile(target, i)
            except OSError:  # an input that vanished cannot be overwritten
                continue
            if same:
                raise OutputError(given, f"is the input {os.fspath(i)}; refusing to overwrite a report with "
                                         "the output (choose another output file)")
    if check_writable:
        _check_writable(target, given)
    return Output(target, "file", given)


def resolve_folder(path: str | os.PathLike) -> Path:
    """Check (and create) a folder output before any work is done: a file there is refused."""
    given = os.fspath(path)
    p = Path(given).expanduser()
    if (p.exists() or p.is_symlink()) and not p.is_dir():
        raise OutputError(given, "is a file, not a folder; a sharded output is a folder (or give a .jsonl file)")
    _check_writable(Path(os.path.realpath(p)) / ".lawgov-probe", given)
    return Path(os.path.realpath(p))


def _check_writable(target: Path, given: str) -> None:
    parent = target.parent
    for up in (parent, *parent.parents):  # a regular file where a folder of the path should be
        if up.exists() or up.is_symlink():
            if not up.is_dir():
                raise OutputError(given, f"cannot write here: {up} is a file, not a folder")
            break
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


def atomic_save(path: "str | os.PathLike | Output", obj) -> Path:
    """Write a document object that saves itself to a stream (an openpyxl Workbook, a python-docx
    Document) atomically: it is saved to memory first, so a failed save leaves ``path`` as it was."""
    buf = io.BytesIO()
    obj.save(buf)
    with atomic_write(path, mode="wb", encoding=None) as fh:
        fh.write(buf.getvalue())
    return Path(path.path if isinstance(path, Output) else path)


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
    """A CSV cell that a spreadsheet would run as a formula, made inert (OWASP "CSV Injection").

    A string starting with ``= + - @``, a tab or a carriage return gets a leading ``'`` (Excel and
    LibreOffice then show the text and run nothing); a string that already starts with ``'`` gets
    one more, so that :func:`restore_formula` is its exact inverse. Other values are unchanged.
    """
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES + (QUOTE_PREFIX,)):
        return QUOTE_PREFIX + value
    return value


def restore_formula(value):
    """The text a CSV cell written with :func:`neutralise_formula` held (one leading ``'`` removed)."""
    if isinstance(value, str) and value.startswith(QUOTE_PREFIX):
        return value[1:]
    return value


def xlsx_text(value):
    """A value an XLSX cell can hold: C0 control characters (not allowed in the file format, openpyxl
    refuses them) become U+FFFD; everything else is unchanged."""
    if isinstance(value, str):
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

        return ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)
    return value


def text_cells_as_text(workbook) -> None:
    """Store every text cell of an openpyxl workbook as text: openpyxl otherwise writes a string
    starting with ``=`` as a live formula (``=HYPERLINK(...)`` in a sentence would become a link
    that sends data away). Call it just before saving."""
    for ws in workbook.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.data_type == "f" and isinstance(cell.value, str):
                    cell.data_type = "s"


def write_xlsx_rows(rows: Sequence[dict], fh, sheet: str = "sentences", columns: Sequence[str] | None = None) -> None:
    """One sheet of rows (openpyxl's streaming write-only mode); text is stored as text (see
    :func:`text_cells_as_text`) and made cell-safe (:func:`xlsx_text`)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    cols = list(columns or _columns(rows))
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(sheet)

    def cell(v):
        v = xlsx_text(v)
        if isinstance(v, str) and v.startswith("="):  # openpyxl would store it as a formula
            c = WriteOnlyCell(ws, v)
            c.data_type = "s"
            return c
        return v

    ws.append([cell(c) for c in cols])
    for r in rows:
        ws.append([cell(r.get(c)) for c in cols])
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

    JSONL and CSV go straight to the output, one write and one flush (and fsync) per document; to
    stdout, a FIFO or a device as they come. The cost is linear in documents, and a kill loses at
    most the document being written. XLSX cannot be appended to: rows go to a journal beside the
    output (``.<name>.journal.jsonl``) and the workbook is written from it, atomically, by
    :meth:`close` — also after Ctrl-C; after a kill, ``--resume`` reads the journal back.

    A document whose write was interrupted (Ctrl-C) is cut off again by :meth:`close`, so the file
    holds whole documents only. Nothing is opened before the first document (or :meth:`close`): a
    run that fails before it has anything to write (the model cannot be loaded) leaves an earlier
    output as it was.

    ``existing`` are rows already in the output that stay (from ``--resume``): the output is
    rewritten with them first, atomically, which also drops a truncated last line.
    """

    def __init__(self, out: Output, fmt: str, existing: Sequence[dict] = ()):
        if fmt not in ROW_FORMATS:
            raise OutputError(out.given, f"unknown output format {fmt!r}; use {', '.join(ROW_FORMATS)}")
        self.out, self.fmt = out, fmt
        self._existing = list(existing)
        self.n_rows = len(self._existing)
        self._columns: list[str] | None = None
        self._fh = None              # binary, except sys.stdout
        self._opened = self._closed = False
        self._bom = False            # a CSV file started here: its first bytes are the BOM Excel needs
        self._good = 0               # bytes of whole documents in a regular file or the journal
        self._pending: tuple[int, int, int] | None = None  # (start, end, rows) of the document being written
        self._journal: Path | None = None
        self._rows: list[dict] = []  # XLSX to stdout or a stream: kept in memory until close

    # ------------------------------------------------------------------ opening
    def _open(self) -> None:
        self._opened = True
        out, existing = self.out, self._existing
        text_encoding = "utf-8-sig" if self.fmt == "csv" else "utf-8"
        if self.fmt == "xlsx":
            if out.kind == "file":
                self._journal = journal_path(out)
                with atomic_write(Output(self._journal, "file", str(self._journal))) as fh:
                    fh.write(self._render(existing))
                self._fh = open(self._journal, "ab")
                self._good = os.fstat(self._fh.fileno()).st_size
            else:
                self._rows.extend(existing)
            return
        if out.kind == "stdout":
            self._fh = sys.stdout
        elif out.kind == "stream":
            self._fh = open(out.path, "wb")
            self._bom = self.fmt == "csv"
        elif existing:  # keep what is finished, drop anything half-written, atomically
            with atomic_write(out, encoding=text_encoding) as fh:
                fh.write(self._render(existing))
            self._fh = open(out.path, "ab")
            self._good = os.fstat(self._fh.fileno()).st_size
            return
        else:
            self._fh = open(out.path, "wb")
            self._bom = self.fmt == "csv"
        if existing:
            self._emit(self._render(existing))

    def _render(self, rows: Sequence) -> str:
        """One document's rows as text (XLSX: its journal lines)."""
        if not rows:
            return ""
        if self.fmt == "text":
            return "".join(f"{r}\n" for r in rows)
        if self.fmt in ("jsonl", "xlsx"):
            return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        if self._columns is None:
            self._columns = _columns(rows)
            w.writerow([_csv_value(c) for c in self._columns])
        for r in rows:
            w.writerow([_csv_value(r.get(c)) for c in self._columns])
        return buf.getvalue()

    def _emit(self, text: str, n_rows: int = 0) -> None:
        """Write one document in one call, flush it and count its rows; a regular file is also fsynced."""
        if not text:
            self.n_rows += n_rows
            return
        if self._fh is sys.stdout:
            self._fh.write(text)
            self._fh.flush()
            self.n_rows += n_rows
            return
        data = text.encode("utf-8")
        if self._bom:
            data = codecs.BOM_UTF8 + data
        if self.out.kind != "file":
            self._fh.write(data)
            self._fh.flush()
            self._bom = False
            self.n_rows += n_rows
            return
        end = self._good + len(data)
        self._pending = (self._good, end, n_rows)
        self._fh.write(data)
        self._fh.flush()
        # no call in this statement: an interrupt comes before it (pending) or after it (done)
        self._good, self._pending, self.n_rows, self._bom = end, None, self.n_rows + n_rows, False
        with contextlib.suppress(OSError):
            os.fsync(self._fh.fileno())

    def _cut_unfinished(self) -> None:
        """After an interrupt inside :meth:`write_document`: keep the document if all its bytes got
        to the file, else cut the file back to the whole documents before it."""
        if self._pending is None or self._fh is None or self._fh is sys.stdout:
            return
        start, end, n = self._pending
        self._pending = None
        with contextlib.suppress(OSError, ValueError):
            self._fh.flush()
        try:
            size = os.fstat(self._fh.fileno()).st_size
        except (OSError, ValueError):
            return
        if size >= end:
            self._good = end
            self.n_rows += n
        else:
            os.ftruncate(self._fh.fileno(), start)

    # ------------------------------------------------------------------ writing
    def write_document(self, rows: Sequence[dict]) -> None:
        """Append one finished document's rows; they are on disk when this returns."""
        rows = list(rows)
        if not self._opened:
            self._open()
        if self._fh is None:  # XLSX to stdout or a stream
            self._rows.extend(rows)
            self.n_rows += len(rows)
        else:
            self._emit(self._render(rows), len(rows))

    def close(self, create: bool = True) -> None:
        """Finish the output (XLSX: write the workbook from the journal, then remove the journal).

        With ``create=False`` (a run that failed) an output that was never started is not created
        and an earlier one is left as it was; whatever was written stays.
        """
        if self._closed:
            return
        if not self._opened:
            if not create:
                self._closed = True
                return
            self._open()
        self._closed = True
        self._cut_unfinished()
        if self.fmt == "xlsx":
            if self._fh is not None:
                self._fh.close()
                self._fh = None
                rows = read_jsonl_rows(self._journal)
            else:
                rows = self._rows
            self.n_rows = len(rows)
            with atomic_write(self.out, mode="wb", encoding=None) as fh:
                write_xlsx_rows(rows, fh)
            if self._journal is not None:
                with contextlib.suppress(OSError):
                    self._journal.unlink()
                self._journal = None
            return
        if self._fh is sys.stdout:
            sys.stdout.flush()
        elif self._fh is not None:
            self._fh.close()
        self._fh = None


def journal_path(out: Output) -> Path:
    return out.path.with_name(f".{out.path.name}.journal.jsonl")


# --------------------------------------------------------------------------- a folder of shards
SHARD_FORMATS = ("jsonl", "parquet")
SHARD_PREFIX = "part-"


def shard_journal(path: Path) -> Path:
    """Where a Parquet shard's rows are journaled (JSONL, one finished document at a time) until it is built."""
    return path.with_name(f".{path.name}.journal.jsonl")


def rows_to_parquet(rows: Sequence[dict], path: Path) -> None:
    """A Parquet file of rows, written atomically (columns in the rows' order)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    cols = _columns(rows)
    # a metadata column is "" where the value was not found (``DocumentMetadata.columns``): in a column
    # whose found values are not text (doc_year), "" is a null, or Arrow cannot type the column
    blank = {c for c in cols
             if any(r.get(c) == "" for r in rows)
             and not any(isinstance(r.get(c), str) and r.get(c) != "" for r in rows)
             and any(r.get(c) not in ("", None) for r in rows)}
    table = pa.Table.from_pylist([{c: (None if c in blank and r.get(c) == "" else r.get(c)) for c in cols}
                                  for r in rows])
    with atomic_write(Output(path, "file", str(path)), mode="wb", encoding=None) as fh:
        pq.write_table(table, fh)


def build_parquet_shard(path: Path) -> None:
    """Turn a Parquet shard's journal into the shard, then remove the journal (an empty journal: no shard)."""
    journal = shard_journal(path)
    rows = read_jsonl_rows(journal)
    if rows:
        rows_to_parquet(rows, path)
    journal.unlink()


class ShardWriter:
    """Rows document by document into a folder of shards ``part-00000.jsonl`` (or ``.parquet``) …,
    a new shard every ``shard_rows`` rows or so (a document is never split across shards).

    JSONL shards are streamed with :class:`RowWriter` (each finished document on disk before the
    next). A Parquet shard cannot be appended to, so its rows go to a journal beside it
    (``.part-00000.parquet.journal.jsonl``, streamed the same way) and the shard is built from it,
    atomically, when it is full and by :meth:`close`; after a kill, ``--resume`` builds it from the
    journal. Shards already in the folder are kept: new ones are numbered after them.
    """

    def __init__(self, folder: Path, fmt: str = "jsonl", shard_rows: int = 100_000):
        if fmt not in SHARD_FORMATS:
            raise OutputError(folder, f"unknown shard format {fmt!r}; use {', '.join(SHARD_FORMATS)}")
        self.folder, self.fmt, self.shard_rows = Path(folder), fmt, shard_rows
        taken = [int(p.name[len(SHARD_PREFIX):].split(".")[0]) for p in self.folder.glob(f"{SHARD_PREFIX}*")
                 if p.name[len(SHARD_PREFIX):].split(".")[0].isdigit()]
        self._next = max(taken, default=-1) + 1
        self._writer: RowWriter | None = None
        self._shard: Path | None = None
        self.n_rows = 0
        self.shards: list[Path] = []

    def write_document(self, rows: Sequence[dict]) -> None:
        if self._writer is None:
            self._shard = self.folder / f"{SHARD_PREFIX}{self._next:05d}.{self.fmt}"
            self._next += 1
            file = shard_journal(self._shard) if self.fmt == "parquet" else self._shard
            self._writer = RowWriter(Output(file, "file", str(file)), "jsonl")
        before = self._writer.n_rows
        self._writer.write_document(rows)
        self.n_rows += self._writer.n_rows - before
        if self._writer.n_rows >= self.shard_rows:
            self._finish()

    def _finish(self) -> None:
        if self._writer is None:
            return
        self._writer.close()
        if self.fmt == "parquet":
            build_parquet_shard(self._shard)
        self.shards.append(self._shard)
        self._writer = self._shard = None

    def close(self, create: bool = True) -> None:  # ``create`` as for RowWriter: a folder has nothing to create
        self._finish()


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
    """Rows of an earlier output (for ``--resume``), exactly as written: CSV cells are read as text
    (no type guessing, so a doc id ``001`` stays ``001`` and the text ``nan`` stays ``nan``, and the
    formula guard's ``'`` is taken off), XLSX cells as the types they were stored with, and a cut-off
    last line or row is dropped. An XLSX journal left by a killed run is read too; an output that
    does not exist yet has no rows."""
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
            rows = [{restore_formula(k): restore_formula(v) for k, v in r.items()}
                    for r in csv.DictReader(io.StringIO(text))]
        elif fmt == "xlsx":
            from openpyxl import load_workbook

            try:
                wb = load_workbook(out.path, read_only=True, data_only=False)
            except Exception as e:  # noqa: BLE001 - a damaged or foreign workbook
                raise OutputError(out.given, f"cannot read the workbook back ({type(e).__name__}: {e})") from e
            ws = wb["sentences"] if "sentences" in wb.sheetnames else wb.worksheets[0]
            it = ws.iter_rows(values_only=True)
            header = [str(h) for h in next(it, [])]
            for vals in it:  # typed as stored: a text cell "001" stays "001", numbers stay numbers
                rows.append({h: v for h, v in zip(header, vals)})
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
    """Hold an exclusive lock for one output file while a run writes it; a second run on the same
    output (the same file, however it is named) is refused at once with a clear message.

    The lock is ``flock`` on ``.<name>.lock`` beside the output's real file; it is released when the
    run ends or dies (also on kill -9). Stdout, FIFOs and devices are not locked.
    """
    if out.kind != "file":
        yield
        return
    import fcntl

    lock = out.path.with_name(f".{out.path.name}.lock")
    while True:
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise OutputError(out.given, f"cannot create the lock file {lock} ({e.strerror or e})") from e
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise OutputError(out.given, "another lawgov run is writing this output now; wait for it to finish "
                                         "or choose another output file") from None
        # a run that just finished removes its lock file: a lock on that removed file guards nothing
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(lock))
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        with contextlib.suppress(OSError):
            os.unlink(lock)
        os.close(fd)
