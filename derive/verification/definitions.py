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
from derive.verification import document, patterns
from derive.verification import report as report_module

_SIGMA_NAME = re.compile(r"\\Sigma(?![A-Za-z])(?!\s*_)")
_DEFINITION_NOTE = re.compile(r"\bdef", re.IGNORECASE)
#: A note that says only that the row is a definition: it may redefine a name (:func:`row_defines`).
_ONLY_DEFINITION = re.compile(r"^\(?def(?:inition|n|\.)?\)?$", re.IGNORECASE)  # not "by definition": a claim
_TEXT = re.compile(r"\\(?:text|textrm|textit|mathrm)\{([^{}]*)\}")
_NOTE_NOISE = re.compile(r"\\text(?:rm|it)?\{[^{}]*\}|\\(?:textstyle|displaystyle|quad|qquad)|\\ |\\,|\\;")


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
        # L = -\sum_j y_j \log a^{(L)}_j: the layer label L of a^{(L)}_j is an index, not the value L
        labels = {ix: sp.Dummy() for ix in value.atoms(sp.Indexed) if ix.base.label != target}
        return value.xreplace(labels).has(target)
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


def given(
    directives: list[document.Directive], context: context_.Context, report: report_module.Report
) -> list[Refusal]:
    """The directives put into ``context``; those of the document that cannot be accepted, refused.

    A refused ``% define:`` or ``% assume:`` line never stops the check: the steps that may need it
    are undecided with its reason (:func:`applies`).  A ``--define``/``--assume`` option (line 0)
    that cannot be read stays a DirectiveError: a usage error of the command.
    """
    refused = []
    for directive in directives:
        line = directive.line or None
        try:
            if directive.kind == "define":
                found = [definition(directive.text, line, context)]
            else:
                found = assumptions(directive.text, line, context)
        except errors.DirectiveError as exc:
            if not directive.line:
                raise
            kind = "definition" if directive.kind == "define" else "assumption"
            refused.append(refusal(kind, directive.text, line, exc, context))
            continue
        for item in found:
            if directive.kind == "define":
                context.definitions.append(item)
                report.definitions.append((sp.latex(item.target), sp.latex(item.value), line))
            else:
                context.assumptions.append(item)
                report.assumptions.append((sp.latex(item), line))
    return refused


def note_condition(note: str) -> sp.Basic | None:
    """A relation written in a row's note (``\\text{case},\\ i = j``), if any."""
    stripped = _NOTE_NOISE.sub(" ", note).strip(" ,;.") if note else ""
    if not stripped:
        return None
    row = formula.read_row(stripped)
    if (
        row.error is None
        and len(row.ops) == 1
        and not row.continues
        and not any(isinstance(t, ParseError) for t in row.terms)
    ):
        return formula.dialect.make_relation(row.ops[0], *row.terms)
    return None


def _add(name: sp.Basic, value: sp.Basic, line, context: context_.Context, report: report_module.Report) -> None:
    context.define(name, value)
    report.definitions.append((sp.latex(name), sp.latex(value), line))


def condition_defines(condition: sp.Basic, line, context: context_.Context, report: report_module.Report) -> bool:
    """Whether a row's condition is a second definition (``z^{l+1}_j = …, \\quad a^l_j = \\sigma(z^l_j)``).

    It is when its left side is an indexed name or a call with no definition yet and its right side more
    than a number: ``i = j`` and ``y_i = 1`` state a case.  A definition is added to ``context``.
    """
    if not isinstance(condition, sp.Equality):
        return False
    name, value = condition.lhs, condition.rhs
    if isinstance(name, sp.Symbol) or value.is_number or not is_name(name) or context.lookup(name) is not None:
        return False
    if refers_to_itself(name, value):
        return False
    _add(name, value, line, context, report)
    return True


def row_defines(
    row: formula.Row,
    source: document.SourceRow,
    conditions: list,
    context: context_.Context,
    report: report_module.Report,
) -> bool:
    """Whether the first relation of a chain's first row defines its left side (then it is no step).

    It does when the left side is a name with no definition yet that the right side does not use
    (``C = …``, ``a_i = …``, ``z^l_j = … a^{l-1}_k …``), and the row states no case (or its note says
    "definition").  A definition is added to ``context``.

    A row whose note says only "definition" defines its name even when a definition from another display
    has one already: from there on it is redefined, in a new setting (:meth:`.context.Context.define`),
    as a worked example after the general case does.  In the display of that definition it restates it,
    a step to check.
    """
    first, second = row.terms[0], row.terms[1]
    if (
        row.ops[0] == "="
        and not isinstance(first, ParseError)
        and not isinstance(second, ParseError)
        and is_name(first)
        and _free_to_define(first, source, context)
        and not refers_to_itself(first, second)
        and (not conditions or _DEFINITION_NOTE.search(source.note))
    ):
        _add(first, second, source.line, context, report)
        return True
    return False


