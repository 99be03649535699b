"""The catalog against independent references: plain sympy.diff and mpmath at 50 digits."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
import sympy as sp

from derive import catalog, errors
from derive.engine.notation import a, y, z

ACTS = [cls for cls in catalog.ACTIVATIONS.values() if not cls.vector]  # softmax: tests/derivations/test_softmax.py
LOSSES = list(catalog.LOSSES.values())
SCALAR_LOSSES = [cls for cls in LOSSES if cls.scalar]
#: A value of each parameter for the tests, away from the defaults so that a wrong default cannot hide.
VALUES = {"alpha": sp.Rational(3, 10), "kappa": sp.Rational(1, 2), "beta": sp.Rational(3, 4), "gamma": 2, "v": 3}


def _fix(cls, expr: sp.Expr) -> sp.Expr:
    """``expr`` with the parameters of ``cls`` at their test values."""
    return expr.subs({p.symbol: VALUES[p.symbol.name] for p in cls.parameters})


def _numeric_zero(expr: sp.Expr, symbols, points) -> bool:
    f = sp.lambdify(symbols, expr, "mpmath")
    with mpmath.workdps(50):
        return all(abs(f(*(mpmath.mpf(v) for v in p))) < mpmath.mpf(10) ** -40 for p in points)


@pytest.mark.parametrize("act", ACTS, ids=lambda c: c.name)
def test_fdiff_is_the_derivative_of_the_elementary_form(act):
    own = act(z).diff(z).rewrite("elementary")
    reference = sp.diff(act.elementary(z), z)
    points = [(v,) for v in (-3.5, -0.7, 0.4, 2.9, 4.2)]  # away from the kinks at 0 and ±3
    assert _numeric_zero(_fix(act, own - reference), [z], points)


@pytest.mark.parametrize("act", [c for c in ACTS if c.derivative_through_output(a) is not None], ids=lambda c: c.name)
def test_derivative_through_output(act):
    through = act.derivative_through_output(a).subs(a, act.elementary(z))
    assert _numeric_zero(_fix(act, through - sp.diff(act.elementary(z), z)), [z], [(-2.2,), (0.3,), (5.0,)])


@pytest.mark.parametrize("act", [c for c in ACTS if c.derivative_through_output(a) is None], ids=lambda c: c.name)
def test_an_activation_without_a_derivative_through_its_output_says_why(act):
    assert len(act.not_through_output) > 20


@pytest.mark.parametrize("act", [c for c in ACTS if c.subgradient] + [c for c in LOSSES if c.subgradient])
def test_every_function_with_a_kink_states_its_subgradient(act):
    assert "1/2" in act.subgradient


@pytest.mark.parametrize(
    ("act", "low", "z_min"),
    [("gelu", -0.169971207479904, -0.751791524693564), ("silu", -0.278464542761074, -1.27846454276107)],
)
def test_the_range_of_a_non_monotone_activation_holds_its_minimum(act, low, z_min):
    """The minimum (found by mpmath, not by derive) lies in the declared range, and just above its end."""
    cls = catalog.activation(act)
    f = sp.lambdify(z, cls.elementary(z), "mpmath")
    with mpmath.workdps(30):
        where = mpmath.findroot(lambda t: mpmath.diff(f, t), z_min)
        minimum = f(where)
    assert float(minimum) == pytest.approx(low, abs=1e-12)
    assert cls.output_range.contains(sp.Float(minimum)) is sp.true
    assert float(cls.output_range.inf) > float(minimum) - 1e-2
    assert not cls.monotone() and cls.ends() == (0, sp.oo)


def test_relu_derivative_cannot_be_written_through_its_output():
    assert catalog.activation("relu").derivative_through_output(a) is None
    assert "not invertible" in catalog.activation("relu").not_through_output


@pytest.mark.parametrize(
    ("name", "latex"),
    [
        ("sigmoid", r"\sigma\left(z\right)"),
        ("tanh", r"\tanh\left(z\right)"),
        ("identity", r"\operatorname{id}\left(z\right)"),
        ("exp", r"\exp\left(z\right)"),
        ("softplus", r"\operatorname{softplus}\left(z\right)"),
        ("relu", r"\operatorname{ReLU}\left(z\right)"),
        ("leaky_relu", r"\operatorname{LeakyReLU}\left(z\right)"),
        ("elu", r"\operatorname{ELU}\left(z\right)"),
        ("gelu", r"\operatorname{GELU}\left(z\right)"),
        ("gelu_tanh", r"\operatorname{GELUtanh}\left(z\right)"),
        ("silu", r"\operatorname{SiLU}\left(z\right)"),
        ("softsign", r"\operatorname{softsign}\left(z\right)"),
        ("hard_sigmoid", r"\operatorname{hardsigmoid}\left(z\right)"),
    ],
)
def test_activation_latex(name, latex):
    assert sp.latex(catalog.activation(name)(z)) == latex


def test_latex_of_a_power_keeps_the_argument():
    assert sp.latex(catalog.activation("sigmoid")(z) ** 2) == r"\sigma\left(z\right)^{2}"


@pytest.mark.parametrize("act", ACTS, ids=lambda c: c.name)
@pytest.mark.parametrize("value", [-700.0, -30.0, -1.5, 0.0, 0.25, 3.0, 30.0])
def test_numpy_printing_matches_mpmath(act, value):
    """lambdify works on the custom function (no NameError) and is accurate."""
    symbols = [z, *(p.symbol for p in act.parameters)]
    values = [VALUES[p.symbol.name] for p in act.parameters]
    erfc = {"_erfc": np.vectorize(math.erfc)}  # gelu prints erfc(x) as _erfc: exported modules define it
    f = sp.lambdify(symbols, act(z), [erfc, "numpy"])
    with np.errstate(over="ignore"):
        got = f(np.float64(value), *(float(v) for v in values))
    with mpmath.workdps(400):  # 1 + e^-700 needs over 300 digits
        want = sp.lambdify(symbols, act.elementary(z), "mpmath")(mpmath.mpf(value), *values)
    # gelu: erfc(−z/√2) is evaluated at the float −z·(1/√2), one rounding off; its relative
    # condition number 2x² (x = z/√2) turns that into z²·2⁻⁵³, 1e-13 at z = −30.
    rel = 1e-13 if act.name != "gelu" else max(1e-13, 4 * value**2 * 2.0**-53)
    assert got == pytest.approx(float(want), rel=rel, abs=0.0)


def test_sigmoid_numpy_is_stable_at_the_extremes():
    f = sp.lambdify(z, catalog.activation("sigmoid")(z), "numpy")
    values = np.array([-1e4, -745.0, 745.0, 1e4])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        out = f(values)
    assert np.all(np.isfinite(out))
    assert out[-1] == 1.0 and out[0] == 0.0


@pytest.mark.parametrize("loss", LOSSES, ids=lambda c: c.name)
def test_loss_fdiff_is_the_derivative(loss):
    written = loss(a, y).diff(a)
    reference = sp.diff(loss.elementary(a, y), a)
    if sp.simplify(written - reference) != 0:  # squared hinge: max(0, u)·H(u) = max(0, u); by numbers
        points = [(av, yv) for av in (-2.5, -0.4, 0.3, 1.7) for yv in (-1, 1)]  # away from the kink ya = 1
        assert _numeric_zero(_fix(loss, written - reference), [a, y], points)
    assert sp.simplify(loss(a, y).diff(y) - sp.diff(loss.elementary(a, y), y)) == 0


@pytest.mark.parametrize("loss", LOSSES, ids=lambda c: c.name)
def test_loss_rewrites_and_prints(loss):
    assert loss(a, y).rewrite("elementary") == loss.elementary(a, y)
    target = 1 if loss.y_domain == sp.FiniteSet(-1, 1) else sp.Rational(1, 4)
    symbols = [a, y, *(p.symbol for p in loss.parameters)]
    values = [float(VALUES[p.symbol.name]) for p in loss.parameters]
    for point in (0.3, 0.9):  # huber: either side of kappa = 1/2
        value = sp.lambdify(symbols, loss(a, y), "numpy")(point, float(target), *values)
        want = _fix(loss, loss.elementary(a, y)).subs({a: sp.Float(point), y: target})
        assert value == pytest.approx(float(want), rel=1e-14)


def test_every_parameter_is_named_and_has_a_domain():
    for cls in [*ACTS, *LOSSES]:
        for p in cls.parameters:
            assert p.keyword.isidentifier() and p.default is not None
            assert p.domain.contains(sp.nsimplify(p.default)) is sp.true
            assert p.symbol.name in VALUES
    assert {p.keyword for p in catalog.loss("huber").parameters} == {"delta"}  # PyTorch's name


@pytest.mark.parametrize(
    ("kind", "name", "suggestion"),
    [
        ("activation", "sigmod", "sigmoid"),
        ("activation", "tahn", "tanh"),
        ("loss", "bcee", "bce"),
        ("loss", "quadratik", "quadratic"),
    ],
)
def test_unknown_names_suggest_the_closest(kind, name, suggestion):
    lookup = getattr(catalog, kind)
    with pytest.raises(errors.UnknownName) as info:
        lookup(name)
    message = str(info.value)
    assert f"Did you mean {suggestion!r}?" in message
    for valid in catalog.ACTIVATIONS if kind == "activation" else catalog.LOSSES:
        assert valid in message


def test_unknown_name_without_a_close_match():
    with pytest.raises(errors.UnknownName) as info:
        catalog.loss("zzzzzz")
    assert "Did you mean" not in str(info.value)


@pytest.mark.parametrize(
    ("alias", "name"),
    [("mse", "quadratic"), ("MSE", "quadratic"), ("Sigmoid", "sigmoid"), ("swish", "silu"), ("kl", "kl_div")],
)
def test_aliases_and_case(alias, name):
    found = catalog.loss(alias) if name in catalog.LOSSES else catalog.activation(alias)
    assert found.name == name


@pytest.mark.parametrize(
    ("loss", "act", "message"),
    [
        ("bce", "relu", "bce needs a in (0, 1), but relu gives a in [0, oo)"),
        ("bce", "tanh", "bce needs a in (0, 1), but tanh gives a in (-1, 1)"),
        ("poisson", "identity", "poisson needs a in (0, oo), but identity gives a in (-oo, oo)"),
        ("poisson", "relu", "poisson needs a in (0, oo), but relu gives a in [0, oo)"),
        ("bce", "hard_sigmoid", "bce needs a in (0, 1), but hard_sigmoid gives a in [0, 1]"),
        ("focal", "tanh", "focal needs a in (0, 1), but tanh gives a in (-1, 1)"),
        ("poisson", "gelu", "poisson needs a in (0, oo), but gelu gives a in [-17/100, oo)"),
        ("poisson", "elu", "poisson needs a in (0, oo), but elu gives a in (-alpha, oo)"),
    ],
)
def test_domain_errors(loss, act, message):
    with pytest.raises(errors.DomainError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        catalog.check_domain(catalog.loss(loss), catalog.activation(act))
