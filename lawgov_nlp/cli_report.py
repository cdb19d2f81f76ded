"""``lawgov report``: coverage and problem report of tagged reports, as HTML or XLSX.

Mounted on the main app in :func:`lawgov_nlp.cli._mount_subcommands`.
"""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer


def _err(msg: str) -> None:
    typer.echo(msg, err=True)


def _load_tagger(model: Optional[Path], **kwargs):
    """The fine-tuned model in ``model`` (default: the shipped one), or a baseline directory."""
    if model is not None:
        from .baselines import is_baseline_dir, load_baseline

        if is_baseline_dir(model):
            return load_baseline(model)
    from .tagger import Tagger

    return Tagger.load(model, **kwargs)


def report(
    paths: List[str] = typer.Argument(..., help="Report files, folders or glob patterns (.txt .html .docx .pdf)."),
    output: Path = typer.Option(..., "--output", "-o", help="report.html (one self-contained page) or report.xlsx."),
    model: Optional[Path] = typer.Option(None, "--model", "-m", help="Model directory (default: the shipped model); a baseline directory works too."),
    fast: bool = typer.Option(False, "--fast/--no-fast", help="int8 dynamic quantization (faster on CPU)."),
    title: Optional[str] = typer.Option(None, help="Page title of the HTML report."),
    batch_size: int = typer.Option(32, help="Sentences per forward pass."),
    threads: Optional[int] = typer.Option(None, help="CPU threads (default: the cores this process may use, at most 8)."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show progress bars on stderr."),
) -> None:
    """Tag the reports and write what they cover and which problems they admit.

    Per document: body sentences per dimension (count, share), the dimensions not
    covered, the problem sentences by dimension, plans and the sections where each
    dimension appears; across the documents: a documents × dimensions table and the
    least covered dimensions. HTML: one file that opens offline, with charts, a
    heat-map, the text coloured by dimension and filters. XLSX: sheets sentences,
    summary, comparison, dimensions, problems, least_covered.

    Unreadable files are reported (name, reason), skipped and listed in the report;
    the exit status is 1 when any input failed.
    """
    from .errors import ReadError
    from .io import collect_inputs
    from .reading import read_file
    from .report import REPORT_SUFFIXES, write_report

    if output.suffix.lower() not in REPORT_SUFFIXES:
        raise typer.BadParameter(f"cannot tell the report format from {output.name!r}; use .html or .xlsx",
                                 param_hint="--output")
    files, problems = collect_inputs(paths)
    skipped: list[tuple[str, str]] = [(p.path, p.reason) for p in problems]
    for p, why in skipped:
        _err(f"error: {p}: {why}")
    try:
        tagger = _load_tagger(model, fast=fast, batch_size=batch_size, threads=threads)
    except Exception as e:  # noqa: BLE001 - any load failure is reported plainly
        _err(f"error: cannot load the model{' ' + str(model) if model else ''}: {e}")
        raise typer.Exit(2)
    from tqdm.auto import tqdm

    docs = []
    for f in tqdm(files, desc="reading", unit="file", disable=not progress):
        try:
            doc = read_file(f)
        except ReadError as e:
            skipped.append((e.path, e.reason))
            _err(f"error: {e.path}: {e.reason}")
            continue
        if doc.suspicious:
            _err(f"warning: {f}: {len(doc.suspicious)} garbled span(s), e.g. offset {doc.suspicious[0].start}")
        docs.append(doc)
    if not docs:
        _err("error: no readable report among the inputs; nothing written")
        raise typer.Exit(1)
    with tqdm(total=sum(len(d.sentences) for d in docs), desc="tagging", unit="sent", disable=not progress) as bar:
        tagged = []
        for k in range(0, len(docs), 8):  # batches of documents keep memory flat on large folders
            tagged.extend(tagger.tag_documents(docs[k:k + 8], progress=bar.update))
    kwargs = {"scheme": tagger.scheme, "skipped": skipped}
    if output.suffix.lower() != ".xlsx":
        kwargs.update(title=title, model=tagger.path)
    write_report(tagged, output, **kwargs)
    n_prob = sum(len(d.problems) for d in tagged)
    _err(f"{output}: {len(tagged)} document(s), {sum(len(d.sentences) for d in tagged)} sentences, "
         f"{n_prob} problem sentence(s)")
    if skipped:
        _err(f"{len(skipped)} input(s) failed")
        raise typer.Exit(1)
