"""The ``lawgov`` command line. Heavy libraries load inside the commands that need them."""
from __future__ import annotations

import csv
import json
import sys
from enum import Enum
from pathlib import Path
from typing import List, Optional

import typer

app = typer.Typer(
    name="lawgov",
    help="Read, segment and tag Chinese local governments' rule-of-law reports (法治政府建设报告).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _err(msg: str) -> None:
    typer.echo(msg, err=True)


class SplitFormat(str, Enum):
    jsonl = "jsonl"
    csv = "csv"
    text = "text"


SPLIT_FIELDS = ["doc", "index", "start", "end", "section", "is_heading", "heading_level", "paragraph", "text"]


@app.command()
def split(
    paths: List[str] = typer.Argument(..., help="Report files, folders or glob patterns (.txt .html .docx .pdf)."),
    format: SplitFormat = typer.Option(SplitFormat.jsonl, "--format", "-f", help="Output format."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write here (atomically) instead of stdout."),
    encoding: Optional[str] = typer.Option(None, help="Force a text encoding instead of detecting it."),
    max_mb: Optional[float] = typer.Option(None, help="Refuse files larger than this many MB (default 20)."),
    simplified: bool = typer.Option(False, "--simplified", help="Add a simplified-script copy of each sentence."),
) -> None:
    """Split reports into sentences with offsets, heading levels and section paths.

    Files that cannot be read are reported on stderr (name and reason) and
    skipped; the exit status is 1 when any file failed.
    """
    from .errors import ReadError
    from .io import atomic_write, collect_inputs
    from .reading import read_file
    from .textutil import to_simplified

    files, problems = collect_inputs(paths)
    failed = len(problems)
    for p in problems:
        _err(f"error: {p.path}: {p.reason}")
    out_fh = None
    ctx = atomic_write(output) if output else None
    try:
        out_fh = ctx.__enter__() if ctx else sys.stdout
        writer = None
        if format is SplitFormat.csv:
            fields = SPLIT_FIELDS + (["simplified"] if simplified else [])
            writer = csv.DictWriter(out_fh, fieldnames=fields, lineterminator="\n")
            writer.writeheader()
        for f in files:
            try:
                doc = read_file(f, encoding=encoding, max_bytes=int(max_mb * 1e6) if max_mb else None)
            except ReadError as e:
                failed += 1
                _err(f"error: {e.path}: {e.reason}")
                continue
            info = f"{f}: {doc.format}, encoding {doc.encoding or '-'}, script {doc.script}, " \
                   f"{len(doc.sentences)} sentences, {len(doc.headings)} headings, {len(doc.chrome)} chrome lines"
            if doc.suspicious:
                first = ", ".join(f"{s.start}-{s.end} {s.kind}" for s in doc.suspicious[:5])
                info += f", {len(doc.suspicious)} garbled spans ({first}{' …' if len(doc.suspicious) > 5 else ''})"
            _err(info)
            for s in doc.sentences:
                rec = {"doc": str(f), **s.to_dict()}
                if simplified:
                    rec["simplified"] = to_simplified(s.text)
                if format is SplitFormat.jsonl:
                    out_fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
                elif format is SplitFormat.csv:
                    rec["section"] = " / ".join(rec["section"])
                    writer.writerow({k: rec.get(k) for k in writer.fieldnames})
                else:
                    mark = f"H{s.heading_level}" if s.is_heading else "  "
                    sec = " / ".join(x[:12] for x in s.section)
                    out_fh.write(f"{mark} [{s.start}:{s.end}] {sec + ' | ' if sec else ''}{s.text}\n")
        if ctx:
            ctx.__exit__(None, None, None)
            ctx = None
    except BaseException:
        if ctx:
            ctx.__exit__(*sys.exc_info())
        raise
    if failed:
        _err(f"{failed} of {len(files) + len(problems)} input(s) failed")
        raise typer.Exit(1)


@app.command()
def scheme(
    path: Optional[str] = typer.Argument(None, help="Scheme file or shipped name (default: zh-2021)."),
) -> None:
    """Validate a label-scheme file and list its dimensions and roles."""
    from .errors import SchemeError
    from .scheme import load_scheme

    try:
        sc = load_scheme(path)
    except SchemeError as e:
        _err(f"error: {e}")
        raise typer.Exit(1)
    typer.echo(f"{sc.name} (v{sc.version}) from {sc.path}")
    typer.echo("dimensions:")
    for d in sc.dimensions:
        typer.echo(f"  {d.code:<12} {d.name}  ({len(d.cues)} cue words)")
    typer.echo("roles:")
    for r in sc.roles:
        typer.echo(f"  {r.code:<12} {r.name}")


class TagFormat(str, Enum):
    jsonl = "jsonl"
    csv = "csv"
    xlsx = "xlsx"


def _format_from_path(path: Path, given: Optional["TagFormat"]) -> "TagFormat":
    if given:
        return given
    ext = path.suffix.lower().lstrip(".")
    if ext in ("jsonl", "csv", "xlsx"):
        return TagFormat(ext)
    if ext == "json":
        return TagFormat.jsonl
    raise typer.BadParameter(f"cannot tell the output format from {path.name!r}; use .jsonl, .csv or .xlsx or --format")


@app.command()
def tag(
    paths: List[str] = typer.Argument(..., help="Report files, folders or glob patterns (.txt .html .docx .pdf)."),
    output: Path = typer.Option(..., "--output", "-o", help="Output file: .jsonl, .csv or .xlsx (written atomically)."),
    format: Optional[TagFormat] = typer.Option(None, "--format", "-f", help="Output format (default: from the extension)."),
    model: Optional[Path] = typer.Option(None, "--model", "-m", help="Model directory (default: the shipped model)."),
    fast: bool = typer.Option(False, "--fast/--no-fast", help="int8 dynamic quantization (faster on CPU)."),
    resume: bool = typer.Option(False, "--resume", help="Keep documents already in OUTPUT and tag only the others."),
    batch_size: int = typer.Option(32, help="Sentences per forward pass."),
    threads: Optional[int] = typer.Option(None, help="CPU threads (default: the cores this process may use, at most 8)."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show progress bars on stderr."),
) -> None:
    """Tag every sentence of the reports with its dimension and role.

    One row per sentence: document, offsets, section path, text, dimension (with all
    per-class probabilities), secondary dimensions, role, is_problem and its
    probability. Unreadable files are reported (name, reason) and skipped; the exit
    status is 1 when any input failed. On Ctrl-C the documents finished so far are
    written (atomically) and `--resume` continues from there.
    """
    from .io import collect_inputs
    from .tagging_io import read_rows, write_rows
    from .tagger import Tagger

    fmt = _format_from_path(output, format)
    files, problems = collect_inputs(paths)
    failed = len(problems)
    for p in problems:
        _err(f"error: {p.path}: {p.reason}")
    rows: list[dict] = []
    done: set[str] = set()
    if resume and output.exists():
        rows = read_rows(output, fmt.value)
        done = {r.get("path") for r in rows}
        before = len(files)
        files = [f for f in files if str(f) not in done]
        _err(f"resume: {len(done)} document(s) already in {output}; {before - len(files)} skipped, {len(files)} to tag")
    try:
        tagger = Tagger.load(model, fast=fast, batch_size=batch_size, threads=threads)
    except Exception as e:  # noqa: BLE001 - any load failure is reported plainly
        _err(f"error: cannot load the model{' ' + str(model) if model else ''}: {e}")
        raise typer.Exit(2)
    from tqdm.auto import tqdm

    from .errors import ReadError
    from .reading import read_file

    fbar = tqdm(total=len(files), desc="files", unit="file", disable=not progress, position=0)
    sbar = tqdm(desc="sentences", unit="sent", disable=not progress, position=1)
    interrupted = False
    try:
        chunk: list = []

        def flush() -> None:
            if not chunk:
                return
            for d in tagger.tag_documents(chunk, progress=sbar.update):
                for r in d.to_records():
                    r["path"] = d.path
                    rows.append(r)
            fbar.update(len(chunk))
            chunk.clear()
            write_rows(rows, output, fmt.value)  # finished documents are safe on disk after each chunk

        for f in files:
            try:
                doc = read_file(f)
            except ReadError as e:
                failed += 1
                fbar.update(1)
                _err(f"error: {e.path}: {e.reason}")
                continue
            if doc.suspicious:
                _err(f"warning: {f}: {len(doc.suspicious)} garbled span(s), e.g. offset {doc.suspicious[0].start}")
            chunk.append(doc)
            if len(chunk) >= 8:
                flush()
        flush()
    except KeyboardInterrupt:
        interrupted = True
    finally:
        fbar.close()
        sbar.close()
    write_rows(rows, output, fmt.value)
    n_docs = len({r["path"] for r in rows})
    _err(f"{output}: {len(rows)} sentences from {n_docs} document(s)")
    if interrupted:
        _err("interrupted: finished documents are saved; run again with --resume to continue")
        raise typer.Exit(130)
    if failed:
        _err(f"{failed} input(s) failed")
        raise typer.Exit(1)


@app.command()
def train(
    config: Path = typer.Argument(..., help="Training config (YAML), e.g. configs/train/default.yaml."),
    output_dir: Optional[Path] = typer.Option(None, help="Override output_dir of the config."),
    fresh: bool = typer.Option(False, "--fresh", help="Ignore an existing checkpoint and start over."),
    progress: bool = typer.Option(True, "--progress/--no-progress"),
) -> None:
    """Fine-tune a tagger as the config says (resumes from its last checkpoint if interrupted)."""
    from .errors import LawgovError
    from .train import TrainConfig
    from .train import train as run

    try:
        cfg = TrainConfig.from_yaml(config, {"output_dir": str(output_dir)} if output_dir else None)
        run(cfg, resume=not fresh, log=typer.echo, progress=progress)
    except LawgovError as e:
        _err(f"error: {e}")
        raise typer.Exit(1)


@app.command()
def evaluate(
    model: str = typer.Argument(..., help="Model directory, a baseline directory, or 'keywords'."),
    data: Path = typer.Argument(..., help="Annotated JSONL file in the project format."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Folder for metrics.json, confusion CSV/PNG, errors.csv."),
    fast: bool = typer.Option(False, "--fast/--no-fast", help="Evaluate the int8 fast path of a fine-tuned model."),
    top_errors: int = typer.Option(50, help="How many of the most confident errors to keep."),
) -> None:
    """Per-class P/R/F1, macro/weighted F1, accuracy, role macro-F1, problem-flag P/R/F1,
    confusion matrices and the most confident errors of any model on any annotated file."""
    from .errors import LawgovError
    from .evaluate import evaluate_path, format_summary

    try:
        m = evaluate_path(model, data, output, fast=fast, top_errors=top_errors)
    except LawgovError as e:
        _err(f"error: {e}")
        raise typer.Exit(1)
    typer.echo(format_summary(m, f"{model} on {data}"))
    if output:
        typer.echo(f"results in {output}/ (metrics.json, confusion_*.csv/png, errors.csv)")


@app.command("tune-thresholds")
def tune_thresholds_cmd(
    model: Path = typer.Argument(..., help="Model directory (fine-tuned or TF-IDF baseline)."),
    dev: Path = typer.Argument(Path("training/data/dev.jsonl"), help="Dev data (never the test split)."),
) -> None:
    """Tune the problem-flag and secondary-dimension thresholds on dev and store them in the model directory."""
    import json as _json

    from .baselines import load_any
    from .data import load_records
    from .io import atomic_write
    from .train import tune_thresholds

    tagger = load_any(str(model))
    recs = load_records(dev, tagger.scheme)
    dp, rp = tagger.predict_proba([r["text"] for r in recs], [r.get("section") for r in recs])
    th = tune_thresholds(dp, rp, recs, tagger.cfg, tagger.scheme)
    for name in ("tagger_config.json", "baseline.json"):
        p = model / name
        if p.is_file():
            cfg = _json.loads(p.read_text(encoding="utf-8"))
            slot = cfg.setdefault("thresholds", {}) if name == "baseline.json" else cfg
            slot["problem_threshold"], slot["secondary_threshold"] = th["problem_threshold"], th["secondary_threshold"]
            with atomic_write(p) as fh:
                fh.write(_json.dumps(cfg, ensure_ascii=False, indent=1, sort_keys=True) + "\n")
            break
    else:
        _err(f"error: {model}: no tagger_config.json or baseline.json to store thresholds in")
        raise typer.Exit(1)
    sec = (f"dev secondary F1 {th['secondary_f1_dev']:.4f}" if th.get("secondary_f1_dev") is not None
           else th.get("secondary_note", "not tuned"))
    typer.echo(f"problem threshold {th['problem_threshold']} (dev problem F1 {th['problem_f1_dev']:.4f}); "
               f"secondary threshold {th['secondary_threshold']} ({sec}); stored in {p}")


def _mount_subcommands() -> None:
    from . import cli_base, cli_baselines, cli_data, cli_report

    app.add_typer(cli_data.app, name="data")
    app.add_typer(cli_baselines.app, name="baselines")
    app.command("report")(cli_report.report)
    app.add_typer(cli_base.app, name="base", help="Build the bundled base encoder (offline).")


_mount_subcommands()


def main() -> None:  # console-script entry point
    app()


if __name__ == "__main__":
    main()
