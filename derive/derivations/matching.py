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


def matching_loss(activation: str | type[catalog.Activation]) -> steps.Synthesis:
    """The loss L(a, y) ≥ 0, zero at a = y, with ∂L/∂z = a − y for this activation.

    >>> matching_loss("identity").loss
    (a - y)**2/2
    >>> matching_loss("sigmoid").matches
    'bce'

    Raises :class:`~derive.errors.NoMatchingLoss` (with the reason) when no
    such loss exists, as for relu, and :class:`~derive.errors.InvalidOption` for softmax
    (K outputs: its loss with δ = a − y is cross_entropy, derived by ``derive("cross_entropy", "softmax")``).
    """
    return _matching_loss(catalog.as_activation(activation))


@functools.cache
def _matching_loss(act: type[catalog.Activation]) -> steps.Synthesis:
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
    if closed is None and proof.has_kinks(integrand):
        closed = _piecewise_integral(integrand, act)
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
    """No matching loss unless g > 0 inside the range (f strictly increasing).

    A parameter is positive if its domain says so (α of leaky_relu); a g with steps or |u|
    (leaky_relu, elu, softsign) is checked branch by branch on the part of the range it covers.
    """
    signed = proof.signed_parameters({p.symbol: p.domain for p in act.parameters})
    rng = act.output_range.xreplace(signed)
    inner = sp.Interval.open(rng.inf, rng.sup)
    g_signed = g.xreplace(signed)
    if proof.has_kinks(g_signed):
        positive = _positive_by_branch(g_signed, inner)
        if positive is None:
            raise errors.NoMatchingLoss(
                f"derive could not prove that the derivative {sp.sstr(g.subs(u, a))} of {act.name} is positive "
                f"for every a in {catalog.interval(act.output_range)}, so it does not claim a matching loss"
            )
        if not positive:
            raise errors.NoMatchingLoss(
                f"{act.name} has no matching loss: its derivative {sp.sstr(g.subs(u, a))} is not positive "
                f"for every a in {catalog.interval(act.output_range)}"
            )
        return
    zeros = sp.solveset(g_signed, u, inner)
    if zeros != sp.S.EmptySet or not g_signed.subs(u, _interior_point(inner)).is_positive:
        raise errors.NoMatchingLoss(
            f"{act.name} has no matching loss: its derivative {sp.sstr(g.subs(u, a))} is not positive "
            f"for every a in {catalog.interval(rng)}"
        )


def _positive_by_branch(g: sp.Expr, inner: sp.Interval) -> bool | None:
    """Is g > 0 inside ``inner``?  True (proven), False (a point where it is not), None (not decided).

    g has steps or |u| (leaky_relu, elu, softsign): ``inner`` is cut at the kinks of g, and on each
    piece u is written so that SymPy knows where it lies (lo + (hi − lo)/(1 + s), lo + s or hi − s
    with s > 0), so each step takes one value; each kink is checked as well.
    """
    s = sp.Dummy("s", positive=True)
    kinks = [k for k in proof.kinks(g, u) if inner.contains(k) is sp.true]
    ends = [inner.inf, *kinks, inner.sup]
    points = [*kinks]
    for lo, hi in zip(ends, ends[1:], strict=False):
        if lo.is_infinite and hi.is_infinite:
            points += [s, -s, sp.S.Zero]
        elif hi.is_infinite:
            points.append(lo + s)
        elif lo.is_infinite:
            points.append(hi - s)
        else:
            points.append(lo + (hi - lo) / (1 + s))
    verdicts = [proof.settle(g.subs(u, point)).is_positive for point in points]
    if all(verdicts):
        return True
    pairs = zip(verdicts, points, strict=True)
    counterexample = any(v is False and not g.subs(u, p).free_symbols - {s} for v, p in pairs)
    return False if counterexample else None


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


def _piecewise_integral(integrand: sp.Expr, act) -> sp.Expr | None:
    """∫_y^a integrand du for an integrand with steps or |u| (leaky_relu, elu, softsign), piece by piece.

    The steps become pieces in a real u; SymPy integrates each piece and joins them continuously.
    None when an integral is left unevaluated.
    """
    signed = proof.signed_parameters({p.symbol: p.domain for p in act.parameters})
    back = {dummy: symbol for symbol, dummy in signed.items()}
    real = sp.Dummy("u", real=True)
    pieces = sp.piecewise_fold(integrand.xreplace(signed).xreplace({u: real}).rewrite(sp.Piecewise))
    antiderivative = sp.integrate(pieces, real)
    if antiderivative.has(sp.Integral, sp.I):  # unevaluated, or logs of negative numbers: not a real closed form
        return None
    loss = antiderivative.subs(real, a) - antiderivative.subs(real, y)
    return sp.piecewise_fold(loss).xreplace(back)


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
    """Prove ∂L/∂a = integrand and, decisively, ∂L/∂z = a − y for a = f(z).

    With steps or pieces (leaky_relu, elu, softsign) the proofs are by cases
    (``proof.is_zero_by_cases``: each side of every kink and the kink itself).
    """
    domains = {p.symbol: p.domain for p in act.parameters}

    def zero(expr: sp.Expr, var: sp.Symbol | None) -> bool:
        if proof.is_zero(expr, var=var):
            return True
        kinked = proof.has_kinks(expr) or expr.has(sp.Piecewise)
        # at a kink a derivative is a convention (H(0) = 1/2), not a property of the loss: sides only
        return kinked and proof.is_zero_by_cases(expr, var or a, domains, at_kinks=False)

    if not zero(sp.diff(loss, a) - integrand.subs(u, a), None):
        raise errors.ProofError(f"matching loss of {act.name}: dL/da is not the integrand")
    if not zero(loss.subs(a, y).doit(), None):
        raise errors.ProofError(f"matching loss of {act.name}: L is not 0 at a = y")
    f = act.elementary(z)
    if not zero(sp.diff(loss.subs(a, f), z) - (f - y), z):
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
