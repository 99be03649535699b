"""The catalog against independent references: plain sympy.diff and mpmath at 50 digits."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy as sp

from derive import catalog, errors
from derive.engine.notation import a, y, z

ACTS = [cls for cls in catalog.ACTIVATIONS.values() if not cls.vector]  # softmax: tests/derivations/test_softmax.py
LOSSES = list(catalog.LOSSES.values())
SCALAR_LOSSES = [cls for cls in LOSSES if cls.scalar]


def _numeric_zero(expr: sp.Expr, symbols, points) -> bool:
    f = sp.lambdify(symbols, expr, "mpmath")
    with mpmath.workdps(50):
        return all(abs(f(*p)) < mpmath.mpf(10) ** -40 for p in points)


@pytest.mark.parametrize("act", ACTS, ids=lambda c: c.name)
def test_fdiff_is_the_derivative_of_the_elementary_form(act):
    own = act(z).diff(z).rewrite("elementary")
    reference = sp.diff(act.elementary(z), z)
    points = [(v,) for v in (-3.5, -0.7, 0.4, 2.9)]  # relu: away from its kink
    assert _numeric_zero(own - reference, [z], points)


@pytest.mark.parametrize("act", [c for c in ACTS if c.derivative_through_output(a) is not None], ids=lambda c: c.name)
def test_derivative_through_output(act):
    through = act.derivative_through_output(a).subs(a, act.elementary(z))
    assert _numeric_zero(through - sp.diff(act.elementary(z), z), [z], [(-2.2,), (0.3,), (5.0,)])


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
    f = sp.lambdify(z, act(z), "numpy")
    with np.errstate(over="ignore"):
        got = f(np.float64(value))
    with mpmath.workdps(400):  # 1 + e^-700 needs over 300 digits
        want = sp.lambdify(z, act.elementary(z), "mpmath")(mpmath.mpf(value))
    assert got == pytest.approx(float(want), rel=1e-13, abs=0.0)


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
    assert sp.simplify(written - reference) == 0
    assert sp.simplify(loss(a, y).diff(y) - sp.diff(loss.elementary(a, y), y)) == 0


@pytest.mark.parametrize("loss", LOSSES, ids=lambda c: c.name)
def test_loss_rewrites_and_prints(loss):
    assert loss(a, y).rewrite("elementary") == loss.elementary(a, y)
    value = sp.lambdify((a, y), loss(a, y), "numpy")(0.3, 0.0)
    assert value == pytest.approx(float(loss.elementary(a, y).subs({a: 0.3, y: 0})))


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


@pytest.mark.parametrize(("alias", "name"), [("mse", "quadratic"), ("MSE", "quadratic"), ("Sigmoid", "sigmoid")])
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
    ],
)
def test_domain_errors(loss, act, message):
    with pytest.raises(errors.DomainError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        catalog.check_domain(catalog.loss(loss), catalog.activation(act))
