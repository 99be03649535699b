"""The definitions and assumptions a document gives: read, accepted, or refused with the reason.

A definition is ``NAME = EXPR`` (``\\equiv`` and ``:=`` too) whose left side is a *name*
(:func:`is_name`): ``C``, ``\\Sigma``, ``a_i``, ``a_1``, ``z^l_j``, ``L(\\hat y, y)``,
``h_\\theta(x^i)``, or a catalog function such as ``\\sigma(A_i)``, which then means what
the definition says for the rest of the document.  A definition may use its own name at
other indices (``a^l_j`` in terms of ``a^{l-1}_k``), never at the same ones.

A ``% define:`` line that cannot be accepted does not stop the check of the document:
it becomes a :class:`Refusal`, and the steps that may need it are ``undecided`` with
its reason (:func:`applies`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sympy as sp
from sympy.core.function import AppliedUndef

from derive import errors
from derive.errors import ParseError
from derive.parse import formula
from derive.verification import context as context_
from derive.verification import patterns

_SIGMA_NAME = re.compile(r"\\Sigma(?![A-Za-z])(?!\s*_)")


@dataclass(frozen=True)
class Refusal:
    """A directive that was not accepted, and the names it would have given (empty: not known)."""

    kind: str  # "definition" or "assumption"
    text: str
    line: int | str | None
    reason: str
    names: tuple = ()

    def message(self) -> str:
        """What a step that may need this directive says."""
        where = f" (line {self.line})" if self.line else ""
        return f"it may need the {self.kind} {self.text!r}{where}, which was not accepted: {self.reason}"


def is_name(expr: sp.Basic, rebind: bool = False) -> bool:
    """A name a definition can give a value: C, a_i, a_1, z^l_j, δ, L(ŷ, y), h_θ(x^i).

    With ``rebind`` (a ``% define:`` line) a known function too: ``\\sigma(A_i)``, ``\\tanh(x)``.
    A row of the document that starts ``\\sigma(x) = …`` is a step about the sigmoid instead.
    """
    if isinstance(expr, sp.Symbol):
        return not expr.name.startswith("N_")
    if isinstance(expr, sp.Indexed):
        symbols = [s for ix in expr.indices for s in ix.free_symbols]
        return all(_index_pattern(ix) for ix in expr.indices) and len(set(symbols)) == len(symbols)
    if isinstance(expr, AppliedUndef):
        return bool(expr.args)
    if rebind and patterns.is_call(expr):
        return bool(expr.args) and not isinstance(expr, (sp.exp, sp.log))
    return False


def _index_pattern(index: sp.Basic) -> bool:
    """``j``, ``1`` or ``l+1``: an index a pattern can match."""
    if isinstance(index, (sp.Symbol, sp.Integer)):
        return True
    symbols = index.free_symbols
    return len(symbols) == 1 and (index - next(iter(symbols))).is_Integer


def refers_to_itself(target: sp.Basic, value: sp.Basic) -> bool:
    """Whether ``value`` uses ``target`` itself (not the same name at other indices or arguments)."""
    if isinstance(target, sp.Symbol):
        return value.has(target)
    if isinstance(target, sp.Indexed):
        return any(node == target for node in value.atoms(sp.Indexed))
    return any(call == target for call in value.atoms(sp.Function))


def names_in(expr: sp.Basic, name: sp.Basic) -> bool:
    """Whether ``expr`` mentions ``name`` or the same indexed base or function."""
    key = patterns.head(name)
    return key is not None and key in patterns.mentioned_heads(expr)


def read(text: str, context: context_.Context) -> formula.Row:
    """``formula.read_row`` of ``text``, with the names the context defines read as names.

    ``\\Sigma`` is a sum to the parser; once ``\\Sigma = \\sum_k e^{a_k}`` defines it, a
    ``\\Sigma`` without a subscript (``\\Sigma^2``) is that name.
    """
    if ("symbol", sp.Symbol("Sigma")) in context.heads():
        text = _SIGMA_NAME.sub(lambda _: "{\\Sigma}", text)
    return formula.read_row(text)


def _row(text: str, kind: str, line, context: context_.Context) -> formula.Row:
    row = read(text, context)
    where = f" (line {line})" if line else ""
    if row.error is not None:
        raise errors.DirectiveError(f"cannot read the {kind} {text!r}{where}: {row.error}")
    for term in row.terms:
        if isinstance(term, ParseError):
            raise errors.DirectiveError(f"cannot read the {kind} {text!r}{where}: {term}")
    if not row.ops or row.continues:
        raise errors.DirectiveError(f"the {kind} {text!r}{where} needs a relation, as in 'a = \\sigma(z)'")
    return row


def definition(text: str, line, context: context_.Context) -> context_.Definition:
    """The definition ``NAME = EXPR`` in ``text``; errors.DirectiveError if it cannot be one."""
    row = _row(text, "definition", line, context)
    if len(row.terms) != 2 or row.ops[0] != "=":
        raise errors.DirectiveError(f"a definition is 'NAME = EXPR', got {text!r}")
    target, value = row.terms
    if not is_name(target, rebind=True):
        raise errors.DirectiveError(
            f"cannot define {sp.latex(target)!r}: the left side of a definition must be a name "
            "such as C, a_i, a_1, z^l_j, \\hat{y}, L(\\hat{y}, y) or \\sigma(z)"
        )
    if refers_to_itself(target, value):
        raise errors.DirectiveError(f"the definition of {sp.latex(target)} refers to itself")
    return context_.Definition(target, value)


def assumptions(text: str, line, context: context_.Context) -> list[sp.Basic]:
    """The relations an assumption ``text`` states; errors.DirectiveError if it cannot be read."""
    return _row(text, "assumption", line, context).relations()


def refusal(kind: str, text: str, line, error: errors.DirectiveError, context: context_.Context) -> Refusal:
    """A refused directive, with the name it meant to define when its left side can be read."""
    names: tuple = ()
    if kind == "definition":
        left = re.split(r"=|\\equiv|:=", text, maxsplit=1)[0]
        row = read(left, context)
        readable = row.error is None and len(row.terms) == 1 and not isinstance(row.terms[0], ParseError)
        if readable and patterns.head(row.terms[0]) is not None:
            names = (row.terms[0],)
    return Refusal(kind, text, line, str(error), names)


def applies(refusal_: Refusal, terms: tuple) -> bool:
    """Whether a step with these sides may need the refused directive."""
    if not refusal_.names:
        return True
    return any(names_in(term, name) for name in refusal_.names for term in terms)
