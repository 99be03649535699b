"""Random exact points at which both sides of a step are evaluated, and the comparison.

Inputs are exact rationals drawn from the domain (or from assumed ranges such as
``0 < a < 1``); a group of atoms assumed to sum to 1 (``Σ y = 1``) is normalised.
Values are computed to :data:`DIGITS` significant digits and compared with a
relative :data:`TOLERANCE`.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

import mpmath
import sympy as sp

DIGITS = 30
TOLERANCE = sp.Float("1e-20")
FAST_DIGITS = 50  # working precision of the compiled evaluation


@dataclass
class Sampler:
    """Random exact points; ranges from assumptions; Σ y = 1 imposed by normalisation."""

    rng: random.Random
    ranges: dict = field(default_factory=dict)  # symbol -> (low, high)
    simplex: list = field(default_factory=list)  # lists of atoms whose values sum to 1
    fixed: dict = field(default_factory=dict)  # atom -> the value an assumption gives it (x = 1)

    def point(self, symbols: list, wide: bool) -> dict:
        """Values for ``symbols``: in (-2.5, 2.5) when ``wide``, else in (0.05, 0.95), or their range."""
        values = {}
        for s in symbols:
            low, high = self.ranges.get(s, (-2.5, 2.5) if wide else (0.05, 0.95))
            low = max(low, -1e6)
            high = min(high, low + 5 if high == float("inf") else high)
            span = high - low
            raw = low + span * (0.04 + 0.92 * self.rng.random())
            values[s] = sp.Rational(round(raw * 100), 100) if span > 0.1 else sp.Rational(str(round(raw, 6)))
        for group in self.simplex:
            members = [m for m in group if m in values]
            if members:
                weights = [sp.Rational(self.rng.randint(5, 95), 100) for _ in members]
                total = sum(weights)
                values.update({m: w / total for m, w in zip(members, weights, strict=True)})
        values.update({s: v for s, v in self.fixed.items() if s in values})
        return values

    def atoms(self) -> set:
        """The symbols and indexed atoms of the groups that sum to 1."""
        return {m for group in self.simplex for m in group if isinstance(m, (sp.Symbol, sp.Indexed))}


def ranges(assumptions: list) -> dict:
    """symbol -> (low, high) from assumed inequalities with a number on one side."""
    found: dict = {}
    for rel in assumptions:
        if not isinstance(rel, (sp.StrictLessThan, sp.LessThan, sp.StrictGreaterThan, sp.GreaterThan)):
            continue
        small, big = (rel.lhs, rel.rhs) if isinstance(rel, (sp.StrictLessThan, sp.LessThan)) else (rel.rhs, rel.lhs)
        if isinstance(big, (sp.Symbol, sp.Indexed)) and small.is_number:
            low, high = found.get(big, (-float("inf"), float("inf")))
            found[big] = (max(low, float(small)), high)
        elif isinstance(small, (sp.Symbol, sp.Indexed)) and big.is_number:
            low, high = found.get(small, (-float("inf"), float("inf")))
            found[small] = (low, min(high, float(big)))
    out = {}
    for s, (low, high) in found.items():
        if low == -float("inf"):
            low = high - 5
        out[s] = (low, high)
    return out


def fixed_values(assumptions: list) -> dict:
    """atom -> value of the assumptions that fix one (``x = 1``, ``y_2 = 0``)."""
    found = {}
    for rel in assumptions:
        if isinstance(rel, sp.Equality):
            for atom, value in ((rel.lhs, rel.rhs), (rel.rhs, rel.lhs)):
                if isinstance(atom, (sp.Symbol, sp.Indexed)) and value.is_Rational:
                    found[atom] = value
    return found


def simplex_sums(assumptions: list) -> list[sp.Basic]:
    """The sums assumed to equal 1 (``Σ_k y_k = 1``)."""
    return [
        rel.lhs for rel in assumptions if isinstance(rel, sp.Equality) and isinstance(rel.lhs, sp.Sum) and rel.rhs == 1
    ]


def evaluate(expr: sp.Basic, point: dict) -> sp.Expr | None:
    """The value at ``point`` to DIGITS digits, or None where it is not a finite real."""
    try:
        value = sp.N(expr.xreplace(point), DIGITS)
    except (ZeroDivisionError, ValueError, TypeError, OverflowError):
        return None
    if value.has(sp.zoo, sp.oo, -sp.oo, sp.nan) or not value.is_number:
        return None
    re, im = value.as_real_imag()
    if not re.is_Float and not re.is_Number:
        return None
    if im != 0 and abs(im) > TOLERANCE * max(1, abs(re)):
        return None
    return sp.Float(re, DIGITS)


def agree(left: sp.Expr, right: sp.Expr) -> bool:
    """Whether two values are equal to the relative TOLERANCE."""
    return abs(left - right) <= TOLERANCE * max(1, abs(left), abs(right))


def value_symbols(expr: sp.Basic) -> set:
    """The symbols and Indexed atoms that take values (not the labels of Indexed bases)."""
    found: set = set()
    seen: set = set()
    todo = [expr]
    while todo:
        node = todo.pop()
        if node in seen:
            continue
        seen.add(node)
        if isinstance(node, (sp.Symbol, sp.Indexed)):
            found.add(node)
        elif getattr(node, "bound_symbols", None):  # a Sum or Lambda left as it is: its free symbols
            indexed = node.atoms(sp.Indexed)
            hidden = node.xreplace({ix: sp.Dummy() for ix in indexed})
            found |= {s for s in hidden.free_symbols if not isinstance(s, sp.Dummy)} | indexed
        else:
            todo.extend(arg for arg in node.args if isinstance(arg, sp.Basic))
    return found


_FUNCTIONS = {
    sp.exp: mpmath.exp,
    sp.log: mpmath.log,
    sp.tanh: mpmath.tanh,
    sp.sinh: mpmath.sinh,
    sp.cosh: mpmath.cosh,
    sp.sin: mpmath.sin,
    sp.cos: mpmath.cos,
    sp.tan: mpmath.tan,
    sp.atan: mpmath.atan,
    sp.Abs: abs,
    sp.erf: mpmath.erf,
    sp.erfc: mpmath.erfc,
}


class _Unsupported(Exception):
    pass


class Evaluator:
    """``evaluate`` of one expression at many points, in mpmath at FAST_DIGITS.

    A large resolved side (a network of a few layers) is slow to substitute into; walking
    it once per point with a memo of shared subexpressions is not.  Where the walk meets a
    construct it does not know, or the value is not a finite real, the exact :func:`evaluate`
    of ``exact()`` (the same expression in elementary form) decides; a caller confirms any
    disagreement of two sides with :meth:`exactly` too.
    """

    def __init__(self, expr: sp.Basic, exact: Callable[[], sp.Basic] | None = None) -> None:
        self.expr = expr
        self._exact = exact
        self._exact_form: sp.Basic | None = None

    def exactly(self, point: dict) -> sp.Expr | None:
        """The exact :func:`evaluate` at ``point``."""
        if self._exact_form is None:
            self._exact_form = self._exact() if self._exact is not None else self.expr
        return evaluate(self._exact_form, point)

    def __call__(self, point: dict) -> sp.Expr | None:
        """The value at ``point`` (exact rationals), or None where it is not a finite real."""
        with mpmath.workdps(FAST_DIGITS):
            try:
                value = mpmath.mpmathify(_walk(self.expr, point, {}))
            except (_Unsupported, ZeroDivisionError, ValueError, TypeError, OverflowError):
                return self.exactly(point)
            real, imag = mpmath.re(value), mpmath.im(value)
            if not mpmath.isfinite(real) or not mpmath.isfinite(imag) or abs(imag) > 1e-40 * max(1, abs(real)):
                return self.exactly(point)
            return sp.Float(mpmath.nstr(real, DIGITS + 5, min_fixed=-1, max_fixed=-1), DIGITS)


_ARGUMENT = sp.Dummy("t")
_ELEMENTARY: dict = {}  # catalog function class -> its elementary form in _ARGUMENT


def _walk(node: sp.Basic, point: dict, memo: dict):
    """The mpmath value of ``node`` at ``point`` (shared subexpressions computed once)."""
    if node in memo:
        return memo[node]
    if node in point:
        value = _number(point[node])
    elif node.is_Number:
        value = _number(node)
    elif node is sp.pi:
        value = mpmath.pi
    elif node is sp.E:
        value = mpmath.e
    elif isinstance(node, sp.Add):
        value = mpmath.fsum(_walk(arg, point, memo) for arg in node.args)
    elif isinstance(node, sp.Mul):
        value = mpmath.fprod(_walk(arg, point, memo) for arg in node.args)
    elif isinstance(node, sp.Pow):
        value = mpmath.power(_walk(node.base, point, memo), _walk(node.exp, point, memo))
    elif type(node) in _FUNCTIONS and len(node.args) == 1:
        value = _FUNCTIONS[type(node)](_walk(node.args[0], point, memo))
    elif isinstance(node, (sp.Max, sp.Min)):
        values = [_walk(arg, point, memo) for arg in node.args]
        if any(isinstance(v, mpmath.mpc) for v in values):
            raise _Unsupported("a complex argument of max or min")
        value = max(values) if isinstance(node, sp.Max) else min(values)
    elif isinstance(node, sp.Heaviside):  # θ(0) is the step's own value at 0 (1/2 unless it says otherwise)
        x = _walk(node.args[0], point, memo)
        if isinstance(x, mpmath.mpc) or x == 0:
            raise _Unsupported("the step at 0: the exact evaluation decides")
        value = mpmath.mpf(1) if x > 0 else mpmath.mpf(0)
    elif hasattr(type(node), "elementary") and len(node.args) == 1:  # a catalog function: σ, softplus, …
        if type(node) not in _ELEMENTARY:
            _ELEMENTARY[type(node)] = type(node).elementary(_ARGUMENT)
        inner = {**point, _ARGUMENT: _walk(node.args[0], point, memo)}  # a parameter (elu's α) from point
        value = _walk(_ELEMENTARY[type(node)], inner, {})
    elif isinstance(node, sp.Piecewise):
        value = _walk(_branch(node, point, memo), point, memo)
    else:
        raise _Unsupported(type(node).__name__)
    memo[node] = value
    return value


def _branch(node: sp.Piecewise, point: dict, memo: dict) -> sp.Basic:
    """The value of the first piece whose condition holds at ``point``."""
    for value, condition in node.args:
        if _holds(condition, point, memo):
            return value
    raise _Unsupported("no piece holds")


#: Relations whose truth the walk decides (a tie, within rounding, is left to the exact evaluation).
_RELATIONS = {
    sp.StrictLessThan: lambda d: d < 0,
    sp.LessThan: lambda d: d <= 0,
    sp.StrictGreaterThan: lambda d: d > 0,
    sp.GreaterThan: lambda d: d >= 0,
    sp.Eq: lambda d: d == 0,
    sp.Ne: lambda d: d != 0,
}


def _holds(condition: sp.Basic, point: dict, memo: dict) -> bool:
    """Whether a piece's condition holds at ``point``: true, a relation, And, Or or Not of them."""
    if condition is sp.true or condition is sp.false:
        return bool(condition)
    if isinstance(condition, sp.And):
        return all(_holds(c, point, memo) for c in condition.args)
    if isinstance(condition, sp.Or):
        return any(_holds(c, point, memo) for c in condition.args)
    if isinstance(condition, sp.Not):
        return not _holds(condition.args[0], point, memo)
    decide = _RELATIONS.get(type(condition))
    if decide is None:
        raise _Unsupported(type(condition).__name__)
    left, right = _walk(condition.lhs, point, memo), _walk(condition.rhs, point, memo)
    if isinstance(left, mpmath.mpc) or isinstance(right, mpmath.mpc):
        raise _Unsupported("a complex side of a condition")
    difference = left - right
    if abs(difference) <= mpmath.mpf(10) ** (10 - FAST_DIGITS) * max(1, abs(left), abs(right)):
        raise _Unsupported("a condition at its boundary: the exact evaluation decides")
    return decide(difference)


def _number(value):
    if isinstance(value, (mpmath.mpf, mpmath.mpc)):
        return value
    if value.is_Rational:
        return mpmath.mpf(int(value.p)) / int(value.q)
    if value.is_Float:
        return mpmath.mpf(value._mpf_) if hasattr(value, "_mpf_") else mpmath.mpf(str(value))
    raise _Unsupported(type(value).__name__)
