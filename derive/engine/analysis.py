"""Cancellation and saturation analysis of the output error δ = ∂C/∂z.

As z → ±∞ the output a tends to the activation's ends (the ends of its range for
a non-decreasing one; 0 and ∞ for gelu and silu); limits and bounds are taken in a
where δ is written through a (fast, by leading terms when δ is rational), and
in z otherwise (relu keeps its Heaviside step H(z)).  A piecewise δ (huber) takes
the limit of the branch whose condition holds at the end.  A limit SymPy cannot
find is None: the analysis says "unknown" rather than guess.
"""

from __future__ import annotations

import sympy as sp

from derive.engine import proof, steps
from derive.engine.notation import a, y, z

#: The two ends where a neuron is saturated and wrong, with the target there (0 and 1 by default).
WRONG_ENDS: dict[str, tuple[sp.Expr, int]] = {
    "z->oo, y=0": (sp.oo, 0),
    "z->-oo, y=1": (-sp.oo, 1),
}


def wrong_ends(loss_cls=None) -> dict[str, tuple[sp.Expr, sp.Expr]]:
    """{"z->oo, y=lo": (oo, lo), "z->-oo, y=hi": (-oo, hi)} for the loss's labels (hinge: −1 and 1)."""
    if loss_cls is None:
        return dict(WRONG_ENDS)
    lo, hi = loss_cls.labels()
    return {f"z->oo, y={lo}": (sp.oo, lo), f"z->-oo, y={hi}": (-sp.oo, hi)}


def analyse(delta: sp.Expr, act, loss_cls=None) -> steps.Analysis:
    """Cancellation, the slowdown factor and its bound, and saturation of ``delta``."""
    factor = _factor(delta)
    cancels = factor != 0 and not factor.free_symbols & {a, y, z} and not factor.atoms(sp.Function)
    domains = {p.symbol: p.domain for p in (*act.parameters, *getattr(loss_cls, "parameters", ()))}
    signed = proof.signed_parameters(domains)  # α > 0 decides H(−α)
    back = {dummy: symbol for symbol, dummy in signed.items()}
    limits = {
        end: _safe_limit(delta.xreplace(signed).subs(y, target), act, to, signed, back)
        for end, (to, target) in wrong_ends(loss_cls).items()
    }
    return steps.Analysis(
        cancels=bool(cancels),
        factor=factor,
        bound=_bound(factor, act, signed, back),
        limits=limits,
        saturates=_saturates(limits),
    )


def _saturates(limits: dict[str, sp.Expr | None]) -> bool | None:
    """True when δ → 0 at a wrong end; None when that is unknown (a limit not found)."""
    if any(limit == 0 for limit in limits.values()):
        return True
    return None if None in limits.values() else False


def _safe_limit(expr: sp.Expr, act, to: sp.Expr, signed: dict, back: dict) -> sp.Expr | None:
    """The limit at the wrong end, or None when SymPy cannot find it (never a guess)."""
    try:
        value = _wrong_endlimit(expr, act, to, signed)
    except (NotImplementedError, TypeError, ValueError, AttributeError, RecursionError):
        return None
    if value.has(sp.Limit, sp.nan) or isinstance(value, sp.AccumBounds):
        return None
    return value.xreplace(back)


def _factor(delta: sp.Expr) -> sp.Expr:
    """δ / (a − y), the factor by which learning is scaled."""
    factor = sp.Mul(delta, 1 / (a - y))
    if factor.has(1 / (a - y)):
        factor = sp.factor(sp.cancel(factor))
    return factor


