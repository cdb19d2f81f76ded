"""``lawgov report``: the coverage and problem report of tagged reports, as HTML or XLSX."""
from __future__ import annotations

from typing import List, Optional

import typer

from .common import (BACKEND_HELP, DRAFT_HELP, EXACT_HELP, EXIT_FAILED_INPUT, EXIT_INTERRUPTED, EXIT_USAGE, FAST_HELP, Console, collect,
                     load_model, path_options, progress_option, user_errors)


def report(
    paths: List[str] = typer.Argument(..., help="Report files, folders or glob patterns (.txt .html .docx .pdf)."),
    output: str = typer.Option(..., "--output", "-o",
                               help="report.html (one self-contained page), report.xlsx or brief.docx (the Word brief)."),
    model: Optional[str] = typer.Option(None, "--model", "-m",
                                        help="Model directory, a shipped model's name or 'keywords' (default: the shipped model)."),
    fast: bool = typer.Option(False, "--fast/--no-fast", help=FAST_HELP),
    exact: bool = typer.Option(False, "--exact", help=EXACT_HELP),
    backend: str = typer.Option("torch", "--backend", help=BACKEND_HELP),
    draft: Optional[bool] = typer.Option(None, "--draft/--no-draft", help=DRAFT_HELP),
    title: Optional[str] = typer.Option(None, help="Page title of the HTML report."),
    batch_size: int = typer.Option(32, min=1, help="Sentences per forward pass."),
    threads: Optional[int] = typer.Option(None, min=1, help="CPU threads (default: the free cores this process may use, at most 8)."),
    progress: bool = progress_option(),
) -> None:
    """Tag the reports and write what they cover and which problems they admit.

    Per document: body sentences per dimension (count, share), the dimensions not covered, the
    problem sentences by dimension, plans and the sections where each dimension appears; across
    the documents: a documents × dimensions table and the least covered dimensions. HTML: one
    file that opens offline, with charts, a heat-map, the text coloured by dimension and filters.
    XLSX: sheets about, sentences, summary, comparison, dimensions, problems, least_covered (and
    trends). DOCX: an editable Word brief in Chinese (summary table, per report its metadata,
    problems and plans by dimension, 各报告共性问题, trends). Reports are named by the title and
    office read from them; when one office's reports cover several years a trend view is added.

    Problems are counted over body sentences only (headings are never problems), the same way
    here, on the page and in the workbook. Unreadable files, and files that fail in any other
    way, are reported (name, reason), skipped and listed in the report; the exit status is 1 when
    any input failed, 130 on Ctrl-C (then no report is written). The output is checked (and
    locked) before the model is loaded and is never one of the inputs; the workbook stores
    every text as text, so a sentence such as ``=HYPERLINK(...)`` is never a live formula.
    """
    from pathlib import Path

    from ..engines.local import describe_exception, read_documents, tag_to_writer
    from ..output import output_lock, resolve_output
    from ..report import REPORT_SUFFIXES, write_report
    from .common import bar

    console = Console(quiet=not progress)
    if Path(output).suffix.lower() not in REPORT_SUFFIXES:
        raise typer.BadParameter(f"cannot tell the report format from {Path(output).name!r}; use .html, .xlsx or .docx",
                                 param_hint="--output")
    files, problems = collect(paths, console)
    skipped: list[tuple[str, str]] = [(p.path, p.reason) for p in problems]
    with user_errors():
        out = resolve_output(output, inputs=files)
    tagger_box: list = []

    def load():
        tagger_box.append(load_model(model, console, **path_options(fast, exact, backend, draft), batch_size=batch_size, threads=threads))
        return tagger_box[0]

    def on_error(path: str, reason: str) -> None:
        skipped.append((path, reason))
        console.input_error(path, reason)

    tagged: list = []

    def keep(d) -> None:  # a document the report cannot summarise is reported and left out, like a bad file
        try:
            d.summary(tagger_box[0].scheme)
        except Exception as e:  # noqa: BLE001 - one bad document must not stop the report
            on_error(str(d.path or d.doc_id), describe_exception(e))
            return
        tagged.append(d)

    with user_errors(), output_lock(out):
        sbar = bar(None, "tagging", "sent", console.quiet)
        try:
            tag_to_writer(load, read_documents(files, on_error), keep, on_error, progress=sbar.update)
        except KeyboardInterrupt:
            console.error(f"interrupted: no report written to {out}")
            raise typer.Exit(EXIT_INTERRUPTED)
        finally:
            sbar.close()
        if not tagged:
            console.error("no readable report among the inputs; nothing written")
            raise typer.Exit(EXIT_FAILED_INPUT if skipped else EXIT_USAGE)
        tagger = tagger_box[0]
        kwargs = {"scheme": tagger.scheme, "skipped": skipped}
        if Path(output).suffix.lower() != ".xlsx":  # HTML and DOCX have a title and name the model
            kwargs.update(title=title, model=tagger.path)
        write_report(tagged, out, **kwargs)
    from ..report import COUNT_DEFINITION_EN, summaries, totals

    tot = totals(summaries(tagged, tagger.scheme))  # the numbers the page, workbook and brief print
    console.info(f"{out}: {tot['documents']} document(s), {tot['sentences']} sentences "
                 f"({tot['body']} body, {tot['headings']} headings), {tot['problems']} problem sentence(s), "
                 f"{tot['plans']} plan sentence(s) ({COUNT_DEFINITION_EN})")
    if skipped:
        console.error(f"{len(skipped)} input(s) failed")
        raise typer.Exit(EXIT_FAILED_INPUT)
