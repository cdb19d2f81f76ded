"""``lawgov scheme``: validate a label scheme and list it."""
from __future__ import annotations

from typing import Optional

import typer

from .common import user_errors


def scheme(path: Optional[str] = typer.Argument(None, help="Scheme file or shipped name (default: zh-2021).")) -> None:
    """Validate a label-scheme file and list its dimensions and roles."""
    from ..scheme import load_scheme

    with user_errors(1):
        sc = load_scheme(path)
    typer.echo(f"{sc.name} (v{sc.version}) from {sc.path}")
    typer.echo("dimensions:")
    for d in sc.dimensions:
        typer.echo(f"  {d.code:<12} {d.name}  ({len(d.cues)} cue words)")
    typer.echo("roles:")
    for r in sc.roles:
        typer.echo(f"  {r.code:<12} {r.name}")
