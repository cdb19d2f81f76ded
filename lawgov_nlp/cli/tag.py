"""``lawgov tag``: every sentence of the reports with its dimension and role, streamed to a file."""
from __future__ import annotations

from enum import Enum
from typing import List, Optional

import typer

from .common import (BACKEND_HELP, EXACT_HELP, EXIT_FAILED_INPUT, EXIT_INTERRUPTED, EXIT_USAGE, FAST_HELP, Console, bar,
                     collect, load_model, path_options, progress_option, row_format, user_errors)


class TagFormat(str, Enum):
    jsonl = "jsonl"
    csv = "csv"
    xlsx = "xlsx"


def tag(
    paths: List[str] = typer.Argument(..., help="Report files, folders or glob patterns (.txt .html .docx .pdf)."),
    output: str = typer.Option(..., "--output", "-o", help="Output file: .jsonl, .csv or .xlsx (- for JSONL on stdout)."),
    format: Optional[TagFormat] = typer.Option(None, "--format", "-f", help="Output format (default: from the extension)."),
    model: Optional[str] = typer.Option(None, "--model", "-m",
                                        help="Model directory, a shipped model's name (baseline-tfidf) or 'keywords' "
                                             "(default: the shipped model)."),
    fast: bool = typer.Option(False, "--fast/--no-fast", help=FAST_HELP),
    exact: bool = typer.Option(False, "--exact", help=EXACT_HELP),
    backend: str = typer.Option("torch", "--backend", help=BACKEND_HELP),
    resume: bool = typer.Option(False, "--resume", help="Keep documents already finished in OUTPUT and tag only the others."),
    batch_size: int = typer.Option(32, min=1, help="Sentences per forward pass."),
    threads: Optional[int] = typer.Option(None, min=1, help="CPU threads (default: the free cores this process may use, at most 8)."),
    progress: bool = progress_option(),
) -> None:
    """Tag every sentence of the reports with its dimension and role.

    One row per sentence: document, offsets, section path, text, dimension (with all per-class
    probabilities), secondary dimensions, role, is_problem and its probability. Each finished
    document is written before the next one (XLSX: from a journal at the end, and on Ctrl-C), so a
    crash or a kill loses at most the documents being tagged. Unreadable files, and files that
    fail in any other way, are reported (name, reason) and skipped; the exit status is 1 when any
    input failed, 2 when nothing could be done (bad output, model), 130 on Ctrl-C (`--resume`
    continues from there). The output is checked before the model is loaded, is never one of the
    inputs, and is locked: a second run on it is refused. CSV cells that a spreadsheet would run
    as formulas get a leading ' (OWASP); XLSX stores text as text; JSONL keeps the text as it is.
    """
    from ..engines.local import (completed_documents, describe_exception, read_documents, read_one, same_file_key,
                                 tag_to_writer)
    from ..errors import LawgovError, ReadError
    from ..output import RowWriter, output_lock, read_rows, resolve_output

    console = Console(quiet=not progress)
    fmt = row_format(output, format.value if format else None)
    files, problems = collect(paths, console)
    failed = len(problems)
    with user_errors():
        # before any work: an output that is an input, a folder or cannot be written fails at once
        out = resolve_output(output, inputs=files)
    with user_errors(), output_lock(out):
        existing: list[dict] = []
        if resume:
            def sentences_in(path: str) -> int | None:
                try:
                    return len(read_one(path).sentences)
                except ReadError:
                    return None

            existing, done = completed_documents(read_rows(out, fmt), sentences_in)
            before = len(files)
            files = [f for f in files if same_file_key(f) not in done]
            console.info(f"resume: {len(done)} document(s) already finished in {out}; "
                         f"{before - len(files)} skipped, {len(files)} to tag")
        writer = RowWriter(out, fmt, existing=existing)

        def on_error(path: str, reason: str) -> None:
            nonlocal failed
            failed += 1
            console.input_error(path, reason)

        fbar = bar(len(files), "files", "file", console.quiet, 0)
        sbar = bar(None, "sentences", "sent", console.quiet, 1)

        def load():  # only when the first document needs it: nothing to tag, no model loaded
            return load_model(model, console, **path_options(fast, exact, backend), batch_size=batch_size, threads=threads)

        def write(d) -> None:
            try:
                rows = d.to_records()
                for r in rows:
                    r["path"] = d.path
            except Exception as e:  # noqa: BLE001 - one bad document must not stop the batch
                on_error(str(d.path or d.doc_id), describe_exception(e))
                return
            writer.write_document(rows)

        def docs():
            for d in read_documents(files, on_error):
                if d.suspicious:
                    console.warn(f"{d.path}: {len(d.suspicious)} garbled span(s), e.g. offset {d.suspicious[0].start}")
                yield d
                fbar.update(1)

        interrupted = False
        ok = False
        try:
            tag_to_writer(load, docs(), write, on_error, batch_sentences=max(64, 4 * batch_size),
                          progress=sbar.update)
            ok = True
        except KeyboardInterrupt:
            interrupted = ok = True
        except OSError as e:
            if isinstance(e, LawgovError):
                raise
            console.error(f"cannot write {out} ({e.strerror or e}); the documents finished before are saved")
            raise typer.Exit(EXIT_USAGE)
        finally:
            fbar.close()
            sbar.close()
            writer.close(create=ok)  # a run that could not start (no model) leaves an old output as it was
    console.info(f"{out}: {writer.n_rows} sentences written")
    if interrupted:
        console.error(f"interrupted: the {writer.n_rows} sentences of every finished document are saved in {out}; "
                      "run again with --resume to continue")
        raise typer.Exit(EXIT_INTERRUPTED)
    if failed:
        console.error(f"{failed} input(s) failed")
        raise typer.Exit(EXIT_FAILED_INPUT)
