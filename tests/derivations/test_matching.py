"""matching_loss(activation) against independent checks: finite differences, L >= 0, L(y, y) = 0."""

from __future__ import annotations

import re

import mpmath
import numpy as np
import pytest
import sympy as sp

from derive import catalog, errors
from derive.derivations import matching
from derive.engine.notation import a, u, y, z

RNG = np.random.default_rng(7)


@pytest.mark.parametrize(
    ("act", "matches", "offset", "zero_at"),
    [
        ("sigmoid", "bce", "y*log(y) + (1 - y)*log(1 - y)", "{0, 1}"),
        ("identity", "quadratic", "0", None),
        ("exp", "poisson", "y*log(y) - y", "{0}"),
        ("tanh", None, "0", None),
    ],
)
def test_catalog_losses_come_back(act, matches, offset, zero_at):
    result = matching.matching_loss(act)
    assert result.closed_form and not result.loss.has(sp.Integral)
    assert result.matches == matches
    assert result.offset == sp.sympify(offset, locals={"y": y})
    if matches:
        # same gradient: the loss minus the catalog loss does not depend on a
        difference = result.loss - catalog.loss(matches).elementary(a, y)
        assert sp.simplify(sp.diff(difference, a)) == 0
    if zero_at:
        assert zero_at in result.note


def test_identity_gives_exactly_the_quadratic_cost():
    assert matching.matching_loss("identity").loss == (a - y) ** 2 / 2


def test_tanh_closed_form():
    loss = matching.matching_loss("tanh").loss
    expected = ((1 - y) * sp.log((1 - y) / (1 - a)) + (1 + y) * sp.log((1 + y) / (1 + a))) / 2
    assert sp.simplify(sp.expand_log(loss - expected, force=True)) == 0


def _range_sample(act: str, count: int) -> np.ndarray:
    rng = catalog.activation(act).output_range
    lo = float(rng.inf) if rng.inf.is_finite else -3.0
    hi = float(rng.sup) if rng.sup.is_finite else 3.0
    return RNG.uniform(lo + 0.05, hi - 0.05, count)


