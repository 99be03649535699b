"""LaTeX in ML notation → SymPy: ``parse_latex`` and the row reader used by verify.

The one module that imports the LaTeX backend: latex2sympy2 on Python < 3.13,
its maintained fork latex2sympy2_extended (``lowercase_symbols=False``) where
latex2sympy2 cannot run.  ``DERIVE_LATEX_BACKEND=latex2sympy2_extended`` (or
``latex2sympy2``) forces one.  The backend only ever sees plain arithmetic over
placeholder atoms (:mod:`derive.parse.dialect`); relations are split here, never
handed to it, and latex2sympy2's module-level state is saved and restored
around every call under a lock, so repeated and concurrent calls are safe.

>>> parse_latex(r"\\frac{\\partial C}{\\partial a} = -\\frac{y}{a} + \\frac{1-y}{1-a}")
Eq(Derivative(C, a), (1 - y)/(1 - a) - y/a)
>>> parse_latex(r"\\sigma'(z) = \\sigma(z)(1-\\sigma(z))")
Eq(Derivative(sigmoid(z), z), (1 - sigmoid(z))*sigmoid(z))
"""

from __future__ import annotations

import importlib
import os
import re
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

import sympy as sp

from derive import errors
from derive.errors import ParseError
from derive.parse import conditions, dialect, scanner, skeleton, vocabulary

BACKENDS = ("latex2sympy2", "latex2sympy2_extended")
_LOCK = threading.RLock()
_STATE = ("is_real", "frac_type", "variances", "var", "VARIABLE_VALUES")


class Backend(NamedTuple):
    """The LaTeX backend in use: its name and its parse function."""

    name: str
    parse: Callable[[str], sp.Basic]


_backend: Backend | None = None


def _load(name: str) -> Callable[[str], sp.Basic]:
    if name == "latex2sympy2":
        module = importlib.import_module("latex2sympy2")

        def parse(text: str) -> sp.Basic:
            saved = {key: getattr(module, key) for key in _STATE if hasattr(module, key)}
            copies = {key: (dict(value) if isinstance(value, dict) else value) for key, value in saved.items()}
            try:
                for key, value in copies.items():
                    setattr(module, key, value)
                return module.latex2sympy(text)
            finally:
                for key, value in saved.items():
                    setattr(module, key, value)

        return parse
    if name == "latex2sympy2_extended":
        module = importlib.import_module("latex2sympy2_extended")
        inner = importlib.import_module("latex2sympy2_extended.latex2sympy2")
        normal = importlib.import_module("latex2sympy2_extended.math_normalization")
        conversion = inner.ConversionConfig(
            interpret_as_mixed_fractions=False,
            interpret_simple_eq_as_assignment=False,
            interpret_contains_as_eq=False,
            lowercase_symbols=False,
        )
        normalization = normal.NormalizationConfig(
            basic_latex=False, units=False, malformed_operators=False, nits=False, boxed="none", equations=False
        )

        def parse(text: str) -> sp.Basic:
            return module.latex2sympy(text, normalization_config=normalization, conversion_config=conversion)

        return parse
    raise ParseError(f"unknown LaTeX backend {name!r}; choose one of {', '.join(BACKENDS)}")


def backend() -> Backend:
    """The LaTeX backend in use (its name and parse function)."""
    global _backend
    with _LOCK:
        if _backend is None:
            forced = os.environ.get("DERIVE_LATEX_BACKEND", "").strip()
            names = [forced] if forced else (list(BACKENDS) if sys.version_info < (3, 13) else list(BACKENDS[::-1]))
            problems = []
            for name in names:
                try:
                    _backend = Backend(name, _load(name))
                    break
                except ImportError as exc:
                    problems.append(f"{name}: {exc}")
            else:
                raise errors.BackendMissing(
                    "no LaTeX backend: pip install latex2sympy2 (Python < 3.13) or "
                    "latex2sympy2_extended (" + "; ".join(problems) + ")"
                )
        return _backend


def _backend_parse(text: str) -> sp.Basic:
    """The arithmetic skeleton ``text`` (held atoms ``Q_{n}`` joined by + − · / ^ and fractions) as SymPy.

    The skeleton reader builds the backend's own tree in microseconds; the backend (ANTLR, 50–300 ms
    a formula) reads only what lies outside the skeleton language.
    """
    try:
        return skeleton.read(text)
    except skeleton.NotSkeleton:
        pass
    _, parse = backend()
    with _LOCK:
        return parse(text)


# ---- one formula: statements, relations, conditions and remarks ------------------------------

IMPLIES = conditions.IMPLIES


