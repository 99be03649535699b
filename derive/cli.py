"""The ``derive`` command: a thin layer that prints results and turns errors into messages.

The commands live in :mod:`derive.commands`, by what they do; this module gathers them into one
program, each imported when it runs (``derive verify`` never loads the catalog's pairs, the export or
matplotlib).  Every command has ``--json`` for scripts; without it, formulas are pretty-printed for a
terminal.  ``-o/--output FILE`` is always one file and ``-d/--directory DIR`` a folder for commands
that write several.  A :class:`~derive.errors.DeriveError` (unknown name, domain mismatch, an option
that does not apply) becomes one line on stderr and exit code 2, like click's own usage errors.
"""

from __future__ import annotations

import importlib

import click

from derive.commands import basics
from derive.verification import worker

#: Each command of ``derive``, in the order of the README's tour: name → (module, attribute).
COMMANDS = {
    "list": ("derive.commands.derivations", "list_command"),
    "show": ("derive.commands.derivations", "show"),
    "table": ("derive.commands.derivations", "table"),
    "match": ("derive.commands.derivations", "match"),
    "shift": ("derive.commands.derivations", "shift"),
    "backprop": ("derive.commands.derivations", "backprop"),
    "latex": ("derive.commands.documents", "latex"),
    "gallery": ("derive.commands.documents", "gallery_command"),
    "slowdown": ("derive.commands.slowdown", "slowdown"),
    "export": ("derive.commands.exporting", "export"),
    "verify": ("derive.commands.verifying", "verify_command"),
}


class LazyGroup(basics.Group):
    """A :class:`~derive.commands.basics.Group` whose commands are imported when they are used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        if name == "verify":
            worker.start()  # its import of SymPy overlaps the command's: the first check starts sooner
        module, attribute = COMMANDS[name]
        return getattr(importlib.import_module(module), attribute)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(None, "-V", "--version", package_name="derive")
def main() -> None:
    """Symbolic chain-rule derivations of machine-learning losses.

    Derives dC/dz, dC/dw_j and dC/db of a loss composed with an activation,
    step by step, and shows whether the activation's derivative cancels.

    -o/--output FILE always writes one file; -d/--directory DIR is the folder
    of the commands that write several (gallery, latex --all, slowdown).

    Example:

    \b
        derive show bce sigmoid
    """


main.on_exit = (worker.stop,)  # the worker of derive verify would finish its step first