@pytest.mark.parametrize("act", ["sigmoid", "tanh", "identity", "exp"])
def test_gradient_is_a_minus_y_by_finite_differences(act):
    result = matching.matching_loss(act)
    f = catalog.activation(act).elementary(z)
    loss_of_z = sp.lambdify((z, y), result.loss.subs(a, f), "numpy")
    act_num = sp.lambdify(z, f, "numpy")
    zs = RNG.uniform(-2.5, 2.5, 30)
    ys = _range_sample(act, 30)
    h = 1e-6
    fd = (loss_of_z(zs + h, ys) - loss_of_z(zs - h, ys)) / (2 * h)
    np.testing.assert_allclose(fd, act_num(zs) - ys, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("act", ["sigmoid", "tanh", "identity", "exp"])
def test_nonnegative_and_zero_at_the_target(act):
    loss = sp.lambdify((a, y), matching.matching_loss(act).loss, "numpy")
    As, ys = _range_sample(act, 200), _range_sample(act, 200)
    assert np.all(loss(As, ys) >= -1e-12)
    np.testing.assert_allclose(loss(ys, ys), 0.0, atol=1e-12)


def test_softplus_has_the_integral_as_its_loss():
    result = matching.matching_loss("softplus")
    assert not result.closed_form and result.loss.has(sp.Integral)
    # check the integral numerically: dL/dz = a - y at one point, with mpmath quadrature
    g = catalog.activation("softplus").derivative_through_output(u)
    zv, yv = mpmath.mpf("0.7"), mpmath.mpf("1.3")
    sp_num = lambda t: mpmath.log1p(mpmath.exp(t))  # noqa: E731
    integrand = sp.lambdify((u, y), (u - y) / g, "mpmath")
    L = lambda t: mpmath.quad(lambda s: integrand(s, yv), [yv, sp_num(t)])  # noqa: E731
    with mpmath.workdps(30):
        assert mpmath.diff(L, zv) == pytest.approx(float(sp_num(zv) - yv), rel=1e-12)


def test_relu_is_explained_not_crashed():
    with pytest.raises(errors.NoMatchingLoss, match="relu has no matching loss: relu is not invertible"):
        matching.matching_loss("relu")


def test_unknown_activation():
    with pytest.raises(errors.UnknownName):
        matching.matching_loss("sigmund")


@pytest.mark.parametrize(
    ("activation", "error", "message"),
    [
        ("softmax", errors.InvalidOption, "the loss with δ = a - y for softmax is cross_entropy"),
        ("Softmax", errors.InvalidOption, "derive show cross_entropy softmax"),
        (3, errors.InvalidOption, "an activation is a name"),
        (["sigmoid"], errors.InvalidOption, "not ['sigmoid']"),
        (None, errors.InvalidOption, "not None"),
    ],
)
def test_activations_without_a_scalar_matching_loss_are_a_derive_error(activation, error, message):
    """softmax (K outputs) and names that are no string: a DeriveError that says why, never AttributeError."""
    with pytest.raises(error, match=re.escape(message)):
        matching.matching_loss(activation)


def test_steps_are_a_derivation():
    result = matching.matching_loss("sigmoid")
    rules = [s.rule for s in result.steps]
    assert rules == ["goal", "chain rule", "through output", "divide", "integrate", "partial fractions", "recognise"]
    data = result.as_dict()
    assert data["activation"] == "sigmoid" and data["matches"] == "bce"
    assert data["loss"] == "y*log(y/a) + (1 - y)*log((1 - y)/(1 - a))"


# -- the wider catalog ------------------------------------------------------------------------

ALPHA = sp.Symbol("alpha")


@pytest.mark.parametrize(("act", "alpha"), [("leaky_relu", 0.1), ("elu", 0.7), ("elu", 1.0)])
def test_piecewise_matching_losses_have_gradient_a_minus_y(act, alpha):
    """leaky_relu and elu: a closed form in pieces; dL/dz = a − y by finite differences, L ≥ 0, L(y, y) = 0."""
    result = matching.matching_loss(act)
    assert result.closed_form and isinstance(result.loss, sp.Piecewise)
    f = catalog.activation(act).elementary(z).subs(ALPHA, alpha)
    loss = result.loss.subs(ALPHA, alpha)
    loss_of_z = sp.lambdify((z, y), loss.subs(a, f), "mpmath")
    act_num = sp.lambdify(z, f, "mpmath")
    for zv, yv in zip(RNG.uniform(-2.5, 2.5, 20), RNG.uniform(-0.6, 2.0, 20), strict=True):
        if abs(zv) < 1e-3:
            continue  # the kink
        zv, yv = mpmath.mpf(zv), mpmath.mpf(max(yv, -0.9 * alpha))  # y in the range of elu too
        with mpmath.workdps(30):
            slope = mpmath.diff(lambda t, target=yv: loss_of_z(t, target), zv)
            assert slope == pytest.approx(float(act_num(zv) - yv), rel=1e-12)
            assert loss_of_z(zv, yv) >= 0
    exact = result.loss.subs(ALPHA, sp.nsimplify(alpha))
    assert all(exact.subs({a: v, y: v}) == 0 for v in (sp.Rational(-1, 3), sp.Rational(1, 2)))


@pytest.mark.parametrize(
    ("act", "reason"),
    [
        ("gelu", "gelu has no matching loss: gelu is not monotone"),
        ("silu", "silu has no matching loss: silu is not monotone"),
        ("gelu_tanh", "gelu_tanh has no matching loss: gelu_tanh is not monotone"),
        ("hard_sigmoid", "hard_sigmoid has no matching loss: hard_sigmoid is flat for |z| > 3"),
    ],
)
def test_non_monotone_or_flat_activations_have_no_matching_loss_and_say_why(act, reason):
    with pytest.raises(errors.NoMatchingLoss, match=re.escape(reason)):
        matching.matching_loss(act)


def test_softsign_has_a_matching_loss_without_a_closed_form():
    """g(a) = (1 − |a|)² > 0 on (−1, 1): the loss exists; SymPy's pieces hold ln of negative numbers, so it stays
    the integral, and the integral's dL/dz = a − y is checked with mpmath quadrature."""
    result = matching.matching_loss("softsign")
    assert not result.closed_form and result.loss.has(sp.Integral)
    integrand = sp.lambdify((u, y), (u - y) / (1 - sp.Abs(u)) ** 2, "mpmath")
    softsign = lambda t: t / (1 + abs(t))  # noqa: E731
    zv, yv = mpmath.mpf("-0.8"), mpmath.mpf("0.2")
    with mpmath.workdps(30):
        L = lambda t: mpmath.quad(lambda s: integrand(s, yv), [yv, 0, softsign(t)])  # noqa: E731
        assert mpmath.diff(L, zv) == pytest.approx(float(softsign(zv) - yv), rel=1e-12)
