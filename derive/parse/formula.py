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
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import sympy as sp

from derive import errors
from derive.errors import ParseError
from derive.parse import dialect, scanner
from derive.parse.scanner import Group, Tok, strip_spaces, text_of

BACKENDS = ("latex2sympy2", "latex2sympy2_extended")
_LOCK = threading.RLock()
_STATE = ("is_real", "frac_type", "variances", "var", "VARIABLE_VALUES")
_backend: tuple[str, Callable[[str], sp.Basic]] | None = None


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


def backend() -> tuple[str, Callable[[str], sp.Basic]]:
    """(name, parse function) of the LaTeX backend in use."""
    global _backend
    with _LOCK:
        if _backend is None:
            forced = os.environ.get("DERIVE_LATEX_BACKEND", "").strip()
            names = [forced] if forced else (list(BACKENDS) if sys.version_info < (3, 13) else list(BACKENDS[::-1]))
            problems = []
            for name in names:
                try:
                    _backend = (name, _load(name))
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
    _, parse = backend()
    with _LOCK:
        return parse(text)


# ---- one formula: relations, conditions and remarks ---------------------------------------

IF_WORDS = {"if", "for", "when", "where", "for all", "if:", "provided"}
IMPLIES = {r"\Rightarrow", r"\implies", r"\therefore", r"\Longrightarrow", r"\iff", r"\Leftrightarrow"}


@dataclass
class Row:
    """One formula read into its terms: ``A = B = C`` gives terms [A, B, C] and ops ['=', '=']."""

    text: str
    terms: list = field(default_factory=list)  # sympy values, or ParseError for a term that failed
    sources: list[str] = field(default_factory=list)  # the LaTeX of each term, as written
    ops: list[str] = field(default_factory=list)
    condition: sp.Basic | None = None
    continues: bool = False  # the row starts with a relation: it continues the previous chain
    error: ParseError | None = None  # the whole row could not be read

    def relations(self) -> list[sp.Basic]:
        """The relations between consecutive terms: ``A = B < C`` gives [Eq(A, B), Lt(B, C)]."""
        return [
            dialect.make_relation(op, lhs, rhs)
            for op, lhs, rhs in zip(self.ops, self.terms, self.terms[1:], strict=False)
        ]


def _is_text(node) -> bool:
    return isinstance(node, Tok) and node.kind == "cmd" and node.text in (r"\text", r"\textrm", r"\mbox", r"\mathrm")


def _split_condition(nodes: list) -> tuple[list, list | None]:
    """(formula, condition) of a row such as ``… \\quad (i = j)`` or ``… , i \\neq j``."""
    # \text{if} / \text{for}: everything after it is the condition
    for k, node in enumerate(nodes):
        if _is_text(node) and k + 1 < len(nodes) and isinstance(nodes[k + 1], Group):
            said = text_of(nodes[k + 1].children).strip().lower().rstrip(":")
            if said in IF_WORDS:
                return nodes[:k], nodes[k + 2 :]
    # drop remarks: \text{…} not applied to arguments
    kept = []
    k = 0
    while k < len(nodes):
        node = nodes[k]
        if _is_text(node) and k + 1 < len(nodes) and isinstance(nodes[k + 1], Group):
            after = nodes[k + 2] if k + 2 < len(nodes) else None
            called = isinstance(after, Group) and after.open == "("
            words = text_of(nodes[k + 1].children).strip()
            if not called and (" " in words or len(words) > 1 and node.text != r"\mathrm"):
                k += 2
                continue
        kept.append(node)
        k += 1
    nodes = kept
    # separators: \quad (i = j), or a trailing ", i \neq j"
    segments = dialect.split_top(nodes, lambda n: _is_sep(n))
    segments = [s for s in segments if strip_spaces(s)]
    if len(segments) > 1 and _looks_like_condition(segments[-1]):
        return [n for s in segments[:-1] for n in s], _unwrap(segments[-1])
    if len(segments) > 1:
        return [n for s in segments for n in s], None
    body = segments[0] if segments else []
    commas = dialect.split_top(body, lambda n: isinstance(n, Tok) and n.kind == "op" and n.text == ",")
    commas = [c for c in commas if strip_spaces(c)]
    if len(commas) == 2:
        if _looks_like_condition(commas[1]) and dialect.relation_ops(strip_spaces(commas[0])):
            return commas[0], _unwrap(commas[1])
        if _looks_like_condition(commas[0]) and dialect.relation_ops(strip_spaces(commas[1])):
            return commas[1], _unwrap(commas[0])
    return body, None


