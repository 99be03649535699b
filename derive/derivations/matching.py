"""matching_loss(activation): the loss whose error is exactly δ = a − y.

"Is cross-entropy the only choice?"  For an activation whose derivative reads
through its output, f′(z) = g(f(z)), the chain rule gives
∂L/∂z = ∂L/∂a · g(a), so ∂L/∂z = a − y exactly when ∂L/∂a = (a − y)/g(a):

    L(a, y) = ∫_y^a (u − y)/g(u) du.

The lower limit fixes the constant so that L = 0 at a = y; since g > 0 the
integrand has the sign of a − y, so L ≥ 0.  The integral is evaluated by
partial fractions (real logarithms on the activation's range), and the result
is recognised as a catalog loss up to a term in y alone, which does not change
the gradient (bce for sigmoid, quadratic for identity, poisson for exp).
"""

from __future__ import annotations

import functools

import sympy as sp

from derive import catalog, errors
from derive.engine import proof, steps
from derive.engine.notation import Partial, Product, a, u, y, z

L = sp.Symbol("L")


def matching_loss(activation: str) -> steps.Synthesis:
    """The loss L(a, y) ≥ 0, zero at a = y, with ∂L/∂z = a − y for this activation.

    >>> matching_loss("identity").loss
    (a - y)**2/2
    >>> matching_loss("sigmoid").matches
    'bce'

    Raises :class:`~derive.errors.NoMatchingLoss` (with the reason) when no
    such loss exists, as for relu, and :class:`~derive.errors.InvalidOption` for softmax
    (K outputs: its loss with δ = a − y is cross_entropy, derived by ``derive("cross_entropy", "softmax")``).
    """
    if not isinstance(activation, str):
        raise errors.InvalidOption(f"an activation is named by a string (see `derive list`), not {activation!r}")
    return _matching_loss(activation)


@functools.cache
def _matching_loss(activation: str) -> steps.Synthesis:
    act = catalog.activation(activation)
    if act.vector:
        raise errors.InvalidOption(
            f"{act.name} has K outputs and matching_loss integrates the derivative of one output; "
            f"the loss with δ = a - y for {act.name} is cross_entropy: derive show cross_entropy {act.name}"
        )
    g = act.derivative_through_output(u)
    if g is None:
        raise errors.NoMatchingLoss(f"{act.name} has no matching loss: {act.not_through_output}")
    _require_positive(g, act)

    # 1. the goal and the chain rule through a
    trace = [
        steps.Step("goal", Partial(L, z), a - y, "the error we want, as for bce with sigmoid"),
        steps.Step("chain rule", Partial(L, z), Product(Partial(L, a), Partial(a, z)), "L depends on z only through a"),
        steps.Step(
            "through output",
            Partial(L, z),
            Product(Partial(L, a), g.subs(u, a)),
            f"{act.name}'(z) = {sp.sstr(g.subs(u, a))}",
        ),
        steps.Step(
            "divide",
            Partial(L, a),
            (a - y) / g.subs(u, a),
            f"{sp.sstr(g.subs(u, a))} > 0 for a in {catalog.interval(act.output_range)}",
        ),
    ]
    # 2. integrate from a = y, which fixes the constant
    integrand = (u - y) / g
    integral = sp.Integral(integrand, (u, y, a))
    trace.append(
        steps.Step(
            "integrate",
            L,
            integral,
            "the lower limit makes L = 0 at a = y; the integrand has the sign of a - y, so L >= 0",
        )
    )
    closed = _definite_integral(integrand, act.output_range)
    loss = integral if closed is None else closed
    if closed is not None:
        trace.append(steps.Step("partial fractions", L, closed, "real logarithms on the range of a"))
    _check(loss, integrand, act)
    # 3. which catalog loss is it, up to a term in y alone?
    matches, offset, note = _recognise(trace, loss, act)
    if closed is None:
        note = "no closed form found: the loss is the integral itself"
    return steps.Synthesis(act.name, loss, tuple(trace), closed is not None, matches, offset, note)


matching_loss.cache_clear = _matching_loss.cache_clear  # type: ignore[attr-defined]


def _require_positive(g: sp.Expr, act) -> None:
    """No matching loss unless g > 0 inside the range (f strictly increasing)."""
    rng = act.output_range
    inner = sp.Interval.open(rng.inf, rng.sup)
    zeros = sp.solveset(g, u, inner)
    if zeros != sp.S.EmptySet or not g.subs(u, _interior_point(inner)).is_positive:
        raise errors.NoMatchingLoss(
            f"{act.name} has no matching loss: its derivative {sp.sstr(g.subs(u, a))} is not positive "
            f"for every a in {catalog.interval(rng)}"
        )


