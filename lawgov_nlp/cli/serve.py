"""``lawgov serve labelstudio``: a thin wrapper over :func:`lawgov_nlp.serve.labelstudio.serve`."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from .common import EXIT_USAGE, user_errors

app = typer.Typer(no_args_is_help=True, help="Services over a loaded model.")


@app.command("labelstudio")
def labelstudio(
    model: Optional[str] = typer.Option(None, "--model", help="Model directory or shipped model name "
                                                              "(default: the shipped default model)."),
    host: str = typer.Option("127.0.0.1", help="Address to listen on (loopback by default)."),
    port: int = typer.Option(9090, min=1, max=65535, help="Port to listen on."),
    api_key: Optional[str] = typer.Option(None, "--api-key", envvar="LAWGOV_API_KEY", show_envvar=True,
                                          help="Require this key on every request: Authorization: Bearer <key>, "
                                               "Token <key>, or HTTP Basic with the key as the password."),
    retrain_after: int = typer.Option(0, min=0, help="Retrain in the background after this many new annotations "
                                                     "(0: only on Label Studio's START_TRAINING event)."),
    models_dir: Path = typer.Option(Path("lawgov-backend"), help="Where annotations.jsonl and the retrained "
                                                                 "versions v2, v3 … go; the newest version there is "
                                                                 "served at start."),
    config: Optional[Path] = typer.Option(None, help="Training config for retraining (default: the one the model "
                                                     "was trained with, from its metrics.json)."),
    keep_encoder: bool = typer.Option(False, "--keep-encoder", help="Retraining a context model keeps its sentence "
                                                                    "encoder and retrains the context layers only."),
    epochs: Optional[int] = typer.Option(None, min=1, help="Epochs of each retraining (default: the config's)."),
    remember: bool = typer.Option(True, "--remember/--no-remember",
                                  help="Tag a task with the sentences of its document seen in earlier requests "
                                       "(Label Studio asks for one task at a time)."),
) -> None:
    """A Label Studio ML backend: /health, /setup, /predict and /webhook (retraining on new annotations)."""
    from ..serve.labelstudio import serve

    with user_errors(EXIT_USAGE):
        serve(model, host=host, port=port, api_key=api_key, retrain_after=retrain_after, models_dir=models_dir,
              config=config, keep_encoder=keep_encoder, retrain_overrides={"epochs": epochs} if epochs else None,
              remember=remember,
              log=lambda m: typer.echo(m, err=True))
