"""Cancellation and saturation analysis of the output error δ = ∂C/∂z.

Every catalog activation is continuous and non-decreasing, so as z → ±∞ the
output a tends to the ends of its range; limits and bounds are taken in a
where δ is written through a (fast, by leading terms when δ is rational), and
in z otherwise (relu keeps its Heaviside step H(z)).
"""

from __future__ import annotations

import sympy as sp

from derive.engine import steps
from derive.engine.notation import a, y, z

#: The two ends where a neuron is saturated and wrong, with the target there.
WRONG_ENDS: dict[str, tuple[sp.Expr, int]] = {
    "z->oo, y=0": (sp.oo, 0),
    "z->-oo, y=1": (-sp.oo, 1),
}


def analyse(delta: sp.Expr, act) -> steps.Analysis:
    """Cancellation, the slowdown factor and its bound, and saturation of ``delta``."""
    factor = _factor(delta)
    cancels = factor != 0 and not factor.free_symbols & {a, y, z} and not factor.atoms(sp.Function)
    limits = {end: _wrong_endlimit(delta.subs(y, target), act, to) for end, (to, target) in WRONG_ENDS.items()}
    return steps.Analysis(
        cancels=bool(cancels),
        factor=factor,
        bound=_bound(factor, act),
        limits=limits,
        saturates=any(limit == 0 for limit in limits.values()),
    )


def _factor(delta: sp.Expr) -> sp.Expr:
    """δ / (a − y), the factor by which learning is scaled."""
    factor = sp.Mul(delta, 1 / (a - y))
    if factor.has(1 / (a - y)):
        factor = sp.factor(sp.cancel(factor))
    return factor


def _wrong_endlimit(expr: sp.Expr, act, to: sp.Expr) -> sp.Expr:
    """lim expr as z → ``to`` (±∞), for a = act(z)."""
    if expr.has(z):
        return sp.limit(expr.subs(a, act.elementary(z)).rewrite("elementary"), z, to)
    rng = act.output_range
    end, side = (rng.sup, "-") if to is sp.oo else (rng.inf, "+")
    return limit(expr, a, end, side)


def limit(expr: sp.Expr, var: sp.Symbol, end: sp.Expr, side: str) -> sp.Expr:
    """One-sided limit; by substitution or leading terms when ``expr`` is rational."""
    if expr.is_rational_function(var):
        if end.is_finite:
            value = sp.cancel(expr).subs(var, end)
            if value.is_finite:  # continuous there
                return value
        else:
            num, den = (sp.Poly(part, var) for part in sp.fraction(sp.cancel(expr)))
            order, lead = num.degree() - den.degree(), num.LC() / den.LC()
            if order < 0:
                return sp.S.Zero
            if order == 0:
                return lead
            return sp.oo * sp.sign(lead * (1 if end is sp.oo else (-1) ** order))
    return sp.limit(expr, var, end, side)


def _bound(factor: sp.Expr, act) -> sp.Expr | None:
    """sup |factor| over the activation's outputs (or over z), None if not found."""
    if not factor.free_symbols:
        return sp.Abs(factor)
    if factor.free_symbols == {a}:
        var, domain = a, act.output_range
    elif factor.free_symbols == {z}:
        var, domain = z, sp.S.Reals
    else:
        return None
    pieces = factor.rewrite(sp.Piecewise)  # Heaviside steps as pieces
    pairs = pieces.as_expr_set_pairs(domain) if isinstance(pieces, sp.Piecewise) else [(factor, domain)]
    try:
        return sp.Max(*(_sup_abs(f, var, s) for f, s in pairs if s))
    except (NotImplementedError, ValueError):
        return None


def _sup_abs(f: sp.Expr, var: sp.Symbol, interval: sp.Set) -> sp.Expr:
    """sup |f| over an interval: the larger |f| at its ends and critical points.

    Critical points are the real roots of f′ for a polynomial; any other f must
    be provably monotone (f′ of one sign inside), else NotImplementedError.
    """
    if isinstance(interval, sp.FiniteSet):
        return sp.Max(*(sp.Abs(f.subs(var, point)) for point in interval))
    if not isinstance(interval, sp.Interval):
        raise NotImplementedError(f"not an interval: {interval}")
    if f.is_polynomial(var):
        poly = sp.Poly(f, var)
        inside = [abs(poly.eval(r)) for r in poly.diff(var).real_roots() if interval.contains(r) is sp.true]
    else:
        slope = sp.diff(f, var).subs(var, _inside(interval))
        if not (slope.is_positive or slope.is_negative):  # decided before the (slower) limits at the ends
            raise NotImplementedError(f"cannot find the supremum of |{f}|")
        inside = []
    ends = [sp.Abs(limit(f, var, end, side)) for end, side in ((interval.inf, "+"), (interval.sup, "-"))]
    return sp.Max(*ends, *inside)


def _inside(interval: sp.Interval) -> sp.Expr:
    """A symbol standing for any point inside a (0, oo), (0, 1), (-1, 1) or real interval."""
    lo, hi = interval.inf, interval.sup
    if lo == 0 and hi is sp.oo:
        return sp.Dummy("p", positive=True)
    if lo is sp.S.NegativeInfinity and hi is sp.oo:
        return sp.Dummy("r", real=True)
    raise NotImplementedError(f"no sign assumptions for {interval}")
