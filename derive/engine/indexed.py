"""Index notation over K classes, and proofs of equalities that contain sums.

Symbols: vectors ``a``, ``y``, ``z`` (``IndexedBase``: ``str(a[j]) == "a[j]"``),
indices ``i, j, k`` and the number of classes ``K``.

**Symbolic K** (sums are never expanded).  Both sides go to a normal form by
sound rules only, then the difference must cancel:

1. sums are linear: Σ(f + g) = Σf + Σg, Σ c·f = c·Σf for c free of the
   summation index, Σ c = K·c;
2. Kronecker-delta sums are evaluated, Σ_k δ_jk f_k = f_j: the range
   condition 1 ≤ j ≤ K holds for every free index (they are classes);
3. logs of products and quotients are expanded (then 1 and 2 again);
4. summation indices are renamed canonically by nesting depth;
5. the step's conditions apply (i = j, i ≠ j, Σ_k y_k = 1);
6. e^{Σ c_m z_m + r} becomes Π T_m^{c_m}·e^r, every remaining sum an opaque atom, and
   the numerator of the combined fraction must expand to 0.

**Explicit K** (a number): sums are expanded, every free index runs over
1..K, and the same rational-function test decides each entry.

``False`` means "not proven", never "different".
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable

import sympy as sp

from derive.engine import notation

i = sp.Symbol("i", integer=True, positive=True)
j = notation.j
k = notation.k
l = sp.Symbol("l", integer=True, positive=True)  # noqa: E741 - an input index, as in w_jl
K = sp.Symbol("K", integer=True, positive=True)
a = sp.IndexedBase("a")
y = sp.IndexedBase("y")
z = sp.IndexedBase("z")
INDICES = (i, j, k, l)
_T = sp.IndexedBase("T", positive=True)


def ksum(expr: sp.Expr, index: sp.Symbol = k, classes: sp.Expr = K) -> sp.Sum:
    """Σ_{index=1}^{classes} expr."""
    return sp.Sum(expr, (index, 1, classes))


def sum_to_one(vector: sp.IndexedBase = y) -> sp.Eq:
    """The condition Σ_k vector_k = 1 (targets, or softmax outputs, form a distribution)."""
    return sp.Eq(ksum(vector[k]), 1, evaluate=False)


# -- symbolic K ---------------------------------------------------------------------


def is_zero(expr: sp.Expr, conditions: Iterable[sp.Basic] = ()) -> bool:
    """True when ``expr`` (elementary, sums over 1..K) is proven 0 for every K and index."""
    form = normal_form(expr, conditions)
    atoms = {s: sp.Dummy("S") for s in form.atoms(sp.Sum)}
    numerator = sp.fraction(sp.together(form.xreplace(atoms)))[0]
    return sp.expand(numerator) == 0


def normal_form(expr: sp.Expr, conditions: Iterable[sp.Basic] = ()) -> sp.Expr:
    """The normal form of the module docstring (steps 1–5, then 6 without atomising sums)."""
    expr = resolve_ranges(notation.evaluate_products(expr))
    expr = kronecker_sums(linear_sums(expr))  # e^{z_k - m} → e^{-m} e^{z_k}: out of the sum, so logs split
    if expr.has(sp.log):
        expr = kronecker_sums(linear_sums(sp.expand_log(expr, force=True)))
    expr = _canonical(expr)
    for condition in conditions:
        expr = _apply(expr, condition)
    return _exponentials(expr)


def resolve_ranges(expr: sp.Expr) -> sp.Expr:
    """Piecewise((f, j ≤ K), (0, True)) → f: every free index is a class 1..K."""

    def first_branch(*pairs):
        value, condition = pairs[0]
        if _range_condition_holds(condition):
            return value
        return sp.Piecewise(*pairs)

    return expr.replace(sp.Piecewise, first_branch)


def _range_condition_holds(condition: sp.Basic) -> bool:
    """True for a range condition such as ``j <= K`` or ``1 <= j``: every index lies in its range."""
    if condition is sp.true:
        return True
    rels = condition.atoms(sp.core.relational.Relational)
    if not rels:
        return False
    m = sp.Symbol("m", integer=True, nonnegative=True)
    for rel in rels:
        indices = rel.free_symbols & set(INDICES)
        sizes = rel.free_symbols - indices
        if len(indices) != 1 or not all(s.is_integer and s.is_positive for s in sizes):
            return False
        (index,) = indices
        if rel.subs({size: index + m for size in sizes}) is not sp.true:
            return False
    return True


def linear_sums(expr: sp.Expr) -> sp.Expr:
    """Σ(f + g) → Σf + Σg, Σ c·f → c·Σf, Σ c → K·c (innermost sums first)."""

    def split(function, *limits):
        if len(limits) != 1:
            return sp.Sum(function, *limits)
        index, low, high = limits[0]
        total = sp.S.Zero
        for term in sp.Add.make_args(sp.expand(function)):
            coeff, rest = term.as_independent(index, as_Add=False)
            total += coeff * (high - low + 1 if rest == 1 else sp.Sum(rest, (index, low, high)))
        return total

    return expr.replace(sp.Sum, split)


def kronecker_sums(expr: sp.Expr) -> sp.Expr:
    """Σ_k f_k δ_kj → f_j for every term of every sum (j is a class, so 1 ≤ j ≤ K).

    Run after :func:`linear_sums`, which leaves each sum over one product term.
    Much faster than ``Sum.doit``, which also tries telescoping and hypergeometric sums.
    """

    def evaluate(function, *limits):
        if len(limits) != 1:
            return sp.Sum(function, *limits)
        index = limits[0][0]
        for factor in sp.Mul.make_args(function):
            if isinstance(factor, sp.KroneckerDelta) and index in factor.args:
                other = factor.args[1] if factor.args[0] == index else factor.args[0]
                if other != index and not other.has(index):
                    return (function / factor).xreplace({index: other})
        return sp.Sum(function, *limits)

    return expr.replace(sp.Sum, evaluate)


def _canonical(expr: sp.Expr, depth: int = 0) -> sp.Expr:
    """Rename every summation index after its nesting depth: Σ_k f_k and Σ_l f_l become one atom."""
    if isinstance(expr, sp.Sum) and len(expr.limits) == 1:
        index, low, high = expr.limits[0]
        new = sp.Symbol(f"sum{depth}", integer=True, positive=True)
        body = _canonical(expr.function.xreplace({index: new}), depth + 1)
        return sp.Sum(body, (new, low, high))
    if not expr.args or isinstance(expr, sp.Indexed):
        return expr
    return expr.func(*(_canonical(arg, depth) for arg in expr.args))


def _apply(expr: sp.Expr, condition: sp.Basic) -> sp.Expr:
    """Use one condition: i = j, i ≠ j, or Σ_k v_k = 1."""
    lhs, rhs = condition.args
    if isinstance(lhs, sp.Sum):
        return expr.xreplace({_canonical(lhs): rhs})
    if isinstance(condition, sp.Eq):
        return expr.subs(lhs, rhs)
    if isinstance(condition, sp.Ne):
        return expr.xreplace({sp.KroneckerDelta(lhs, rhs): 0})
    raise ValueError(f"unknown condition {condition}")


def _exponentials(expr: sp.Expr) -> sp.Expr:
    """e^{c₁z_m + c₂z_n} → T_m^{c₁} T_n^{c₂}, so products of exponentials are monomials."""

    def monomial(arg):
        factors = []
        for term in sp.Add.make_args(sp.expand(arg)):
            coeff, base = term.as_coeff_Mul()
            is_z = isinstance(base, sp.Indexed) and base.base == z
            factors.append(_T[base.indices[0]] ** coeff if is_z else sp.exp(term))
        return sp.Mul(*factors)

    return expr.replace(sp.exp, monomial)


# -- explicit K -------------------------------------------------------------------


def instantiate(expr: sp.Expr, classes: int, values: dict[sp.Symbol, int]) -> sp.Expr:
    """``expr`` with K and free indices set to numbers, every sum expanded."""
    expr = notation.evaluate_products(expr).xreplace({K: sp.Integer(classes)})
    if values:
        expr = expr.subs(values)
    return expr.doit() if expr.has(sp.Sum) else expr


def index_values(expr: sp.Basic, classes: int, conditions: Iterable[sp.Basic] = ()):
    """Every assignment of 1..K to the free indices of ``expr`` that meets the conditions."""
    free = sorted(expr.free_symbols & set(INDICES), key=str)
    conditions = list(conditions)
    for combo in itertools.product(range(1, classes + 1), repeat=len(free)):
        values = dict(zip(free, map(sp.Integer, combo), strict=True))
        if all(_index_condition(c).subs(values) is not sp.false for c in conditions):
            yield values


def _index_condition(condition: sp.Basic) -> sp.Basic:
    return sp.true if isinstance(condition.args[0], sp.Sum) else condition


def is_zero_explicit(expr: sp.Expr, classes: int, conditions: Iterable[sp.Basic] = ()) -> bool:
    """True when ``expr`` is proven 0 at K = ``classes`` for every index assignment."""
    conditions = list(conditions)
    for values in index_values(expr, classes, conditions):
        entry = instantiate(expr, classes, values)
        for condition in conditions:
            if isinstance(condition.args[0], sp.Sum):  # Σ_k v_k = 1: eliminate v_K
                vector = condition.args[0].function.base
                rest = sum(vector[m] for m in range(1, classes))
                entry = entry.subs(vector[classes], 1 - rest)
        if entry.has(sp.log):
            entry = sp.expand_log(entry, force=True)
        entry = _exponentials(entry)
        if sp.expand(sp.fraction(sp.together(entry))[0]) != 0:
            return False
    return True
