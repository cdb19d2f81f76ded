"""``lawgov tag``: every sentence of the reports with its dimension and role, streamed to a file."""
from __future__ import annotations

from enum import Enum
from typing import List, Optional

import typer

from .common import (BACKEND_HELP, DRAFT_HELP, EXACT_HELP, EXIT_FAILED_INPUT, EXIT_INTERRUPTED, EXIT_USAGE, FAST_HELP, Console, bar,
                     collect, load_model, path_options, progress_option, row_format, run_and_close, user_errors)


class TagFormat(str, Enum):
    jsonl = "jsonl"
    csv = "csv"
    xlsx = "xlsx"
    parquet = "parquet"


class Engine(str, Enum):
    local = "local"
    ray = "ray"


def tag(
    paths: List[str] = typer.Argument(..., help="Report files, folders or glob patterns (.txt .html .docx .pdf)."),
    output: str = typer.Option(..., "--output", "-o", help="Output file: .jsonl, .csv or .xlsx (- for JSONL on stdout); "
                                                           "with --engine ray also a folder (sharded JSONL or Parquet)."),
    format: Optional[TagFormat] = typer.Option(None, "--format", "-f",
                                               help="Output format (default: from the extension; a folder: jsonl "
                                                    "shards, or parquet)."),
    model: Optional[str] = typer.Option(None, "--model", "-m",
                                        help="Model directory, a shipped model's name (baseline-tfidf) or 'keywords' "
                                             "(default: the shipped model)."),
    fast: bool = typer.Option(False, "--fast/--no-fast", help=FAST_HELP),
    exact: bool = typer.Option(False, "--exact", help=EXACT_HELP),
    backend: str = typer.Option("torch", "--backend", help=BACKEND_HELP),
    draft: Optional[bool] = typer.Option(None, "--draft/--no-draft", help=DRAFT_HELP),
    resume: bool = typer.Option(False, "--resume", help="Keep documents already finished in OUTPUT and tag only the others."),
    batch_size: int = typer.Option(32, min=1, help="Sentences per forward pass."),
    threads: Optional[int] = typer.Option(None, min=1, help="CPU threads (default: the free cores this process may use, "
                                                            "at most 8); with --engine ray, per actor (default 1)."),
    # "\\[ray]": the help is rich markup, where a bare [ray] is a tag and vanishes
    engine: Engine = typer.Option(Engine.local, "--engine", help="local: in this process; ray: a Ray Data pipeline "
                                                                 "(pip install \"lawgov-nlp\\[ray]\")."),
    address: Optional[str] = typer.Option(None, "--address", help="--engine ray: the cluster to join (host:port, or "
                                                                  "auto); default: a local runtime on 127.0.0.1."),
    actors: int = typer.Option(1, "--actors", min=1, help="--engine ray: tagging actors (each loads the model once)."),
    docs_per_batch: int = typer.Option(8, "--docs-per-batch", min=1,
                                       help="--engine ray: documents per task and per actor call."),
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

    --engine ray runs the same steps on Ray (read and segment in tasks, tag in a pool of --actors
    actors) on this machine or, with --address, on a cluster, and writes the same rows; beside
    them it writes each document's coverage numbers (NAME.summary.jsonl, or _summary.jsonl in a
    folder) and the inputs that failed (NAME.errors.jsonl / _errors.jsonl).
    """
    from ..engines.local import (completed_documents, describe_exception, document_rows, garbled_warning,
                                 read_documents, tag_to_writer)
    from ..output import RowWriter, output_lock, read_rows, resolve_output

    console = Console(quiet=not progress)
    if engine is Engine.ray:
        return _tag_ray(paths, output, format, model, path_options(fast, exact, backend, draft), resume, batch_size,
                        threads or 1, address, actors, docs_per_batch, console)
    if format is TagFormat.parquet:
        raise typer.BadParameter("parquet is for a folder of shards (--engine ray)", param_hint="--format")
    fmt = row_format(output, format.value if format else None)
    files, problems = collect(paths, console)
    failed = len(problems)
    with user_errors():
        # before any work: an output that is an input, a folder or cannot be written fails at once
        out = resolve_output(output, inputs=files)
    with user_errors(), output_lock(out):
        existing: list[dict] = []
        if resume:
            existing, done = completed_documents(read_rows(out, fmt), _sentences_in)
            files = _skip_done(files, done, out, console)
        writer = RowWriter(out, fmt, existing=existing)

        def on_error(path: str, reason: str) -> None:
            nonlocal failed
            failed += 1
            console.input_error(path, reason)

        fbar = bar(len(files), "files", "file", console.quiet, 0)
        sbar = bar(None, "sentences", "sent", console.quiet, 1)

        def load():  # only when the first document needs it: nothing to tag, no model loaded
            return load_model(model, console, **path_options(fast, exact, backend, draft), batch_size=batch_size, threads=threads)

        def write(d) -> None:
            try:
                rows = document_rows(d)
            except Exception as e:  # noqa: BLE001 - one bad document must not stop the batch
                on_error(str(d.path or d.doc_id), describe_exception(e))
                return
            writer.write_document(rows)

        def docs():
            for d in read_documents(files, on_error):
                if d.suspicious:
                    console.warn(garbled_warning(d))
                yield d
                fbar.update(1)

        def run() -> None:
            tag_to_writer(load, docs(), write, on_error, batch_sentences=max(64, 4 * batch_size), progress=sbar.update)

        interrupted = run_and_close(run, [writer], out, console, bars=(fbar, sbar))
    _final_status(writer.n_rows, out, interrupted, failed, console)


def _tag_ray(paths, output: str, format, model, load_options: dict, resume: bool, batch_size: int, threads: int,
             address, actors: int, docs_per_batch: int, console: Console) -> None:
    """``--engine ray``: the local engine's inputs, outputs, messages, resume and exit status, tagged on Ray;
    beside the rows, each document's coverage numbers and the inputs that failed."""
    import os
    from pathlib import Path

    from ..engines.local import completed_documents, same_file_key
    from ..engines.ray_data import require_ray, resume_shards, run_files
    from ..errors import LawgovError, ModelError
    from ..models.registry import read_manifest, resolve
    from ..output import (SHARD_FORMATS, RowWriter, ShardWriter, output_lock, read_jsonl_rows, read_rows,
                          resolve_folder, resolve_output)

    with user_errors():
        require_ray()
    folder = output != "-" and (output.endswith(("/", os.sep)) or Path(output).is_dir() or not Path(output).suffix)
    if folder:
        fmt = format.value if format else "jsonl"
        if fmt not in SHARD_FORMATS:
            raise typer.BadParameter(f"a folder output holds {' or '.join(SHARD_FORMATS)} shards",
                                     param_hint="--format")
    elif format is TagFormat.parquet:
        raise typer.BadParameter("parquet is written as a folder of shards: give a folder as --output",
                                 param_hint="--format")
    else:
        fmt = row_format(output, format.value if format else None)
    try:  # the model is checked here, once, before the cluster is asked for anything
        target = resolve(model)
        if target != "keywords":
            man, _ = read_manifest(target)
            if load_options.get("draft"):  # as the actors' loader will: no draft, or one made for other weights
                import warnings

                from ..models.draft import read_draft

                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    usable = read_draft(Path(target), man.config or {}, man.weights or {}, None)
                if usable is None and not (man.config or {}).get("draft"):
                    raise ModelError(f"{target}: has no draft encoder for --draft (training/distill.py makes one)")
                if usable is None:
                    raise ModelError(f"{target}: its draft encoder was made for other weights, so there is none "
                                     "for --draft (run training/distill.py again to make one for these)")
    except LawgovError as e:
        console.error(f"cannot load the model{' ' + str(model) if model else ''}: {e}")
        raise typer.Exit(EXIT_USAGE)
    if model and Path(model).expanduser().exists():  # workers do not share this working directory
        model = str(Path(model).expanduser().resolve())
    files, problems = collect(paths, console)
    failed = len(problems)
    with user_errors():
        if folder:
            out_dir = resolve_folder(output)
            out = summary_out = resolve_output(out_dir / "_summary.jsonl", inputs=files)
            errors_out = resolve_output(out_dir / "_errors.jsonl", inputs=files)
        else:
            out = resolve_output(output, inputs=files)
            side = (lambda what: resolve_output(out.path.with_name(f"{out.path.stem}.{what}.jsonl"), inputs=files)
                    if out.is_file else None)
            summary_out, errors_out = side("summary"), side("errors")
    with user_errors(), output_lock(out):
        existing: list[dict] = []
        done: set[str] = set()
        if resume:
            if folder:
                done = resume_shards(out_dir, _sentences_in)
            else:
                existing, done = completed_documents(read_rows(out, fmt), _sentences_in)
            files = _skip_done(files, done, output, console)
        rows_out = ShardWriter(out_dir, fmt) if folder else RowWriter(out, fmt, existing=existing)
        writers = [rows_out]
        summaries = errors = None
        if summary_out is not None:
            kept: dict[str, dict] = {}  # a document finished in the rows keeps its summary (the last one written)
            if resume and summary_out.exists:
                for r in read_jsonl_rows(summary_out.path):
                    if same_file_key(r.get("path") or "") in done:
                        kept[same_file_key(r["path"])] = r
            summaries = RowWriter(summary_out, "jsonl", existing=list(kept.values()))
            errors = RowWriter(errors_out, "jsonl")
            writers += [summaries, errors]
            for p in problems:
                errors.write_document([{"path": p.path, "reason": p.reason}])

        def on_error(path: str, reason: str) -> None:
            nonlocal failed
            failed += 1
            console.input_error(path, reason)
            if errors is not None:
                errors.write_document([{"path": path, "reason": reason}])

        dbar = bar(len(files), "documents", "doc", console.quiet, 0)

        def write(finished) -> None:
            if summaries is not None:  # first: a document in the rows always has its summary
                summaries.write_document([finished.summary])
            rows_out.write_document(finished.rows)
            dbar.update(1)

        def run() -> None:
            try:
                run_files(files, write, on_error, model=model, address=address, actors=actors, threads=threads,
                          batch_size=batch_size, docs_per_batch=docs_per_batch, load_options=load_options,
                          on_warning=console.warn)
            except (KeyboardInterrupt, LawgovError):
                raise
            except Exception as e:  # noqa: BLE001 - Ray's own failures (cluster lost, a worker killed)
                first = str(e).strip().splitlines()[0] if str(e).strip() else ""
                console.error(f"the Ray job failed ({type(e).__name__}: {first}); the documents finished before "
                              f"are saved in {output}; run again with --resume to continue")
                raise typer.Exit(EXIT_USAGE)

        interrupted = run_and_close(run, writers, output, console, bars=(dbar,))
    _final_status(rows_out.n_rows, output, interrupted, failed, console)


def _sentences_in(path: str) -> int | None:
    """How many sentences a file has now (how ``--resume`` knows whether the last document was finished)."""
    from ..engines.local import read_one
    from ..errors import ReadError

    try:
        return len(read_one(path).sentences)
    except ReadError:
        return None


def _skip_done(files, done: set[str], out, console: Console) -> list:
    from ..engines.local import same_file_key

    todo = [f for f in files if same_file_key(f) not in done]
    console.info(f"resume: {len(done)} document(s) already finished in {out}; "
                 f"{len(files) - len(todo)} skipped, {len(todo)} to tag")
    return todo


def _final_status(n_rows: int, out, interrupted: bool, failed: int, console: Console) -> None:
    console.info(f"{out}: {n_rows} sentences written")
    if interrupted:
        console.error(f"interrupted: the {n_rows} sentences of every finished document are saved in {out}; "
                      "run again with --resume to continue")
        raise typer.Exit(EXIT_INTERRUPTED)
    if failed:
        console.error(f"{failed} input(s) failed")
        raise typer.Exit(EXIT_FAILED_INPUT)
