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
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click
from click import shell_completion

from derive import catalog, errors
from derive.commands import basics
from derive.parse import catalog_file, functions
from derive.render import latex as render_latex

#: The option of each Notation field: ``--activation-symbol`` sets the symbol of a = f(z).
SYMBOL_OPTIONS = {"output": "activation", "cost": "cost", "target": "target", "sigma": "sigma"}
SYMBOL_MEANING = {
    "output": "the activation's output a",
    "cost": "the cost C",
    "target": "the target y",
    "sigma": "the logistic sigmoid",
}


def _completion(names: Callable[[], Sequence[str]]) -> Callable[..., list[shell_completion.CompletionItem]]:
    """A ``shell_complete`` callback offering ``names()`` that start with what was typed."""

    def complete(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[shell_completion.CompletionItem]:
        return [shell_completion.CompletionItem(name) for name in names() if name.startswith(incomplete.lower())]

    return complete


#: Shell completion (README "Shell completion") of a LOSS argument: the catalog's losses and their aliases.
complete_loss = _completion(lambda: sorted([*catalog.LOSSES, *catalog.ALIASES]))
#: Shell completion of an ACTIVATION argument: the catalog's activations.
complete_activation = _completion(lambda: sorted(catalog.ACTIVATIONS))


def check_file(path: Path | None, suffixes: Sequence[str], writer: str) -> None:
    """Refuse ``-o FILE`` unless FILE ends in one of ``suffixes`` (what ``writer`` writes), before anything is written.

    A value meant for another option (``--output a`` for ``--activation-symbol a``) or a folder
    (``-o outputs/``) would otherwise become a stray file.
    """
    if path is None or path.suffix.lower() in suffixes:
        basics.check_writable(path)
        return
    hint = ""
    for field, allowed in render_latex.CHOICES.items():
        if str(path) in allowed:
            hint = f" (a symbol? use --{SYMBOL_OPTIONS[field]}-symbol {path})"
    names = " or ".join(f"*{suffix}" for suffix in suffixes)
    raise errors.InvalidOption(
        f"-o/--output is one file, and {writer} writes {'/'.join(suffixes)}: name it {names}, not {str(path)!r}{hint}"
    )


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
    return basics.refused("--output-symbol", message=message)(with_style)


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


def pair_options(required: bool = True) -> basics.Decorator:
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