def _interior_point(interval: sp.Interval) -> sp.Expr:
    lo, hi = interval.inf, interval.sup
    if lo.is_finite and hi.is_finite:
        return (lo + hi) / 2
    if lo.is_finite:
        return lo + 1
    return hi - 1 if hi.is_finite else sp.S.Zero


def _definite_integral(integrand: sp.Expr, rng: sp.Interval) -> sp.Expr | None:
    """∫_y^a integrand du in closed form for a rational integrand, else None.

    Partial fractions, then each term; ln(u − r) becomes ln(r − u) where u − r < 0
    on the range (same derivative, real there).  The result is written as
    Σ c·ln(p(y)/p(a)) plus a polynomial part, factored.
    """
    if not integrand.is_rational_function(u):
        return None
    point = _interior_point(sp.Interval.open(rng.inf, rng.sup))
    logs, polynomial = sp.S.Zero, sp.S.Zero
    for term in sp.Add.make_args(sp.apart(integrand, u)):
        antiderivative = sp.integrate(term, u)
        coeff, arg = _log_term(antiderivative)
        if arg is None:
            polynomial += antiderivative
            continue
        arg = sp.Poly(arg, u).monic().as_expr()  # ln(k·p) = ln k + ln p: k drops out
        if arg.subs(u, point).is_negative:
            arg = -arg
        logs += sp.together(sp.expand(-coeff)) * sp.log(arg.subs(u, y) / arg.subs(u, a))
    return logs + _even_powers_positive(sp.factor(polynomial.subs(u, a) - polynomial.subs(u, y)))


def _even_powers_positive(expr: sp.Expr) -> sp.Expr:
    """(y − a)² → (a − y)²: the sign a person writes inside an even power."""
    return expr.replace(
        lambda e: e.is_Pow and e.exp.is_even and e.base.could_extract_minus_sign(),
        lambda e: (-e.base) ** e.exp,
    )


def _log_term(expr: sp.Expr) -> tuple[sp.Expr, sp.Expr | None]:
    """(c, p) for expr = c·ln(p) with c free of u, else (expr, None)."""
    coeff, rest = expr.as_independent(u, as_Add=False)
    if isinstance(rest, sp.log):
        return coeff, rest.args[0]
    return expr, None


def _check(loss: sp.Expr, integrand: sp.Expr, act) -> None:
    """Prove ∂L/∂a = integrand and, decisively, ∂L/∂z = a − y for a = f(z)."""
    if not proof.equal(sp.diff(loss, a), integrand.subs(u, a), var=None):
        raise errors.ProofError(f"matching loss of {act.name}: dL/da is not the integrand")
    if not proof.is_zero(loss.subs(a, y).doit(), var=None):
        raise errors.ProofError(f"matching loss of {act.name}: L is not 0 at a = y")
    f = act.elementary(z)
    if not proof.equal(sp.diff(loss.subs(a, f), z), f - y):
        raise errors.ProofError(f"matching loss of {act.name}: dL/dz is not a - y")


def _recognise(trace: list[steps.Step], loss: sp.Expr, act) -> tuple[str | None, sp.Expr, str]:
    """Append ``L = catalog loss + r(y)`` for the first catalog loss that fits."""
    for candidate in catalog.LOSSES.values():
        if not act.output_range.is_subset(candidate.a_domain):
            continue
        offset = sp.expand(sp.expand_log(loss - candidate.elementary(a, y), force=True))
        if offset.has(a, u) or not proof.equal(loss, candidate.elementary(a, y) + offset, var=None):
            continue
        offset = sp.collect(offset, offset.atoms(sp.log))
        if offset == 0:
            note = f"exactly {candidate.name}"
        else:
            zeros = [
                end
                for end in (candidate.y_domain.inf, candidate.y_domain.sup)
                if end.is_finite and sp.limit(offset, y, end) == 0
            ]
            where = f", which is 0 for y in {{{', '.join(map(str, zeros))}}}" if zeros else ""
            note = f"{candidate.name} plus a term in y alone (same gradient){where}"
        trace.append(steps.Step("recognise", L, candidate.elementary(a, y) + offset, note))
        return candidate.name, offset, note
    return None, sp.S.Zero, "no catalog loss has this form"
