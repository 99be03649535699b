"""What every ``derive`` command shares: the error handling, the output options, the notation options.

One meaning per output option, in every command:

- ``-o/--output FILE`` is exactly one file (``derive latex``, ``derive export``); its suffix must
  fit what is written (``.tex``, ``.md``, ``.py``), so a value meant for another option (``--output a``
  for ``--activation-symbol a``) is refused instead of becoming a stray file;
- ``-d/--directory DIR`` is a folder, for the commands that write several files (``derive gallery``,
  ``derive latex --all``, the figure of ``derive slowdown``).

The old spellings (``-o`` for a folder or a stem, ``--output-symbol``) are hidden options that only
say what to use instead: a one-line error, exit code 2, nothing written.

A pair is ``LOSS ACTIVATION`` (catalog names), or ``--loss`` / ``--activation`` with a name or a
formula in LaTeX (``--loss 'L(a, y) = \\frac{1}{2}(a-y)^2'``); ``--catalog FILE.toml`` adds a lab's
own functions by name (:mod:`derive.parse.catalog_file`).
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click
from click import shell_completion

from derive import catalog, errors, files
from derive.commands import lifecycle
from derive.parse import catalog_file, functions
from derive.render import latex as render_latex

EXIT_USER_ERROR = 2

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]

#: The option of each Notation field: ``--activation-symbol`` sets the symbol of a = f(z).
SYMBOL_OPTIONS = {"output": "activation", "cost": "cost", "target": "target", "sigma": "sigma"}
SYMBOL_MEANING = {
    "output": "the activation's output a",
    "cost": "the cost C",
    "target": "the target y",
    "sigma": "the logistic sigmoid",
}


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


def _completion(names: Callable[[], Sequence[str]]) -> Callable[..., list[shell_completion.CompletionItem]]:
    """A ``shell_complete`` callback offering ``names()`` that start with what was typed."""

    def complete(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[shell_completion.CompletionItem]:
        return [shell_completion.CompletionItem(name) for name in names() if name.startswith(incomplete.lower())]

    return complete


#: Shell completion (README "Shell completion") of a LOSS argument: the catalog's losses and their aliases.
complete_loss = _completion(lambda: sorted([*catalog.LOSSES, *catalog.ALIASES]))
#: Shell completion of an ACTIVATION argument: the catalog's activations.
complete_activation = _completion(lambda: sorted(catalog.ACTIVATIONS))


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


def check_file(path: Path | None, suffixes: Sequence[str], writer: str) -> None:
    """Refuse ``-o FILE`` unless FILE ends in one of ``suffixes`` (what ``writer`` writes), before anything is written.

    A value meant for another option (``--output a`` for ``--activation-symbol a``) or a folder
    (``-o outputs/``) would otherwise become a stray file.
    """
    if path is None or path.suffix.lower() in suffixes:
        check_writable(path)
        return
    hint = ""
    for field, allowed in render_latex.CHOICES.items():
        if str(path) in allowed:
            hint = f" (a symbol? use --{SYMBOL_OPTIONS[field]}-symbol {path})"
    names = " or ".join(f"*{suffix}" for suffix in suffixes)
    raise errors.InvalidOption(
        f"-o/--output is one file, and {writer} writes {'/'.join(suffixes)}: name it {names}, not {str(path)!r}{hint}"
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


def notation_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--activation-symbol``, ``--cost-symbol``, ``--target-symbol``, ``--sigma-symbol``.

    The command receives them as one ``style`` (a :class:`~derive.render.latex.Notation`); the old
    ``--output-symbol`` is refused with the new name.
    """

    @functools.wraps(command)
    def with_style(*args: Any, **kwargs: Any) -> Any:
        symbols = {field: kwargs.pop(f"{option}_symbol") for field, option in SYMBOL_OPTIONS.items()}
        return command(*args, style=render_latex.Notation(**symbols), **kwargs)

    for field, allowed in reversed(render_latex.CHOICES.items()):
        with_style = click.option(
            f"--{SYMBOL_OPTIONS[field]}-symbol",
            f"{SYMBOL_OPTIONS[field]}_symbol",
            type=click.Choice(allowed),
            default=allowed[0],
            show_default=True,
            help=f"LaTeX symbol for {SYMBOL_MEANING[field]}.",
        )(with_style)
    message = "--output-symbol was renamed --activation-symbol (the symbol of a = f(z))"
    return refused("--output-symbol", message=message)(with_style)