@dataclass
class Row:
    """One formula read into its terms: ``A = B = C`` gives terms [A, B, C] and ops ['=', '='].

    A row may hold more than one statement.  ``A = B \\Rightarrow C = D`` (also ``\\implies``, ``=>``,
    ``\\therefore``) is the row of ``C = D`` (the main statement, the one a chain goes on from) with the
    premise ``A = B`` in ``premises``; ``A = B \\quad \\because C = D`` is the row of ``A = B`` with the
    justification ``C = D`` in ``reasons``.  Each of those is a :class:`Row` of its own (``role``
    "premise" or "reason"), read alone: its first relation may define a name (``\\text{Let } u = -z_i
    \\Rightarrow …``) or be a step.  A row that starts with ``\\because`` is itself a justification
    (``role`` "reason").  :meth:`statements` lists them all in the order written.
    """

    text: str
    terms: list = field(default_factory=list)  # sympy values, or ParseError for a term that failed
    sources: list[str] = field(default_factory=list)  # the LaTeX of each term, as written
    ops: list[str] = field(default_factory=list)
    condition: sp.Basic | None = None
    continues: bool = False  # the row starts with a relation: it continues the previous chain
    error: ParseError | None = None  # the whole row could not be read
    prose: bool = False  # the row is only text (\text{…}, CJK words): a remark, no terms, no error
    warnings: list[str] = field(default_factory=list)  # what the reader left out (prose inside the math)
    role: str = "main"  # "main", "premise" (before an implication) or "reason" (after \because)
    premises: list[Row] = field(default_factory=list)  # statements before the row's implications
    reasons: list[Row] = field(default_factory=list)  # justifications after \because

    def relations(self) -> list[sp.Basic]:
        """The relations between consecutive terms: ``A = B < C`` gives [Eq(A, B), Lt(B, C)]."""
        return [
            vocabulary.make_relation(op, lhs, rhs)
            for op, lhs, rhs in zip(self.ops, self.terms, self.terms[1:], strict=False)
        ]

    def statements(self) -> list[Row]:
        """Every statement of the row in the order written: the premises, the row itself, the reasons."""
        return [*self.premises, self, *self.reasons]


def read_row(text: str) -> Row:
    """Read one display row into terms, relation symbols and a side condition (and its other statements)."""
    row = Row(text)
    try:
        nodes = scanner.strip_spaces(scanner.tree(text))
        if nodes and conditions.is_prose(nodes):
            row.prose = True
            return row
        nodes = conditions.drop_prose(nodes, row.warnings)
        while nodes and vocabulary.is_tok(nodes[-1], "op", ",", ".", ";"):
            nodes = nodes[:-1]
        statements = conditions.split_statements(nodes)
    except ParseError as exc:
        row.error = exc
        return row
    except RecursionError:
        row.error = ParseError("the formula is nested too deeply", None, text)
        return row
    row.premises = [_statement(Row(text, role="premise"), part) for part in statements.premises]
    row.reasons = [_statement(Row(text, role="reason"), part) for part in statements.reasons]
    if statements.justification:
        row.role = "reason"
    return _statement(row, statements.main)


def _statement(row: Row, nodes: list) -> Row:
    """``row`` with the one statement ``nodes`` read into it (an error kept in ``row.error``)."""
    try:
        _read_into(row, nodes)
    except ParseError as exc:
        row.error = exc
    except RecursionError:
        row.error = ParseError("the formula is nested too deeply", None, row.text)
    return row


def _read_into(row: Row, nodes: list) -> None:
    text = row.text
    split = conditions.split_condition(nodes)
    formula = [n for n in split.formula if not conditions.is_separator(n)]
    reader = dialect.Reader(text, _backend_parse, formula)
    if split.condition is not None:
        row.condition = _condition(reader, split.condition)
    ops = vocabulary.relation_ops(formula)
    if not ops:
        row.terms = [_term(reader, formula)]
        row.sources = [text[_sized_start(text, formula[0].pos) : scanner.end(formula[-1])].strip() if formula else ""]
        _subscript_condition(row, reader)
        return
    parts = vocabulary.split_relation(formula, ops)
    row.ops = ["=" if op.symbol == ":=" else op.symbol for op in ops]
    if not scanner.strip_spaces(parts[0]):
        row.continues = True
        parts = parts[1:]
    row.terms = [_term(reader, part) for part in parts]
    _subscript_condition(row, reader)
    bounds = [_sized_start(text, formula[0].pos), *[scanner.end(formula[op.end - 1]) for op in ops]]
    stops = [formula[op.start].pos for op in ops] + [scanner.end(formula[-1])]
    row.sources = [text[a:b].strip() for a, b in zip(bounds, stops, strict=True)]
    if row.continues:
        row.sources = row.sources[1:]


