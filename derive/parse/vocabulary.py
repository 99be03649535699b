"""The words of the ML dialect: Greek letters, fonts, functions, relations, and the small shared types.

Everything here is data or a pure helper on the nodes of :mod:`derive.parse.scanner`; the modules
that give the notation its meaning (:mod:`derive.parse.names`, :mod:`derive.parse.calls`,
:mod:`derive.parse.derivatives`, :mod:`derive.parse.sums`, :mod:`derive.parse.dialect`) share it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import sympy as sp

from derive.catalog import activations
from derive.parse import scanner

GREEK = {
    *("alpha", "beta", "gamma", "delta", "epsilon", "varepsilon", "zeta", "eta", "theta", "vartheta", "iota"),
    *("kappa", "lambda", "mu", "nu", "xi", "pi", "rho", "varrho", "sigma", "varsigma", "tau", "upsilon", "phi"),
    *("varphi", "chi", "psi", "omega", "Gamma", "Delta", "Theta", "Lambda", "Xi", "Pi", "Sigma", "Upsilon"),
    *("Phi", "Psi", "Omega", "ell"),
}
#: Greek variants read as the plain letter.
GREEK_VARIANTS = {"varepsilon": "epsilon", "vartheta": "theta", "varrho": "rho"}
DECORATIONS = {
    "hat": "hat",
    "widehat": "hat",
    "bar": "bar",
    "overline": "bar",
    "tilde": "tilde",
    "widetilde": "tilde",
    "vec": "",  # \vec{z} is the vector z, written bold elsewhere: the plain name
    "dot": "dot",
    "check": "check",
    "breve": "breve",
}
FONTS = {
    *("mathbf", "boldsymbol", "bm", "mathcal", "mathrm", "mathit", "mathsf", "mathbb", "mathtt", "mathscr"),
    *("mathfrak", "text", "textrm", "textit", "textbf", "operatorname", "mbox"),
}
#: Function names and what they are.  \log without a base is the natural log.
FUNCTIONS: dict[str, Callable] = {
    "sigma": activations.sigmoid,
    "varsigma": activations.sigmoid,
    "sigmoid": activations.sigmoid,
    "tanh": sp.tanh,
    "exp": sp.exp,
    "ln": sp.log,
    "log": sp.log,
    "max": sp.Max,
    "min": sp.Min,
    "sin": sp.sin,
    "cos": sp.cos,
    "tan": sp.tan,
    "sinh": sp.sinh,
    "cosh": sp.cosh,
    "sech": sp.sech,
    "csch": sp.csch,
    "coth": sp.coth,
    "sec": sp.sec,
    "csc": sp.csc,
    "cot": sp.cot,
    "arcsin": sp.asin,
    "arccos": sp.acos,
    "arctan": sp.atan,
    "softplus": activations.softplus,
    "relu": activations.relu,
    "ReLU": activations.relu,
    "LeakyReLU": activations.leaky_relu,
    "ELU": activations.elu,
    "GELU": activations.gelu,
    "GELUtanh": activations.gelu_tanh,
    "SiLU": activations.silu,
    "swish": activations.silu,
    "softsign": activations.softsign,
    "hardsigmoid": activations.hard_sigmoid,
    "erf": sp.erf,
    "erfc": sp.erfc,
    "theta": sp.Heaviside,
    "Heaviside": sp.Heaviside,
    "sqrt": sp.sqrt,
    "abs": sp.Abs,
    "id": sp.Id,
    "identity": sp.Id,
}
#: Heads that are always calls when followed by parentheses.
CALL_HEADS = {"f", "g", "h", "phi", "varphi", "ell"}
#: Greek heads that are a plain symbol when nothing is applied to them.
SYMBOL_HEADS = {"sigma", "varsigma", "phi", "varphi", "ell", "theta"}
#: The commands of an ellipsis (``y_1 + \\dots + y_n``).
ELLIPSES = ("dots", "cdots", "ldots", "dotsb", "dotsc", "dotsm", "vdots", "ddots")
TRANSPOSE = {"T", r"\top", r"\intercal", "\\mathsf{T}", "\\mathrm{T}"}
RELATIONS = {
    "=": "=",
    "<": "<",
    ">": ">",
    r"\neq": r"\neq",
    r"\ne": r"\neq",
    r"\le": r"\le",
    r"\leq": r"\le",
    r"\leqslant": r"\le",
    r"\ge": r"\ge",
    r"\geq": r"\ge",
    r"\geqslant": r"\ge",
}
DEFINES = {r"\coloneqq", r"\equiv", r"\triangleq", r"\doteq", r"\stackrel", r"\overset", r"\eqqcolon"}
PRODUCTS = {r"\cdot", r"\times", r"\odot", r"\ast", r"\circ"}
WRAPPERS = {
    r"\underbrace",
    r"\overbrace",
    r"\boxed",
    r"\cancel",
    r"\bcancel",
    r"\xcancel",
    r"\cancelto",
    r"\underset",
    r"\phantom",
}
#: Fonts of math (not text): ``\\mathbf{x_{i}}`` is the name x_i.
MATH_FONTS = {"mathbf", "boldsymbol", "bm", "mathcal", "mathrm", "mathit", "mathsf", "mathbb", "mathscr"}
#: Commands that are (or hold) a name.
NAME_COMMANDS = GREEK | set(DECORATIONS) | FONTS
RELATION_MAKERS = {"=": sp.Eq, r"\neq": sp.Ne, "<": sp.Lt, ">": sp.Gt, r"\le": sp.Le, r"\ge": sp.Ge}


# ---- the shapes the reader passes around ---------------------------------------------------------
class Piece(NamedTuple):
    """An operand read into backend text (placeholders and operators) and the index after it."""

    text: str
    end: int


class Span(NamedTuple):
    """Some nodes (a TeX argument, a script, a bare argument) and the index after them."""

    nodes: list
    end: int


class Name(NamedTuple):
    """The base name of an atom: its text, whether it is a multi-letter word, the index after it."""

    text: str
    word: bool
    end: int


class Scripts(NamedTuple):
    """What follows a name: subscript and superscript nodes (or None), the number of primes, the next index."""

    sub: list | None
    sup: list | None
    primes: int
    end: int


class Atom(NamedTuple):
    """A name with its indices read: its value, a superscript that is a power, primes, name, word, next index."""

    value: sp.Expr
    power: list | None
    primes: int
    name: str
    word: bool
    end: int
    layer: sp.Expr | None = None  # the layer or sample superscript (l, (L), [l]) read as the first index


class RelationOp(NamedTuple):
    """A top-level relation symbol: its first node, the symbol (``=``, ``<``, ``:=``…), the index after it."""

    start: int
    symbol: str
    end: int


# ---- helpers on nodes ---------------------------------------------------------------------------
def is_tok(node, kind: str, *texts: str) -> bool:
    """Whether ``node`` is a token of ``kind`` (and, if given, one of ``texts``)."""
    return isinstance(node, scanner.Tok) and node.kind == kind and (not texts or node.text in texts)


def is_group(node, *opens: str) -> bool:
    """Whether ``node`` is a group (opened by one of ``opens``, if given)."""
    return isinstance(node, scanner.Group) and (not opens or node.open in opens)


def adjacent(first: scanner.Tok, second) -> bool:
    """Whether ``second`` is a token written right after ``first``, with no space between."""
    return isinstance(second, scanner.Tok) and second.pos == first.stop


def continues_product(node) -> bool:
    """Whether ``node``, written after an operand, is a factor multiplied without an operator sign."""
    if isinstance(node, scanner.Group):
        return not node.open.startswith("env:")
    if is_tok(node, "letter") or is_tok(node, "number"):
        return True
    if not is_tok(node, "cmd"):
        return False
    name = node.text[1:]
    return name in NAME_COMMANDS or name in FUNCTIONS or name in ("frac", "dfrac", "tfrac", "sqrt", "sum", "prod")


def split_top(nodes: list, is_separator: Callable) -> list[list]:
    """``nodes`` cut at the top-level nodes for which ``is_separator`` holds."""
    parts: list[list] = [[]]
    for node in nodes:
        if is_separator(node):
            parts.append([])
        else:
            parts[-1].append(node)
    return parts


def make_relation(op: str, lhs: sp.Basic, rhs: sp.Basic) -> sp.Basic:
    """The unevaluated relation ``lhs op rhs`` (``Eq(a, a)`` stays an equation)."""
    return RELATION_MAKERS[op](lhs, rhs, evaluate=False)


def relation_ops(nodes: list) -> list[RelationOp]:
    """The top-level relation symbols of ``nodes``."""
    found = []
    k = 0
    while k < len(nodes):
        node = nodes[k]
        if is_tok(node, "op", ":") and k + 1 < len(nodes) and is_tok(nodes[k + 1], "op", "="):
            found.append(RelationOp(k, ":=", k + 2))
            k += 2
            continue
        if is_tok(node, "op", "=", "<", ">") or is_tok(node, "cmd", *RELATIONS):
            found.append(RelationOp(k, RELATIONS[node.text], k + 1))
        elif is_tok(node, "cmd", *DEFINES):
            end = k + 3 if node.text in (r"\stackrel", r"\overset") else k + 1
            found.append(RelationOp(k, ":=", end))
        k += 1
    return found


def split_relation(nodes: list, ops: list[RelationOp]) -> list[list]:
    """The sides of ``nodes`` between the relation symbols ``ops`` (from :func:`relation_ops`)."""
    parts, start = [], 0
    for op in ops:
        parts.append(nodes[start : op.start])
        start = op.end
    parts.append(nodes[start:])
    return parts
