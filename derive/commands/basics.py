"""The plain parts of every ``derive`` command: error handling, JSON, files and folders.

They import no SymPy, so that a command that needs little (``derive verify``) starts fast; the pair
and notation options, which need the catalog, are :mod:`derive.commands.options`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from derive import errors, files
from derive.commands import lifecycle

EXIT_USER_ERROR = 2

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


class Group(click.Group):
    """A click group that turns a DeriveError into ``error: …`` on stderr and exit code 2.

    It catches the error wherever it is raised: in an option's callback while the command line is
    parsed, or in the command itself; like click's own usage errors, never a traceback.  The whole
    run is a :func:`derive.commands.lifecycle.run`: a closed pipe ends quietly, SIGTERM ends it like
    Ctrl-C, and ``on_exit`` (the functions that stop child processes) runs however it ends.
    """

    on_exit: tuple[Callable[[], None], ...] = ()

    def main(self, *args: Any, **kwargs: Any) -> Any:
        with lifecycle.run(self.on_exit):
            return super().main(*args, **kwargs)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except errors.DeriveError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(EXIT_USER_ERROR)


class FiniteFloat(click.types.FloatParamType):
    """A float that is a number: ``nan`` and ``inf`` are refused while the command line is read.

    They would pass ``float()`` and fail later, deep in the work, as a traceback.
    """

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return number


class FiniteFloatRange(click.FloatRange):
    """A :class:`click.FloatRange` that also refuses ``nan`` (which compares false with both bounds)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return number


def echo_json(data: object) -> None:
    """Print ``data`` as indented JSON, keeping non-ASCII characters (δ, ∂) readable."""
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


def json_option(help_text: str = "Print one JSON object instead of formulas.") -> Decorator:
    """``--json``, passed to the command as ``as_json``."""
    return click.option("--json", "as_json", is_flag=True, help=help_text)


def output_file(names: str) -> Decorator:
    """``-o/--output FILE``: exactly one file (``names`` says which, e.g. ``*.py``); default standard output."""
    return click.option(
        "-o",
        "--output",
        type=click.Path(path_type=Path),
        default=None,
        metavar="FILE",
        help=f"Write one file, FILE ({names}); default: standard output.",
    )


def directory(default: Path | None, help_text: str) -> Decorator:
    """``-d/--directory DIR``: the folder for a command that writes several files."""
    return click.option(
        "-d",
        "--directory",
        type=click.Path(path_type=Path),
        default=default,
        show_default=default is not None,
        metavar="DIR",
        help=help_text,
    )


def refused(*names: str, message: str) -> Decorator:
    """A hidden option kept only to say what replaced it: giving it is the error ``message``.

    The error is raised while the command line is parsed, so nothing is written.
    """

    def refuse(ctx: click.Context, param: click.Parameter, value: object) -> None:
        if value is not None:
            raise errors.InvalidOption(message)

    return click.option(*names, hidden=True, expose_value=False, default=None, callback=refuse)


def no_output_file(command: str, writes: str) -> Decorator:
    """The refused ``-o/--output`` of a command that writes a folder of files: it says to use ``-d``."""
    return refused(
        "-o",
        "--output",
        message=f"derive {command} writes {writes}: use -d/--directory DIR (-o/--output is always one file)",
    )


def check_writable(path: Path | None, folder: bool = False) -> None:
    """errors.Unwritable, before any work, for a ``path`` that can never be written.

    That is a file (``folder``: a folder) whose place holds a folder, or one under a file
    (``-o notes.txt/x.tex``).  Folders that do not exist yet are fine: they are made.
    """
    if path is None:
        return
    if not folder and path.is_dir():
        raise errors.Unwritable(f"cannot write {path}: it is a folder")
    start = path if folder else path.parent
    for above in (start, *start.parents):
        if above.exists():
            if not above.is_dir():
                what = f"into {path}" if folder else str(path)
                raise errors.Unwritable(f"cannot write {what}: {above} is a file, not a folder")
            return


def write_or_echo(source: str, output: Path | None) -> None:
    """``source`` into the file ``output``, or onto standard output when there is none."""
    if output is None:
        click.echo(source, nl=False)
    else:
        files.write_text(output, source)
