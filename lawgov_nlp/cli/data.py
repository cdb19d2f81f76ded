"""``lawgov data …``: validate, count and convert annotated files."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from .common import Console, progress_option, user_errors

app = typer.Typer(no_args_is_help=True, help="Validate, count and convert annotated sentence files.")

_FMT_HELP = "jsonl (project format), labelstudio (.json tasks), doccano (.jsonl), csv; default from the extension"


def _scheme(path: Optional[str]):
    from ..errors import SchemeError
    from ..scheme import load_scheme

    try:
        return load_scheme(path)
    except SchemeError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2)


def _print_problems(f, problems, err: bool = False) -> None:
    for p in problems:
        where = f"{f}:{p.line}" if p.task is None and p.line else (f"{f}: task {p.task}" if p.task is not None else str(f))
        typer.echo(f"{where}: {p.field}: {p.message}", err=err)


@app.command()
def validate(
    files: List[Path] = typer.Argument(..., help="Annotated files: JSONL in the project format, a Label Studio "
                                                 "export (.json), doccano JSONL or CSV."),
    scheme: Optional[str] = typer.Option(None, help="Label scheme file (default: the shipped zh-2021)."),
    format: Optional[str] = typer.Option(None, "--format", "-f", help=_FMT_HELP),
    progress: bool = progress_option("The per-file summary on stderr (--no-progress / --quiet / -q: problems only)."),
) -> None:
    """Report every problem (line or Label Studio task, field, problem) and exit 1 if there is any.

    Problems: an empty file, missing ids, empty text, unknown labels, duplicate sentence ids, the
    same text in the same section labelled differently, and in a Label Studio export a task no
    one annotated. Given several files (train, dev, test), also a document in more than one of
    them and conflicting labels across them.
    """
    import os

    from ..data import FORMATS, CorpusError, check_splits, validate_any

    console = Console(quiet=not progress)
    if format and format not in FORMATS:
        console.error(f"unknown format {format!r}; choose from {', '.join(FORMATS)}")
        raise typer.Exit(2)
    sc = _scheme(scheme)
    bad = 0
    loaded: dict[str, list] = {}
    seen: list[Path] = []
    for f in files:
        if any(_same_file(f, g) for g in seen):
            console.warn(f"{f}: given twice; validated once")
            continue
        seen.append(f)
        try:
            records, problems = validate_any(f, sc, format)
        except CorpusError as e:
            _print_problems(f, e.problems)
            bad += 1
            continue
        except OSError as e:
            typer.echo(f"{f}: cannot read ({e.strerror or e})", err=True)
            bad += 1
            continue
        _print_problems(f, problems)
        status = "ok" if not problems else f"{len(problems)} problem(s)"
        console.info(f"{f}: {len(records)} sentences, {len({r.get('doc_id') for r in records})} documents: {status}")
        bad += bool(problems)
        loaded[os.fspath(f)] = records
    if len(loaded) > 1:
        across = check_splits(loaded)
        for p in across:
            typer.echo(f"{p.field}: {p.message}")
        if across:
            console.info(f"{len(across)} problem(s) across the files")
            bad += 1
    if bad:
        raise typer.Exit(1)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.samefile(b)
    except OSError:
        return False


@app.command()
def stats(
    files: List[Path] = typer.Argument(..., help="Annotated files (any supported format)."),
    scheme: Optional[str] = typer.Option(None, help="Label scheme file."),
    format: Optional[str] = typer.Option(None, "--format", "-f", help=_FMT_HELP),
) -> None:
    """Print dimension × role counts (and documents, sentences, script mix)."""
    import pandas as pd

    from ..data import label_counts, read_any

    sc = _scheme(scheme)
    records = []
    with user_errors(1):
        for f in files:
            records.extend(read_any(f, format))
    df = label_counts(records, sc)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        typer.echo(df.to_string())
    docs = {r.get("doc_id") for r in records}
    typer.echo(f"\n{len(records)} sentences in {len(docs)} documents")
    scripts = pd.Series([r.get("script") for r in records if r.get("script")])
    if len(scripts):
        typer.echo("script: " + ", ".join(f"{k} {v} ({v / len(records):.1%})" for k, v in scripts.value_counts().items()))


@app.command()
def convert(
    src: Path = typer.Argument(..., help="Input file (the JSONL or CSV that lawgov tag writes is read as pre-annotations)."),
    dst: Path = typer.Argument(..., help="Output file (written atomically; never the input)."),
    from_: Optional[str] = typer.Option(None, "--from", help=_FMT_HELP),
    to: Optional[str] = typer.Option(None, "--to", help=_FMT_HELP),
    scheme: Optional[str] = typer.Option(None, help="Label scheme for validation."),
    check: bool = typer.Option(True, help="Validate labels of the converted records (unlabelled rows are allowed)."),
    progress: bool = progress_option("The record count on stderr (--no-progress / --quiet / -q: problems only)."),
) -> None:
    """Convert between the project format, Label Studio, doccano and CSV, keeping label names.

    ``lawgov tag`` output converts to Label Studio tasks whose predictions carry the model's
    labels and scores (pre-annotations to correct), or to doccano. CSV cells that a spreadsheet
    would run as formulas get a leading ' (OWASP), removed again when the CSV is read back.
    """
    from ..data import FORMATS, read_any, validate_records, write_any
    from ..output import resolve_output

    console = Console(quiet=not progress)
    for f in (from_, to):
        if f and f not in FORMATS:
            console.error(f"unknown format {f!r}; choose from {', '.join(FORMATS)}")
            raise typer.Exit(2)
    with user_errors():
        out = resolve_output(dst, inputs=[src])  # not the input, and writable, before reading
    with user_errors(1):
        records = read_any(src, from_)
    if check:
        sc = _scheme(scheme)
        labelled = [r for r in records if r.get("dimension") or r.get("role")]
        problems = validate_records(labelled, sc, conflicts=False)  # labels a tool accepts; conflicts: data validate
        _print_problems(src, problems, err=True)
        if problems:
            raise typer.Exit(1)
    with user_errors():
        write_any(records, out, to)
    console.info(f"{dst}: {len(records)} records")


@app.command("labelstudio-config")
def labelstudio_config(scheme: Optional[str] = typer.Option(None, help="Label scheme file.")) -> None:
    """Print the Label Studio labeling-interface XML for the scheme (dimension, role, secondary)."""
    from ..data import label_studio_config

    typer.echo(label_studio_config(_scheme(scheme)))


@app.command()
def suggest(
    inputs: List[str] = typer.Argument(..., help="Unlabelled reports (files, folders, globs: .txt .html .docx .pdf), "
                                                 "unlabelled JSONL/CSV records, or the JSONL/CSV that lawgov tag wrote."),
    n: int = typer.Option(..., "-n", "--number", min=1, help="How many sentences to suggest."),
    output: Path = typer.Option(..., "--output", "-o", help="Output file (written atomically): tasks.json for Label "
                                                             "Studio, .csv, or .jsonl (project format; doccano with "
                                                             "--format doccano)."),
    model: Optional[str] = typer.Option(None, "--model", "-m", help="Model directory or shipped model name (default: "
                                                                    "the shipped model); lawgov tag output is ranked "
                                                                    "on its own probabilities."),
    format: Optional[str] = typer.Option(None, "--format", "-f", help="labelstudio, doccano, csv or jsonl "
                                                                      "(default: from the extension)."),
    strategy: str = typer.Option("margin", "--strategy", help="Uncertainty of each head: margin (1 - gap between "
                                                              "its two most probable classes) or entropy "
                                                              "(normalised); the two heads' scores are averaged."),
    seed: int = typer.Option(0, "--seed", help="Breaks ties between equally uncertain sentences."),
    per_document: Optional[int] = typer.Option(None, "--per-document", min=1,
                                               help="At most this many from one document first (default: twice an "
                                                    "even share)."),
    near_duplicate: float = typer.Option(0.7, "--near-duplicate", min=0.01, max=1.0,
                                         help="Character 3-gram Jaccard similarity from which two sentences are "
                                              "near-duplicates (one is suggested)."),
    exclude: Optional[List[Path]] = typer.Option(None, "--exclude", help="Annotated files (any format): their "
                                                                          "sentences and near-duplicates are not "
                                                                          "suggested."),
    progress: bool = progress_option("Counts on stderr (--no-progress / --quiet / -q: problems only)."),
) -> None:
    """Choose the sentences to annotate next: the most uncertain ones of both heads, with no
    near-duplicates and spread over documents and predicted dimensions (lawgov_nlp.data.suggest).

    Label Studio tasks carry the model's labels as predictions to correct and, in their data, the
    document id, index, section and neighbouring sentences; they import into a project made with
    `lawgov data labelstudio-config`. An input that cannot be used is named and left out (exit 1).
    """
    from ..data import guess_format, read_any
    from ..data.suggest import OUTPUT_FORMATS, STRATEGIES
    from ..data.suggest import suggest as run_suggest
    from ..data.suggest import write_suggestions
    from ..output import resolve_output

    console = Console(quiet=not progress)
    if strategy not in STRATEGIES:
        console.error(f"unknown strategy {strategy!r}; choose from {', '.join(STRATEGIES)}")
        raise typer.Exit(2)
    if format and format not in OUTPUT_FORMATS:
        console.error(f"unknown format {format!r}; choose from {', '.join(OUTPUT_FORMATS)}")
        raise typer.Exit(2)
    with user_errors():
        out = resolve_output(output, inputs=[Path(p) for p in inputs if Path(p).exists()])
    known: list[str] = []
    with user_errors(2):
        for f in exclude or []:
            known += [r.get("text") or "" for r in read_any(f)]
    failed: list[tuple[str, str]] = []
    with user_errors(2):
        records = run_suggest(inputs, n, model=model, strategy=strategy, seed=seed, per_document=per_document,
                              near_duplicate=near_duplicate, exclude=known,
                              on_error=lambda where, why: (failed.append((where, why)),
                                                           console.input_error(where, why)))
        write_suggestions(records, out, format or guess_format(output))
    docs = len({r.get("doc_id") for r in records})
    console.info(f"{output}: {len(records)} sentences from {docs} documents ({strategy})"
                 + (f"; fewer than {n}: the inputs hold no more distinct sentences" if len(records) < n else ""))
    if failed:
        raise typer.Exit(1)
