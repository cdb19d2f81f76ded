"""``lawgov split``: reports → sentences with offsets, heading levels and section paths."""
from __future__ import annotations

from enum import Enum
from typing import List, Optional

import typer

from .common import EXIT_FAILED_INPUT, EXIT_INTERRUPTED, Console, collect, progress_option, run_and_close, user_errors


class SplitFormat(str, Enum):
    jsonl = "jsonl"
    csv = "csv"
    text = "text"


SPLIT_FIELDS = ["doc", "index", "start", "end", "section", "is_heading", "heading_level", "paragraph", "text"]


def split(
    paths: List[str] = typer.Argument(..., help="Report files, folders or glob patterns (.txt .html .docx .pdf)."),
    format: SplitFormat = typer.Option(SplitFormat.jsonl, "--format", "-f", help="Output format."),
    output: str = typer.Option("-", "--output", "-o", help="Write here instead of stdout (- is stdout)."),
    encoding: Optional[str] = typer.Option(None, help="Force a text encoding instead of detecting it."),
    max_mb: Optional[float] = typer.Option(None, help="Refuse files larger than this many MB (default 20)."),
    simplified: bool = typer.Option(False, "--simplified", help="Add a simplified-script copy of each sentence."),
    progress: bool = progress_option("Per-file lines on stderr (--no-progress / --quiet / -q: errors and warnings only)."),
) -> None:
    """Split reports into sentences with offsets, heading levels and section paths.

    Files that cannot be read, or that fail in any other way, are reported on stderr (name and
    reason) and skipped; each finished file's sentences are written before the next is read; the
    exit status is 1 when any file failed. The output is never one of the inputs; ``-o`` may be a
    FIFO or a device (written through) or a symlink (its target is replaced).
    """
    from ..engines.local import describe_exception, read_documents
    from ..output import RowWriter, output_lock, resolve_output
    from ..text.chars import to_simplified

    console = Console(quiet=not progress)
    files, problems = collect(paths, console)
    failed = len(problems)
    with user_errors():
        out = resolve_output(output, inputs=files)

    def on_error(path: str, reason: str) -> None:
        nonlocal failed
        failed += 1
        console.input_error(path, reason)

    kwargs = {"encoding": encoding, "max_bytes": int(max_mb * 1e6) if max_mb else None}

    def rows_of(doc) -> list:
        rows = []
        for s in doc.sentences:
            if format is SplitFormat.text:
                mark = f"H{s.heading_level}" if s.is_heading else "  "
                sec = " / ".join(x[:12] for x in s.section)
                rows.append(f"{mark} [{s.start}:{s.end}] {sec + ' | ' if sec else ''}{s.text}")
                continue
            rec = {"doc": str(doc.path), **s.to_dict()}
            if simplified:
                rec["simplified"] = to_simplified(s.text)
            if format is SplitFormat.csv:
                rec["section"] = " / ".join(rec["section"])
                rec = {k: rec.get(k) for k in SPLIT_FIELDS + (["simplified"] if simplified else [])}
            rows.append(rec)
        return rows

    with user_errors(), output_lock(out):
        writer = RowWriter(out, "text" if format is SplitFormat.text else format.value)

        def run() -> None:
            for doc in read_documents(files, on_error, **kwargs):
                try:
                    info = (f"{doc.path}: {doc.format}, encoding {doc.encoding or '-'}, script {doc.script}, "
                            f"{len(doc.sentences)} sentences, {len(doc.headings)} headings, "
                            f"{len(doc.chrome)} chrome lines")
                    if doc.suspicious:
                        first = ", ".join(f"{s.start}-{s.end} {s.kind}" for s in doc.suspicious[:5])
                        info += f", {len(doc.suspicious)} garbled spans ({first}{' …' if len(doc.suspicious) > 5 else ''})"
                    rows = rows_of(doc)
                except (KeyboardInterrupt, SystemExit):
                    raise
                except Exception as e:  # noqa: BLE001 - one bad file must not stop the batch
                    on_error(str(doc.path), describe_exception(e))
                    continue
                console.info(info)
                for w in doc.warnings:
                    if "chrome" not in w and "garbled" not in w:  # those two are in the line above
                        console.warn(f"{doc.path}: {w}")
                writer.write_document(rows)

        interrupted = run_and_close(run, [writer], out, console, saved="the files finished before are written")
    if interrupted:
        console.error("interrupted: the files finished so far are written")
        raise typer.Exit(EXIT_INTERRUPTED)
    if failed:
        console.error(f"{failed} of {len(files) + len(problems)} input(s) failed")
        raise typer.Exit(EXIT_FAILED_INPUT)
