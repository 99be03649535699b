"""Errors raised by derive.

One base class, :class:`DeriveError`; every error a user can cause is one of
its subclasses, with a message that says what was wrong and what to do.
Only the command line turns these into messages and exit codes.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class DeriveError(Exception):
    """Base class of every error derive raises on purpose."""


class UnknownName(DeriveError, KeyError):
    """A loss, activation or other catalog name that does not exist."""

    def __init__(self, kind: str, name: str, valid: Iterable[str]) -> None:
        self.kind = kind
        self.name = name
        self.valid = sorted(valid)
        close = difflib.get_close_matches(name.lower(), self.valid, n=1, cutoff=0.5)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        message = f"unknown {kind} {name!r}.{hint} Valid: {', '.join(self.valid)}."
        super().__init__(message)

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class DomainError(DeriveError, ValueError):
    """A loss needs values of ``a`` that the activation cannot produce."""


class NoMatchingLoss(DeriveError, ValueError):
    """No loss ``L(a, y)`` has ``dL/dz = a - y`` for this activation."""


class ProofError(DeriveError, RuntimeError):
    """The engine could not prove one of its own steps; nothing is printed.

    This is a bug in derive (or a catalog entry), never a user mistake.
    """


class InvalidOption(DeriveError, ValueError):
    """An option that does not apply, or a value out of range (e.g. K = 1)."""


class ParseError(DeriveError, ValueError):
    """A formula derive cannot read; ``position`` is the offset in the text (or None)."""

    def __init__(self, reason: str, position: int | None = None, text: str = "") -> None:
        self.reason = reason
        self.position = position
        self.text = text
        where = f" at position {position}" if position is not None else ""
        super().__init__(f"{reason}{where}")

    def pointer(self) -> str:
        """The text with a caret under the position, for terminals."""
        if self.position is None or not self.text:
            return self.text
        return f"{self.text}\n{' ' * self.position}^"


class BackendMissing(ParseError):
    """Neither LaTeX backend can be imported."""


class DirectiveError(DeriveError, ValueError):
    """A ``define``/``assume`` directive (or option) that cannot be read."""


class DocumentError(DeriveError, ValueError):
    """A document that cannot be read in its format (a notebook that is not notebook JSON), or has nothing to read."""


class GradientCheckError(DeriveError, AssertionError):
    """The exported gradient disagrees with finite differences or with mpmath."""


class Unwritable(DeriveError, OSError):
    """The output path cannot be written."""


class MissingDependency(DeriveError, ImportError):
    """An optional package the requested work needs (jax for the JAX module's check) is not installed."""


class PdfLatexMissing(DeriveError, RuntimeError):
    """pdflatex is not installed."""


class LatexError(DeriveError, RuntimeError):
    """pdflatex stopped on an error; the message holds the log's first error line."""


class Timeout(Exception):
    """The call did not finish within its time limit (the child was killed)."""


class WorkerError(Exception):
    """The call raised inside the child, or the child died; the message says how."""


class Undecidable(Exception):
    """A step of a hand derivation cannot be evaluated (a sum too long, a circular definition, …).

    Internal to the step check, which turns it into the verdict ``undecided`` with this message.
    """
