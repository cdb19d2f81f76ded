"""``lawgov data …``: validate, count and convert annotated files."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

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


@app.command()
def validate(
    files: List[Path] = typer.Argument(..., help="Annotated JSONL files in the project format."),
    scheme: Optional[str] = typer.Option(None, help="Label scheme file (default: the shipped zh-2021)."),
) -> None:
    """Report every bad line (line number, field, problem) and exit 1 if there is any."""
    from ..data import validate_file

    sc = _scheme(scheme)
    bad = 0
    for f in files:
        try:
            records, problems = validate_file(f, sc)
        except OSError as e:
            typer.echo(f"{f}: cannot read ({e.strerror or e})", err=True)
            bad += 1
            continue
        for p in problems:
            typer.echo(f"{f}:{p.line}: {p.field}: {p.message}")
        status = "ok" if not problems else f"{len(problems)} problem(s)"
        typer.echo(f"{f}: {len(records)} sentences, {len({r.get('doc_id') for r in records})} documents: {status}",
                   err=True)
        bad += bool(problems)
    if bad:
        raise typer.Exit(1)


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
    src: Path = typer.Argument(..., help="Input file."),
    dst: Path = typer.Argument(..., help="Output file (written atomically)."),
    from_: Optional[str] = typer.Option(None, "--from", help=_FMT_HELP),
    to: Optional[str] = typer.Option(None, "--to", help=_FMT_HELP),
    scheme: Optional[str] = typer.Option(None, help="Label scheme for validation."),
    check: bool = typer.Option(True, help="Validate labels of the converted records (unlabelled rows are allowed)."),
) -> None:
    """Convert between the project format, Label Studio, doccano and CSV, keeping label names."""
    from ..data import FORMATS, read_any, validate_records, write_any

    for f in (from_, to):
        if f and f not in FORMATS:
            typer.echo(f"error: unknown format {f!r}; choose from {', '.join(FORMATS)}", err=True)
            raise typer.Exit(2)
    records = read_any(src, from_)
    if check:
        sc = _scheme(scheme)
        labelled = [r for r in records if r.get("dimension") or r.get("role")]
        problems = validate_records(labelled, sc)
        for p in problems:
            typer.echo(f"{src}:{p.line}: {p.field}: {p.message}", err=True)
        if problems:
            raise typer.Exit(1)
    write_any(records, dst, to)
    typer.echo(f"{dst}: {len(records)} records", err=True)


@app.command("labelstudio-config")
def labelstudio_config(scheme: Optional[str] = typer.Option(None, help="Label scheme file.")) -> None:
    """Print the Label Studio labeling-interface XML for the scheme (dimension, role, secondary)."""
    from ..data import label_studio_config

    typer.echo(label_studio_config(_scheme(scheme)))
