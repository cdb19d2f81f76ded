"""``lawgov baselines …``: train the TF-IDF + LR baseline (to be mounted by the main CLI).

The keyword baseline needs no training: pass ``keywords`` wherever a model is asked for
(:func:`lawgov_nlp.baselines.load_any`).
"""
from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(no_args_is_help=True, add_completion=False,
                  help="Baselines: keyword rules (no training) and TF-IDF + logistic regression.")


@app.callback()
def _baselines() -> None:
    """Baselines: keyword rules (no training) and TF-IDF + logistic regression."""


@app.command("train-tfidf")
def train_tfidf_cmd(
    config: Path = typer.Argument(..., help="YAML config, e.g. configs/train/tfidf.yaml "
                                            "(train, dev, output_dir, scheme, params, eval)."),
) -> None:
    """Train TF-IDF (jieba words + character 1–3-grams) + logistic regression; tune thresholds on dev."""
    from .baselines import train_baseline_from_yaml
    from .errors import LawgovError

    try:
        train_baseline_from_yaml(config, log=lambda m: typer.echo(m, err=True))
    except LawgovError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2)


if __name__ == "__main__":  # pragma: no cover
    app()
