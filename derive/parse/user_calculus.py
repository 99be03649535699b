"""Calculus of user formulas: ∂L/∂a as a person writes it, and f′ written through the output a = f(z).

Each result is proven (cancel, else ``simplify`` within the budget of :mod:`derive.parse.domains`);
what is not proven is not used.
"""

from __future__ import annotations

from collections.abc import Mapping

import sympy as sp

from derive.parse import domains

#: The variables of derive's notation (plain symbols: equal to those of derive.engine.notation).
a, z = sp.symbols("a z")


def written(raw: sp.Expr) -> sp.Expr:
    """∂L/∂a as a person writes it: over one denominator, a polynomial in a, when it has one (bce's a(1 − a)).

    That is the form in which a factor of the activation's derivative cancels in δ.  Otherwise
    common factors are taken out when that is shorter.
    """
    tidy = min([raw, sp.factor_terms(raw), sp.powsimp(sp.factor_terms(raw))], key=sp.count_ops)
    if raw.has(sp.Piecewise, sp.Heaviside, sp.Max, sp.Min):
        return tidy
    one = domains.within(
        domains.BUDGET / 4, lambda: min([sp.together(raw), sp.factor(sp.cancel(sp.together(raw)))], key=sp.count_ops)
    )
    if one is None or a not in sp.denom(one).free_symbols or not sp.denom(one).is_polynomial(a):
        return tidy
    return one


def through_output(rhs: sp.Expr, params: Mapping[sp.Symbol, sp.Set]) -> sp.Expr | None:
    """g(a) with g'(z) = g(g(z)) for every real z, proven; None when not found within the budget."""
    slope = sp.diff(rhs, z)
    if z not in slope.free_symbols:
        return slope  # a linear activation: the slope is a constant
    candidate = slope.subs(rhs, a) if not rhs.is_Symbol else None
    if candidate is not None and z not in candidate.free_symbols and _proven(candidate.xreplace({a: rhs}) - slope):
        return candidate
    return domains.within(domains.BUDGET, lambda: _inverse_route(rhs, params))


def _inverse_route(rhs: sp.Expr, params: Mapping[sp.Symbol, sp.Set]) -> sp.Expr | None:
    """Solve a = f(z) for z and put a solution into f′: the first g with g(f(z)) = f′(z) proven for every real z.

    Only with parameters of known sign (one case), and at most a few solutions (one branch of each).
    """
    cases = domains.sign_cases(params, limit=1)
    if not cases:
        return None
    case = cases[0]
    zr = sp.Dummy("z", real=True)
    f = rhs.rewrite("elementary").xreplace({z: zr, **case})
    slope_r = sp.diff(f, zr)
    solutions = sp.solve(sp.Eq(f, a), zr)[:4]
    solutions.sort(key=lambda solution: not _real_at(solution, f))  # the real branch first: the readable g
    for solution in solutions:
        at = slope_r.subs(zr, solution)
        candidate = min((sp.simplify(at), sp.simplify(at.rewrite(sp.exp))), key=sp.count_ops)
        if zr not in candidate.free_symbols and _proven(candidate.xreplace({a: f}) - slope_r):
            return candidate.xreplace({d: s for s, d in case.items() if isinstance(d, sp.Dummy)})
    return None


def _real_at(solution: sp.Expr, f: sp.Expr) -> bool:
    """Whether the branch ``solution`` is real at a value a = f(1/3) the activation takes (parameters ±1)."""
    point = {s: (-1 if s.is_negative or s.is_nonpositive else 1) for s in f.free_symbols if s.name != "z"}
    point.update({s: sp.Rational(1, 3) for s in f.free_symbols if s.name == "z"})
    value = sp.N(solution.xreplace(point).subs(a, f.xreplace(point)))
    return bool(value.is_real)


def _proven(difference: sp.Expr) -> bool:
    """``difference`` is 0 for every value: by cancel, else simplify within the budget."""
    plain = difference.rewrite("elementary")
    if sp.cancel(plain) == 0:
        return True
    return bool(domains.within(domains.BUDGET, lambda: sp.simplify(plain.rewrite(sp.exp)) == 0))
