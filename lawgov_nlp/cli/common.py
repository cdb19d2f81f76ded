"""What the commands share, written once: messages, exit codes, output formats, model loading,
input collection with its problems reported, progress bars that ``--no-progress`` turns off."""
from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Iterator, NoReturn, Sequence

import typer

EXIT_FAILED_INPUT = 1   # some input failed; the rest is done
EXIT_USAGE = 2          # nothing was done: bad arguments, model or output
EXIT_INTERRUPTED = 130


class Console:
    """stderr messages; ``quiet`` drops the informational ones (errors and warnings always show)."""

    def __init__(self, quiet: bool = False):
        self.quiet = quiet

    def info(self, msg: str) -> None:
        if not self.quiet:
            typer.echo(msg, err=True)

    def warn(self, msg: str) -> None:
        typer.echo(f"warning: {msg}", err=True)

    def error(self, msg: str) -> None:
        typer.echo(f"error: {msg}", err=True)

    def input_error(self, path: str, reason: str) -> None:
        typer.echo(f"error: {path}: {reason}", err=True)


def err(msg: str) -> None:
    typer.echo(msg, err=True)


def fail(e: BaseException, code: int = EXIT_USAGE) -> NoReturn:
    """Report a user-caused error in one line (no traceback) and exit."""
    typer.echo(f"error: {e}", err=True)
    raise typer.Exit(code)


@contextlib.contextmanager
def user_errors(code: int = EXIT_USAGE) -> Iterator[None]:
    """Turn a :class:`~lawgov_nlp.errors.LawgovError` into one line on stderr and an exit code."""
    from ..errors import LawgovError

    try:
        yield
    except LawgovError as e:
        fail(e, code)


ROW_SUFFIXES = {"jsonl": "jsonl", "json": "jsonl", "csv": "csv", "xlsx": "xlsx"}


def row_format(output: str, given: str | None) -> str:
    """The output format: given, else from the extension (``-`` means JSONL on stdout)."""
    if given:
        return given
    if output == "-":
        return "jsonl"
    ext = Path(output).suffix.lower().lstrip(".")
    if ext in ROW_SUFFIXES:
        return ROW_SUFFIXES[ext]
    raise typer.BadParameter(f"cannot tell the output format from {Path(output).name!r}; "
                             "use .jsonl, .csv or .xlsx, or --format", param_hint="--output")


def collect(paths: Sequence[str], console: Console):
    """Files from files, folders and globs; each argument that names no file is reported."""
    from ..text.inputs import collect_inputs

    files, problems = collect_inputs(paths)
    for p in problems:
        console.input_error(p.path, p.reason)
    return files, problems


def load_model(model: str | os.PathLike | None, console: Console, **options):
    """Any model through the one loader; a failure is one line and exit status 2."""
    from ..errors import LawgovError
    from ..models.registry import load

    try:
        return load(model, **options)
    except LawgovError as e:
        console.error(f"cannot load the model{' ' + str(model) if model else ''}: {e}")
        raise typer.Exit(EXIT_USAGE)


FAST_HELP = "PyTorch dynamic int8 (opt-in: changes a few % of labels)."
EXACT_HELP = "The float32 reference (slower; the default is the fastest path that passed the parity check)."
BACKEND_HELP = "torch (default) or onnx (ONNX Runtime int8, built once and cached beside the model)."
DRAFT_HELP = ("A context model's draft encoder first, the full encoder only on the sentences in doubt (default: "
              "on when the model's draft passed the parity check).")


def path_options(fast: bool, exact: bool, backend: str, draft: bool | None = None) -> dict:
    """Load options of the speed switches every tagging command takes."""
    return {"fast": fast, "exact": exact, "backend": backend, **({} if draft is None else {"draft": draft})}


#: ``--no-progress``, ``--quiet`` and ``-q`` all mean quiet: errors and warnings only. (A click
#: declaration ``"-q/"`` would name an *on* switch; the off-only form is ``" /-q"``.)
PROGRESS_DECLS = ("--progress/--no-progress", " /--quiet", " /-q")


def progress_option(help: str = "Progress bars and counts on stderr (--no-progress / --quiet / -q: "
                                "errors and warnings only).") -> bool:
    """The ``--progress/--no-progress`` switch every command takes, declared once."""
    return typer.Option(True, *PROGRESS_DECLS, help=help)


def bar(total: int | None, desc: str, unit: str, quiet: bool, position: int = 0):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit=unit, disable=quiet, position=position, leave=False)


def run_and_close(run, writers, out, console: "Console", bars=(),
                  saved: str = "the documents finished before are saved") -> bool:
    """Run the work; close every writer whatever happens (a run that could not start, e.g. no model,
    leaves an old output as it was). True when it was interrupted (Ctrl-C); an output that cannot be
    written ends the command with what ``saved`` says was kept."""
    from ..errors import LawgovError

    interrupted = ok = False
    try:
        run()
        ok = True
    except KeyboardInterrupt:
        interrupted = ok = True
    except OSError as e:
        if isinstance(e, LawgovError):
            raise
        console.error(f"cannot write {out} ({e.strerror or e}); {saved}")
        raise typer.Exit(EXIT_USAGE)
    finally:
        for b in bars:
            b.close()
        for w in writers:
            w.close(create=ok)
    return interrupted