# -- the pair of a derivation: LOSS ACTIVATION, --loss/--activation (names or formulas), --catalog -----------

#: What a ``--loss``/``--activation`` value is: a name when it is one word, else a formula.
FORMULA_HELP = "a name (see `derive list`) or a formula in LaTeX, {example}"


def catalog_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--catalog FILE.toml``: a lab's own losses and activations; the command receives ``lab`` (or None)."""

    @functools.wraps(command)
    def with_lab(*args: Any, **kwargs: Any) -> Any:
        path = kwargs.pop("catalog_path")
        return command(*args, lab=None if path is None else catalog_file.load(path), **kwargs)

    return click.option(
        "--catalog",
        "catalog_path",
        type=click.Path(path_type=Path, exists=True, dir_okay=False),
        default=None,
        metavar="FILE.toml",
        help="A lab's own losses and activations, by name (tables [losses.NAME], [activations.NAME]).",
    )(with_lab)


def pair_options(required: bool = True) -> Decorator:
    """``LOSS ACTIVATION`` (each may instead be ``--loss``/``--activation``) and ``--catalog``.

    The command receives ``loss`` and ``activation`` resolved (a catalog name, or the class of a
    formula or of a ``--catalog`` name) and ``lab``.  Positional names fill what the options leave:
    ``derive show --loss FORMULA sigmoid``.  Without ``required`` both may be missing (``latex --all``).
    """

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(command)
        def with_pair(*args: Any, **kwargs: Any) -> Any:
            given = {"loss": kwargs.pop("loss_option"), "activation": kwargs.pop("activation_option")}
            lab = kwargs.pop("lab")
            positional = [value for value in (kwargs.pop("loss"), kwargs.pop("activation")) if value is not None]
            _fill(given, positional, required)
            pair = {kind: None if value is None else resolve(value, kind, lab) for kind, value in given.items()}
            return command(*args, **pair, lab=lab, **kwargs)

        with_pair = catalog_option(with_pair)
        examples = {
            "loss": FORMULA_HELP.format(example="'L(a, y) = \\frac{1}{2}(a-y)^2 + \\lambda a^2'"),
            "activation": FORMULA_HELP.format(example="'g(z) = z\\sigma(z)'"),
        }
        for kind in ("activation", "loss"):
            with_pair = click.option(
                f"--{kind}",
                f"{kind}_option",
                default=None,
                metavar="NAME|FORMULA",
                help=f"The {kind} instead of {kind.upper()}: {examples[kind]}.",
            )(with_pair)
        with_pair = click.argument("activation", required=False, shell_complete=complete_activation)(with_pair)
        return click.argument("loss", required=False, shell_complete=complete_loss)(with_pair)

    return decorate


def _fill(given: dict[str, str | None], positional: list[str], required: bool) -> None:
    """Give the positional LOSS ACTIVATION to the slots the options left empty (a usage error if they do not fit)."""
    empty = [kind for kind, value in given.items() if value is None]
    if len(positional) > len(empty):
        extra = positional[len(empty)]
        raise click.UsageError(f"got {extra!r} besides --loss and --activation: give each of LOSS and ACTIVATION once")
    given.update(zip(empty, positional, strict=False))
    missing = [kind for kind, value in given.items() if value is None]
    if missing and required:
        raise click.MissingParameter(param_hint=f"'{missing[0].upper()}'", param_type="argument")


def resolve(value: str, kind: str, lab: catalog_file.LabCatalog | None) -> str | type:
    """A ``--loss``/``--activation`` value: a name of ``lab``, a catalog name (one word), or a formula."""
    own = {} if lab is None else (lab.losses if kind == "loss" else lab.activations)
    for name, cls in own.items():
        if name.lower() == value.strip().lower():
            return cls
    if value.strip().isidentifier():
        return value  # a catalog name: derive says which ones exist if it is none
    builder = functions.Loss if kind == "loss" else functions.Activation
    return builder.from_latex(value)


def name_of(function: str | type) -> str:
    """The name of a loss or an activation given by name or as a class."""
    return function if isinstance(function, str) else function.name