_SIZING_BEFORE = re.compile(r"\\(?:left|[bB]igg?l?)\s*$")


def _sized_start(text: str, position: int) -> int:
    """Where a term that starts at ``position`` starts as written: before its ``\\left`` or ``\\bigl``."""
    found = _SIZING_BEFORE.search(text, 0, position)
    return found.start() if found else position


def _subscript_condition(row: Row, reader: dialect.Reader) -> None:
    """The condition written in subscripts (``y_{k \\neq i}``) becomes the row's; two different ones are an error."""
    found = list(dict.fromkeys(reader.conditions))
    if not found:
        return
    if len(found) > 1 or row.condition not in (None, found[0]):
        raise reader.error(
            "the subscripts of this row state different conditions (as in y_{k \\neq i}): write one per row"
        )
    row.condition = found[0]


def _condition(reader: dialect.Reader, nodes: list) -> sp.Basic:
    """The side condition ``nodes``: one relation, or ``N, M > 0`` (each name in the list) as an ``And``."""
    ops = vocabulary.relation_ops(nodes)
    if len(ops) == 1:
        names = vocabulary.split_top(nodes[: ops[0].start], lambda n: vocabulary.is_tok(n, "op", ","))
        if len(names) > 1 and all(names):
            rhs = reader.value(nodes[ops[0].end :], "side of a condition")
            symbol = "=" if ops[0].symbol == ":=" else ops[0].symbol
            return sp.And(*[vocabulary.make_relation(symbol, reader.value(name, "name"), rhs) for name in names])
    found = reader.relations(nodes)
    if found is None or len(found) != 1:
        raise reader.error("cannot read the condition", nodes[0] if nodes else None)
    return found[0]


def is_prose(text: str) -> bool:
    """Whether the row ``text`` is prose (only ``\\text{…}``, non-ASCII words and punctuation).

    The verifier skips such a row as a remark, without ending the ``&=`` chain around it.
    """
    return read_row(text).prose


def _term(reader: dialect.Reader, nodes: list):
    try:
        return reader.value(nodes, "side of a relation")
    except ParseError as exc:
        return exc
    except (TypeError, ValueError, AttributeError, IndexError, NotImplementedError) as exc:
        # SymPy refused what the notation built (e.g. a sum over a non-symbol)
        return ParseError(
            f"cannot build {scanner.text_of(nodes)!r}: {exc}", nodes[0].pos if nodes else None, reader.text
        )


def parse_latex(text: str):
    """Read one formula in ML notation into SymPy.

    An expression gives an ``Expr``; ``A = B`` gives ``Eq(A, B)`` (``\\neq``,
    ``<``, ``\\le``, … give ``Ne``, ``Lt``, ``Le``, …); a chain ``A = B = C``
    gives ``[Eq(A, B), Eq(B, C)]``; a formula with a side condition
    (``… \\quad (i = j)``) gives ``(relation, condition)``.  A formula that
    cannot be read raises :class:`ParseError` with the position and reason.

    >>> parse_latex(r"\\ln\\frac{e^{z_i}}{\\sum_j e^{z_j}}")
    log(exp(z[i])/Sum(exp(z[j]), (j, 1, N_j)))
    >>> parse_latex(r"\\frac{\\partial y_i}{\\partial a_j} = -y_i y_j \\quad (i \\neq j)")
    (Eq(Derivative(y[i], a[j]), -y[i]*y[j]), Ne(i, j))
    """
    if not isinstance(text, str):
        raise ParseError(f"expected LaTeX text, got {type(text).__name__}")
    text = text.strip().strip("$").strip()
    if text.startswith(r"\[") and text.endswith(r"\]"):
        text = text[2:-2]
    row = read_row(text)
    if row.premises:  # A = B \Rightarrow C = D: two statements, not one formula (a justification is a note)
        raise ParseError("the formula holds several statements joined by an implication; read_row reads each", 0, text)
    if row.error is not None:
        raise row.error
    if row.prose:
        raise ParseError("the formula is prose (only text), not math", 0, text)
    for term in row.terms:
        if isinstance(term, ParseError):
            raise term
    if row.continues:
        raise ParseError("the formula starts with a relation and has no left side", 0, text)
    if not row.ops:
        result = row.terms[0]
    else:
        relations = row.relations()
        result = relations[0] if len(relations) == 1 else relations
    return (result, row.condition) if row.condition is not None else result