def _is_sep(node) -> bool:
    return (
        isinstance(node, Tok)
        and node.kind == "cmd"
        and node.text in scanner.SEPARATORS
        or (isinstance(node, Tok) and node.kind == "op" and node.text == "~")
    )


def _unwrap(nodes: list) -> list:
    nodes = [n for n in strip_spaces(nodes) if not (isinstance(n, Tok) and n.kind == "op" and n.text in ",.;")]
    if len(nodes) == 1 and isinstance(nodes[0], Group) and nodes[0].open == "(":
        return strip_spaces(nodes[0].children)
    return nodes


def _looks_like_condition(nodes: list) -> bool:
    inner = _unwrap(nodes)
    if not dialect.relation_ops(inner):
        return False
    flat = text_of(inner)
    return len(flat) <= 40 and r"\frac" not in flat and r"\partial" not in flat


def read_row(text: str) -> Row:
    """Read one display row into terms, relation symbols and a side condition."""
    row = Row(text)
    try:
        nodes = strip_spaces(scanner.tree(text))
        while nodes and isinstance(nodes[-1], Tok) and nodes[-1].kind == "op" and nodes[-1].text in ",.;":
            nodes = nodes[:-1]
        while nodes and isinstance(nodes[0], Tok) and nodes[0].text in IMPLIES:
            nodes = nodes[1:]
        formula, condition = _split_condition(nodes)
        formula = [n for n in formula if not _is_sep(n)]
        reader = dialect.Reader(text, _backend_parse, formula)
        if condition is not None:
            found = dialect.read_relations(condition, reader)
            if found is None or len(found) != 1:
                raise reader.error("cannot read the condition", condition[0] if condition else None)
            row.condition = found[0]
        for node in formula:
            if isinstance(node, Tok) and node.text in IMPLIES:
                raise reader.error("an implication inside a row is not a step; put it on its own row", node)
        ops = dialect.relation_ops(formula)
        if not ops:
            row.terms = [_term(reader, formula)]
            row.sources = [scanner.source(text, formula)]
            return row
        parts = dialect.split_relation(formula, ops)
        row.ops = ["=" if op == ":=" else op for _, op, _ in ops]
        if not strip_spaces(parts[0]):
            row.continues = True
            parts = parts[1:]
        row.terms = [_term(reader, part) for part in parts]
        bounds = [0, *[scanner.end(formula[end - 1]) for _, _, end in ops]]
        stops = [formula[k].pos for k, _, _ in ops] + [scanner.end(formula[-1])]
        row.sources = [text[a:b].strip() for a, b in zip(bounds, stops, strict=True)]
        if row.continues:
            row.sources = row.sources[1:]
    except ParseError as exc:
        row.error = exc
    except RecursionError:
        row.error = ParseError("the formula is nested too deeply", None, text)
    return row


def _term(reader: dialect.Reader, nodes: list):
    try:
        return reader.value(nodes, "side of a relation")
    except ParseError as exc:
        return exc
    except (TypeError, ValueError, AttributeError, IndexError, NotImplementedError) as exc:
        # SymPy refused what the notation built (e.g. a sum over a non-symbol)
        return ParseError(f"cannot build {text_of(nodes)!r}: {exc}", nodes[0].pos if nodes else None, reader.text)


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
    if row.error is not None:
        raise row.error
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
