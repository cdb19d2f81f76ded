"""``lawgov train``, ``lawgov evaluate`` and ``lawgov tune-thresholds``: thin wrappers over
:mod:`lawgov_nlp.train`, :mod:`lawgov_nlp.evaluation` and :mod:`lawgov_nlp.metrics`."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from .common import (BACKEND_HELP, DRAFT_HELP, EXACT_HELP, EXIT_FAILED_INPUT, FAST_HELP, Console, load_model, path_options,
                     progress_option, user_errors)


def train(
    config: Path = typer.Argument(..., help="Training config (YAML), e.g. configs/train/default.yaml or tfidf.yaml."),
    output_dir: Optional[Path] = typer.Option(None, "--output-dir", "-o", help="Override output_dir of the config."),
    fresh: bool = typer.Option(False, "--fresh", help="Ignore an existing checkpoint and start over."),
    progress: bool = progress_option("Training log and progress bars (--no-progress / --quiet / -q: errors only)."),
    from_model: Optional[Path] = typer.Option(
        None, "--from", help="Warm-start from this model directory (same kind as the config): its weights start "
                             "the training, and the new directory records what it was trained from."),
    add: Optional[List[Path]] = typer.Option(
        None, "--add", help="New annotations to merge into the training data (JSONL, Label Studio JSON export, "
                            "doccano JSONL or CSV); repeat for several files. Needs --from."),
    keep_encoder: bool = typer.Option(
        False, "--keep-encoder", help="With --from a context model: keep its sentence encoder as it is and retrain "
                                      "only the context layers (much faster)."),
) -> None:
    """Train the model kind a config describes (resumes from its last checkpoint if interrupted).

    With --from MODEL the run warm-starts from MODEL on the config's training data plus the --add
    files; annotations of documents in dev or an evaluation file are refused. Warm runs start over."""
    from ..train import load_config, run

    log = typer.echo if progress else (lambda m: None)
    with user_errors(EXIT_FAILED_INPUT):
        if from_model is None:
            if add or keep_encoder:
                raise typer.BadParameter("--add and --keep-encoder need --from MODEL", param_hint="--add")
            cfg = load_config(config, {"output_dir": str(output_dir)} if output_dir else None)
            run(cfg, resume=not fresh, log=log, progress=progress)
            return
        from ..train.warm import retrain

        out = retrain(from_model, [str(p) for p in add or []], output_dir, config=config, log=log, progress=progress,
                      encoder="keep" if keep_encoder else "train")
        typer.echo(f"new model: {out}")


def evaluate(
    model: str = typer.Argument(..., help="Model directory, a shipped model's name, or 'keywords'."),
    data: Path = typer.Argument(..., help="Annotated JSONL file in the project format."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Folder for metrics.json, confusion CSV/PNG, errors.csv."),
    fast: bool = typer.Option(False, "--fast/--no-fast", help=FAST_HELP),
    exact: bool = typer.Option(False, "--exact", help=EXACT_HELP),
    backend: str = typer.Option("torch", "--backend", help=BACKEND_HELP),
    draft: Optional[bool] = typer.Option(None, "--draft/--no-draft", help=DRAFT_HELP),
    top_errors: int = typer.Option(50, min=0, help="How many of the most confident errors to keep."),
) -> None:
    """Per-class P/R/F1, macro/weighted F1, accuracy, role macro-F1, problem-flag P/R/F1,
    confusion matrices and the most confident errors of any model on any annotated file."""
    from ..data.corpus import load_records
    from ..evaluation import evaluate_tagger, format_summary, write_evaluation

    console = Console()
    tagger = load_model(model, console, **path_options(fast, exact, backend, draft))
    with user_errors(EXIT_FAILED_INPUT):
        records = load_records(data, tagger.scheme)
        m = evaluate_tagger(tagger, records, top_errors)
        if output:
            write_evaluation(m, output, {"model": str(model), "data": str(data), "fast": fast, "exact": exact,
                                         "backend": backend, "run": getattr(tagger, "path_name", None)})
    typer.echo(format_summary(m, f"{model} on {data}"))
    if output:
        typer.echo(f"results in {output}/ (metrics.json, confusion_*.csv/png, errors.csv)")


def tune_thresholds(
    model: Path = typer.Argument(..., help="Model directory (any kind)."),
    dev: Path = typer.Argument(Path("training/data/dev.jsonl"), help="Dev data (never the test split)."),
) -> None:
    """Tune the problem-flag and secondary-dimension thresholds on dev and store them in the model directory."""
    from ..data.corpus import load_records
    from ..metrics import tune_thresholds as tune
    from ..models.contract import Thresholds, set_thresholds

    console = Console()
    tagger = load_model(model, console)
    with user_errors(EXIT_FAILED_INPUT):
        recs = load_records(dev, tagger.scheme)
        dp, rp = tagger.predict_records(recs)
        th = tune(dp, rp, recs, tagger.scheme, tagger.thresholds)
        where = set_thresholds(model, Thresholds(th["problem_threshold"], th["secondary_threshold"]))
    sec = (f"dev secondary F1 {th['secondary_f1_dev']:.4f}" if th.get("secondary_f1_dev") is not None
           else th.get("secondary_note", "not tuned"))
    typer.echo(f"problem threshold {th['problem_threshold']} (dev problem F1 {th['problem_f1_dev']:.4f}); "
               f"secondary threshold {th['secondary_threshold']} ({sec}); stored in {where}")