def _wrong_endlimit(expr: sp.Expr, act, to: sp.Expr, signed: dict) -> sp.Expr:
    """lim expr as z → ``to`` (±∞), for a = act(z); ``signed``: the parameters' signed stand-ins."""
    low, high = (sp.sympify(end).xreplace(signed) for end in act.ends())
    end, side = (high, "-") if to is sp.oo else (low, "+")
    if expr.has(z):
        slopes = act.slope_ends()
        rest = sp.cancel(expr / act(z).derivative().xreplace(signed))
        if slopes is not None and not rest.has(z):  # δ = (a factor in a)·f'(z): the two limits apart
            slope = sp.sympify(slopes[1] if to is sp.oo else slopes[0]).xreplace(signed)
            try:
                value = limit(rest, a, end, side) * slope
            except NotImplementedError:  # which branch holds depends on a parameter: bounded is enough for 0
                if slope != 0 or not _every_branch_finite(rest, end, side):
                    raise
                value = sp.S.Zero
            if value is not sp.nan:
                return value
        in_z = expr.subs(a, act.elementary(z)).rewrite("elementary").xreplace(signed)
        return limit(in_z, z, to, "-" if to is sp.oo else "+")
    end, side = (high, "-") if to is sp.oo else (low, "+")
    return limit(expr, a, end, side)


def limit(expr: sp.Expr, var: sp.Symbol, end: sp.Expr, side: str) -> sp.Expr:
    """One-sided limit; by substitution or leading terms when ``expr`` is rational, by branch when piecewise."""
    if expr.has(sp.Heaviside, sp.Max, sp.Min):
        expr = expr.rewrite(sp.Piecewise)
    if expr.has(sp.Piecewise):
        return _piecewise_limit(sp.piecewise_fold(expr), var, end, side)
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


def _every_branch_finite(expr: sp.Expr, end: sp.Expr, side: str) -> bool:
    """True when every branch of a piecewise ``expr`` in a has a finite limit at ``end``."""
    folded = sp.piecewise_fold(expr.rewrite(sp.Piecewise))
    branches = [value for value, _ in folded.args] if isinstance(folded, sp.Piecewise) else [folded]
    return all(limit(value, a, end, side).is_finite for value in branches)


def _piecewise_limit(expr: sp.Expr, var: sp.Symbol, end: sp.Expr, side: str) -> sp.Expr:
    """The limit of the branch whose condition holds near ``end``; NotImplementedError if undecided."""
    if not isinstance(expr, sp.Piecewise):
        return limit(expr, var, end, side)
    values = {limit(value, var, end, side) for value, _ in expr.args}
    if len(values) == 1:  # every branch has the same limit: whichever holds
        return values.pop()
    for value, condition in expr.args:
        holds = _holds(condition, var, end, side)
        if holds is None:
            raise NotImplementedError(f"cannot decide {condition} at {var} -> {end}")
        if holds:
            return limit(value, var, end, side)
    raise NotImplementedError(f"no branch of {expr} holds at {var} -> {end}")


def _holds(condition: sp.Basic, var: sp.Symbol, end: sp.Expr, side: str) -> bool | None:
    """Whether ``condition`` holds near ``end`` (None: undecided), from the limits of its gaps."""
    if condition in (sp.true, sp.false):
        return bool(condition)
    if isinstance(condition, (sp.And, sp.Or)):
        parts = [_holds(part, var, end, side) for part in condition.args]
        if isinstance(condition, sp.And):
            return False if False in parts else (None if None in parts else True)
        return True if True in parts else (None if None in parts else False)
    if not isinstance(condition, sp.core.relational.Relational):
        return None
    gap = limit(condition.lhs - condition.rhs, var, end, side)  # its sign near the end
    if gap.is_zero or not (gap.is_extended_positive or gap.is_extended_negative):
        return None
    if isinstance(condition, sp.Eq):
        return False
    if isinstance(condition, sp.Ne):
        return True
    bigger = isinstance(condition, (sp.StrictGreaterThan, sp.GreaterThan))
    return bool(gap.is_extended_positive) == bigger


def _bound(factor: sp.Expr, act, signed: dict | None = None, back: dict | None = None) -> sp.Expr | None:
    """sup |factor| over the activation's outputs (or over z), None if not found.

    A factor of parameters alone (1/v of gaussian_nll) is its own bound, signed by the parameters' domains.
    """
    if not factor.free_symbols & {a, y, z}:
        return sp.Abs(factor.xreplace(signed or {})).xreplace(back or {})
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