def names_result(
    row: formula.Row,
    source: document.SourceRow,
    last: sp.Basic,
    context: context_.Context,
    report: report_module.Report,
) -> bool:
    """Whether a row ``&= a_i`` noted "definition" names the chain's last term: a_i is defined as it, no step.

    Only a single relation to a name with no definition yet: ``&= a_i && \\text{definition}`` after
    ``\\operatorname{softmax}(z)_i = … = \\frac{e^{z_i}}{\\sum_k e^{z_k}}``.
    """
    if len(row.ops) != 1 or row.ops[0] != "=" or last is None or not only_definition(source.note):
        return False
    name = row.terms[0]
    if isinstance(name, ParseError) or isinstance(last, ParseError) or not is_name(name):
        return False
    if context.lookup(name) is not None or refers_to_itself(name, last):
        return False
    _add(name, last, source.line, context, report)
    return True


def only_definition(note: str) -> bool:
    """Whether a row's note says only that it is a definition: ``\\text{definition}``, ``(def.)``."""
    words = _TEXT.sub(lambda m: m.group(1), note or "")
    return bool(_ONLY_DEFINITION.match(_NOTE_NOISE.sub(" ", words).strip(" ,;.")))


def _free_to_define(name: sp.Basic, source: document.SourceRow, context: context_.Context) -> bool:
    """No definition gives ``name`` yet, or the row's note says "definition" and the one that does is a row
    of another display (see :func:`row_defines`); a ``% define:`` line holds for the whole document."""
    found = context.lookup(name)
    if found is None:
        return True
    row, display = found.definition.place
    return only_definition(source.note) and row >= 0 and display != source.block


_CALL_STYLE = re.compile(r"^\s*(?P<name>[^()]+?)\s*(?:\\left\s*)?\((?P<args>[^()]*?)(?:\\right\s*)?\)\s*$")


def function_style(source: str, term: sp.Basic, context: context_.Context) -> sp.Basic | None:
    """The name in ``y_i(z_i)``, ``z_i(x)``: a subscripted name with its arguments, written first in a row.

    The parser reads ``y_i(z_i)`` as the product y_i·z_i (``a_j(1 - a_j)`` is one); as the left side
    of a row whose arguments are all names, a person means the quantity y_i as a function of z_i.
    None when ``source`` is not of that form or ``term`` is not the product of the two.
    """
    found = _CALL_STYLE.match(source)
    if found is None or not isinstance(term, sp.Mul):
        return None
    name_row = read(found.group("name"), context)
    args_row = read(found.group("args"), context)
    if name_row.error is not None or args_row.error is not None or name_row.ops or len(name_row.terms) != 1:
        return None
    name = name_row.terms[0]
    args = [t for t in sp.Tuple(*args_row.terms)] if not args_row.ops else []
    if not isinstance(name, (sp.Symbol, sp.Indexed)) or not is_name(name) or len(args) != 1:
        return None
    arg = args[0]
    if not (isinstance(arg, (sp.Symbol, sp.Indexed)) or _names_tuple(arg)) or sp.Mul(name, arg) != term:
        return None
    return name


def _names_tuple(arg: sp.Basic) -> bool:
    return isinstance(arg, (tuple, sp.Tuple)) and all(isinstance(a, (sp.Symbol, sp.Indexed)) for a in arg)


def update_rule(row: formula.Row) -> bool:
    r"""Whether the row's first relation is an assignment ``w_j = w_j + \alpha(y - \hat y)x_i``.

    Its left side is a name and its right side that name plus other terms without it: an update of
    gradient descent (``w \leftarrow w - \alpha g``), never a claim that the other terms vanish.
    """
    if not row.ops or row.ops[0] != "=" or row.continues or len(row.terms) < 2:
        return False
    name, value = row.terms[0], row.terms[1]
    if isinstance(name, ParseError) or isinstance(value, ParseError) or not isinstance(value, sp.Add):
        return False
    if not isinstance(name, (sp.Symbol, sp.Indexed)) or name not in value.args:
        return False
    # the step of gradient descent may name it as the variable of a derivative: b - \alpha ∂J/∂b
    rest = [term.replace(lambda n: isinstance(n, sp.Derivative), lambda n: sp.Dummy()) for term in value.args]
    rest = [term for term in rest if term != name]
    return bool(rest) and not any(term.has(name) for term in rest)
