"""The ``lawgov`` command line: one module per command group, each a thin wrapper over the library.

Heavy libraries load inside the commands that need them, so ``lawgov --help`` is instant.
"""
from __future__ import annotations

import typer

from . import base, data, report, scheme, serve, split, tag, train

app = typer.Typer(
    name="lawgov",
    help="Read, segment and tag Chinese local governments' rule-of-law reports (法治政府建设报告).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

app.command("split")(split.split)
app.command("tag")(tag.tag)
app.command("report")(report.report)
app.command("scheme")(scheme.scheme)
app.command("train")(train.train)
app.command("evaluate")(train.evaluate)
app.command("tune-thresholds")(train.tune_thresholds)
app.add_typer(data.app, name="data")
app.add_typer(serve.app, name="serve", help="Serve a model: a Label Studio ML backend (lawgov serve labelstudio).")
app.add_typer(base.app, name="base", help="Build the bundled base encoder (offline).")


def main() -> None:  # console-script entry point
    app()


