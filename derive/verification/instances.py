"""Instantiation of a step: bounds and free indices become small integers, sums become terms.

A step such as ``∂C/∂z_j = Σ_k …`` is checked under a few *instantiations*: every
symbolic bound (K, N_x) is set to the trial's size and every free index (i, j, l)
to a value in ``1..size`` that respects the step's conditions (``i ≠ j``).  Sums
with integer bounds are then expanded term by term.
"""

from __future__ import annotations

import random

import sympy as sp

from derive.errors import Undecidable
from derive.parse import sums

#: The operators over an index range that an instantiation writes out term by term.
_REDUCTIONS = (sp.Sum, sp.Product, sums.Extremum)

MAX_TERMS = 60  # an instantiated sum longer than this is refused
SIZE = sp.Symbol("⟨size⟩")  # key of the trial's size in the values of an instantiation


def instantiate(expr: sp.Basic, values: dict) -> sp.Basic:
    """``expr`` with ``values`` put in; sums with integer bounds expanded term by term."""
    if isinstance(expr, sp.Symbol):
        return values.get(expr, expr)
    if isinstance(expr, sp.IndexedBase) or not expr.args:
        return expr
    if isinstance(expr, _REDUCTIONS):
        return _expand_sum(expr, values)
    if isinstance(expr, sp.Derivative):
        variables = [(instantiate(v, values), n) for v, n in expr.variable_count]
        return sp.Derivative(instantiate(expr.expr, values), *variables, evaluate=False)
    if isinstance(expr, sp.Subs):
        point = [instantiate(p, values) for p in expr.point]
        return sp.Subs(expr.expr, expr.variables, point)
    return expr.func(*[instantiate(arg, values) for arg in expr.args])


def _expand_sum(expr: sp.Sum | sp.Product | sums.Extremum, values: dict) -> sp.Basic:
    """A sum (product, max or min) with limits that instantiate to integers, as its explicit terms."""
    body, (var, lower, upper) = expr.function, expr.limits[-1]
    if len(expr.limits) > 1:  # Sum(f, (k, …), (l, …)): the last limit is the outermost sum
        body = expr.func(body, *expr.limits[:-1])
    lower, upper = instantiate(lower, values), instantiate(upper, values)
    if isinstance(upper, sp.Indexed) and SIZE in values:  # n_{l+1}: the size of a layer
        upper = values[SIZE]
    if not (lower.is_Integer and upper.is_Integer):
        raise Undecidable(f"the limits of {expr} are not numbers")
    if upper - lower + 1 > MAX_TERMS:
        raise Undecidable(f"a sum of more than {MAX_TERMS} terms")
    span = range(int(lower), int(upper) + 1)
    if _is_sample_sum(expr) and _plain_occurrence(body, var):
        # \sum_x over the samples: a plain x in the body is that sample's input, not the index
        terms = [instantiate(body, values) for _ in span]
    else:
        terms = [instantiate(body, {**values, var: sp.Integer(v)}) for v in span]
    if isinstance(expr, sums.Extremum):
        return expr.reduce(terms)
    return sp.Add(*terms) if isinstance(expr, sp.Sum) else sp.Mul(*terms)


def _is_sample_sum(expr: sp.Sum) -> bool:
    """A sum written without bounds (\\sum_x): its upper limit is the fresh symbol N_x."""
    var, _, upper = expr.limits[0]
    return isinstance(upper, sp.Symbol) and upper.name == f"N_{var.name}"


def _plain_occurrence(body: sp.Basic, var: sp.Symbol) -> bool:
    """Whether ``var`` occurs in ``body`` as a value and never as an index."""
    indexing = [*body.atoms(sp.Indexed), *body.atoms(sp.KroneckerDelta)]
    if any(var in ix.free_symbols for node in indexing for ix in getattr(node, "indices", node.args)):
        return False
    hidden = body.xreplace({node: sp.Dummy() for node in indexing})
    return var in hidden.free_symbols


def integer_symbols(exprs: list[sp.Basic]) -> tuple[set, set]:
    """(bound symbols, index symbols) of the expressions: K, N_x, …; i, j, l, …"""
    bounds: set = set()
    indices: set = set()

    def walk(node: sp.Basic, bound: frozenset) -> None:
        if isinstance(node, _REDUCTIONS):
            for var, lower, upper in node.limits:
                bounds.update(s for s in upper.free_symbols | lower.free_symbols if s not in bound)
                bound = bound | {var}
            walk(node.function, bound)
            return
        if isinstance(node, sp.Indexed):
            for ix in node.indices:
                indices.update(s for s in ix.free_symbols if s not in bound)
            return
        if isinstance(node, sp.KroneckerDelta):
            indices.update(s for s in node.free_symbols if s not in bound)
            return
        for arg in node.args:
            if isinstance(arg, sp.Basic) and not isinstance(arg, sp.IndexedBase):
                walk(arg, bound)

    for expr in exprs:
        walk(expr, frozenset())
    return bounds, indices - bounds


def index_assignments(rng: random.Random, indices: list, size: int, conditions: list, distinct: bool) -> dict:
    """Values 1..size for the free indices that satisfy Eq/Ne conditions between them.

    With ``distinct`` the indices differ where the conditions allow: coinciding
    indices hide index slips (w_{jk} for w_{kj}).
    """
    for attempt in range(400):
        if distinct and attempt < 200 and len(indices) <= size:
            chosen = rng.sample(range(1, size + 1), len(indices))
            values = dict(zip(indices, (sp.Integer(v) for v in chosen), strict=False))
        else:
            values = {s: sp.Integer(rng.randint(1, size)) for s in indices}
        if all(_holds(c, values) for c in conditions):
            return values
    raise Undecidable("no index values satisfy the conditions " + ", ".join(map(str, conditions)))


def _holds(condition: sp.Basic, values: dict) -> bool:
    result = condition.xreplace(values)
    if result in (sp.true, sp.false):
        return bool(result)
    simplified = condition.func(*[a.xreplace(values) for a in condition.args])
    return simplified is not sp.false
