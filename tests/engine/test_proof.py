"""derive.engine.proof: the quick proof with catalog calls as free symbols.

``is_zero_over_calls`` is tried before σ is expanded into exponentials (seconds on focal loss's
(1 − σ)^γ terms).  True must mean zero: each case is checked against an mpmath evaluation at 40
digits of the elementary form, so a wrong "proof" cannot pass as a test.
"""

from __future__ import annotations

import mpmath
import pytest
import sympy as sp

from derive.catalog import activations
from derive.engine import proof

z, w, y, gamma = sp.symbols("z w y gamma", real=True)
s = activations.sigmoid(z + w)
t = activations.tanh(z)

CASES = [
    # (difference, proven by the quick proof, identically zero)
    ("dσ-cancel", s * (1 - s) * (y / s - (1 - y) / (1 - s)) - (y - s), True, True),
    (
        "focal term",
        s * (1 - s) * (gamma * y * (1 - s) ** gamma * sp.log(s) / (1 - s) - y * (1 - s) ** gamma / s)
        - (gamma * y * s * (1 - s) ** gamma * sp.log(s) - y * (1 - s) ** (gamma + 1)),
        True,
        True,
    ),
    ("split power", (1 - s) ** (gamma + 1) - (1 - s) * (1 - s) ** gamma, True, True),
    ("tanh", (1 - t**2) * (1 / (1 - t) + 1 / (1 + t)) / 2 - 1, True, True),
    # true, but only through what σ is: left to the elementary proof
    ("σ(−u) = 1 − σ(u)", activations.sigmoid(-z) - (1 - activations.sigmoid(z)), False, True),
    ("derivative of a call", sp.Derivative(s, z) - s * (1 - s), False, True),
    # false
    ("wrong sign", s * (1 - s) * (y / s - (1 - y) / (1 - s)) - (s - y), False, False),
    ("wrong power", (1 - s) ** (gamma + 1) - (1 - s) ** gamma, False, False),
    ("no call", y - y**2, False, False),
]


def _value(expr: sp.Expr, point: dict) -> mpmath.mpf:
    expr = proof.elementary(expr).doit()
    with mpmath.workdps(40):
        return sp.N(expr.subs(point), 40)


@pytest.mark.parametrize(("name", "difference", "quick", "zero"), CASES, ids=[c[0] for c in CASES])
def test_is_zero_over_calls(name, difference, quick, zero):
    assert proof.is_zero_over_calls(difference) is quick
    points = [{z: sp.Rational(3, 7), w: sp.Rational(-5, 4), y: sp.Rational(2, 9), gamma: sp.Rational(3, 2)}]
    points.append({z: sp.Rational(-11, 5), w: sp.Rational(1, 3), y: sp.Rational(7, 8), gamma: sp.Rational(5, 2)})
    values = [abs(_value(difference, p)) for p in points]
    assert all(v < 1e-30 for v in values) is zero, values
    if quick:  # a proof is only ever claimed for a true identity
        assert zero


def _zero_numerator(expr: sp.Expr) -> bool:
    return sp.expand(sp.fraction(sp.together(sp.expand(expr)))[0]) == 0


u, v = sp.symbols("u v", real=True)
ATOMS = [
    # (difference, zero once e^t and the kinks are symbols, identically zero)
    ("e^(u+v)", sp.exp(u + v) - sp.exp(u) * sp.exp(v), True, True),
    ("σ two ways", 1 / (1 + sp.exp(-u - v)) - sp.exp(u + v) / (1 + sp.exp(u + v)), True, True),
    ("e^(2u)", sp.exp(2 * u) / (1 + sp.exp(u)) - sp.exp(u) + sp.exp(u) / (1 + sp.exp(u)), True, True),
    ("H(u) same argument", sp.Heaviside(u + v) * (u + 1) - sp.Heaviside(v + u) * u - sp.Heaviside(u + v), True, True),
    ("max, argument expanded", sp.Max(0, (u + 1) * v) - sp.Max(0, u * v + v), True, True),
    ("max(0,u) = u H(u): needs what a kink is", sp.Max(0, u) - u * sp.Heaviside(u), False, True),
    ("e^(u+v) - e^u", sp.exp(u + v) - sp.exp(u), False, False),
    ("H(u) - H(v)", sp.Heaviside(u) - sp.Heaviside(v), False, False),
]


@pytest.mark.parametrize(("name", "difference", "proven", "zero"), ATOMS, ids=[c[0] for c in ATOMS])
def test_exps_and_kinks_as_atoms(name, difference, proven, zero):
    atomized = proof.exps_as_atoms(proof.kinks_as_atoms(difference))
    assert not atomized.has(sp.exp, sp.Heaviside, sp.Max)
    assert _zero_numerator(atomized) is proven
    point = {u: sp.Rational(7, 5), v: sp.Rational(-2, 3)}
    value = abs(sp.N(difference.subs(point), 40))
    assert bool(value < 1e-30) is zero, value
    if proven:
        assert zero
