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


# -- proofs of hand steps: sums inside calls as symbols, kinks by the signs of their arguments ---------

alpha = sp.Symbol("alpha", positive=True)
alpha_real = sp.Symbol("alpha", real=True)
b, w1, w2, x1, x2 = sp.symbols("b w1 w2 x1 x2", real=True)
pre = b + w1 * x1 + w2 * x2


def _elu(arg: sp.Expr, scale: sp.Symbol) -> sp.Expr:
    """elu's elementary form with its α the symbol ``scale`` (the catalog's α has no sign)."""
    return proof.elementary(activations.elu(arg)).xreplace({activations.ALPHA: scale})


SIGNS = [
    # (difference, proven by cases of signs, zero wherever no kink's argument is 0)
    ("H(u) max(0,u) = max(0,u)", sp.Heaviside(u) * sp.Max(0, u) - sp.Max(0, u), True, True),
    ("max(0,u) = u H(u)", sp.Max(0, u) - u * sp.Heaviside(u), True, True),
    ("|u| = u sign(u)", sp.Abs(u) - u * sp.sign(u), True, True),
    ("max + min = u + v", sp.Max(u, v) + sp.Min(u, v) - u - v, True, True),
    ("|u - v| = max - min", sp.Abs(u - v) - sp.Max(u, v) + sp.Min(u, v), True, True),
    ("H(u)^2 = H(u) away from 0", sp.Heaviside(u) ** 2 - sp.Heaviside(u), True, True),
    ("hinge, argument a call", sp.Heaviside(1 - y * s) * sp.Max(0, 1 - y * s) - sp.Max(0, 1 - y * s), True, True),
    (
        "softsign through |u|",
        (1 - sp.Abs(activations.softsign(u))) ** 2 - 1 / (1 + sp.Abs(u)) ** 2,
        True,
        True,
    ),
    ("H(elu(u)) = H(u), α > 0", sp.Heaviside(_elu(u, alpha)) - sp.Heaviside(u), True, True),
    (
        "Piecewise branch by branch",
        2 * sp.Piecewise((u, u > 1), (0, True)) - sp.Piecewise((2 * u, u > 1), (0, True)),
        True,
        True,
    ),
    ("H(u+v)(u+v) = max(0, u+v)", sp.Heaviside(u + v) * (u + v) - sp.Max(0, u + v), True, True),
    # false, or not known from the signs
    ("H(uv) = 1", sp.Heaviside(u * v) - 1, False, False),
    ("|u| = u", sp.Abs(u) - u, False, False),
    ("max(0,u) = max(0,v)", sp.Max(0, u) - sp.Max(0, v), False, False),
    ("H(u) = H(-u)", sp.Heaviside(u) - sp.Heaviside(-u), False, False),
    ("H(elu(u)) = H(u), α real", sp.Heaviside(_elu(u, alpha_real)) - sp.Heaviside(u), False, False),
]


def _values_away_from_kinks(expr: sp.Expr) -> list:
    points = []
    for values in ((sp.Rational(7, 5), sp.Rational(-2, 3)), (sp.Rational(-9, 4), sp.Rational(5, 7))):
        for a in (sp.Rational(3, 2), sp.Rational(-1, 2)):
            points.append({u: values[0], v: values[1], z: values[1], w: values[0], y: sp.Rational(2, 3), alpha_real: a})
    out = []
    for point in points:
        expr_at = proof.elementary(expr).subs(point).subs(alpha, sp.Rational(3, 2))
        out.append(abs(sp.N(expr_at, 40)))
    return out


@pytest.mark.parametrize(("name", "difference", "proven", "zero"), SIGNS, ids=[c[0] for c in SIGNS])
def test_is_zero_by_signs(name, difference, proven, zero):
    assert proof.is_zero_by_signs(difference) is proven
    values = _values_away_from_kinks(difference)
    assert all(v < 1e-30 for v in values) is zero, values
    if proven:  # a proof is only ever claimed for a true identity
        assert zero


def test_is_zero_by_signs_gives_up_on_large_cases():
    sigmoid_two_ways = 1 / (1 + sp.exp(-u - v)) - sp.exp(u + v) / (1 + sp.exp(u + v))
    step = sp.Heaviside(u) * sp.Max(0, u) - sp.Max(0, u) + sigmoid_two_ways
    assert proof.is_zero_by_signs(step)
    assert not proof.is_zero_by_signs(step, max_ops=3)  # not put over one denominator: not proven


U = sp.Symbol("U", real=True)
ARGUMENTS = [
    # (expression, the expression once the sums are symbols, with U the symbol of b + w1 x1 + w2 x2)
    ("every call and power", sp.exp(pre) * sp.tanh(pre) + pre**2, sp.exp(U) * sp.tanh(U) + U**2),
    ("a sign and a factor", sp.exp(2 * pre) * sp.exp(-pre), sp.exp(2 * U) * sp.exp(-U)),
    ("scaled and shifted", sp.exp(2 * pre + 3) + sp.log(pre), sp.exp(2 * U + 3) + sp.log(U)),
    ("spread in a longer sum", sp.tanh(pre**3 + pre) + pre, sp.tanh(U**3 + U) + U),
    ("one symbol: no sum to replace", sp.exp(z + 1) - sp.exp(z), sp.exp(z + 1) - sp.exp(z)),
]


@pytest.mark.parametrize(("name", "expr", "expected"), ARGUMENTS, ids=[c[0] for c in ARGUMENTS])
def test_arguments_as_atoms(name, expr, expected):
    abstracted, sums = proof.arguments_as_atoms(expr)
    assert all(symbol.is_real for symbol in sums)
    assert sp.expand(abstracted.xreplace(sums) - expr) == 0  # the same expression with the sums put back
    assert abstracted.xreplace({symbol: U for symbol in sums}) == expected
    assert len(sums) == (0 if name.startswith("one symbol") else 1)


def test_arguments_as_atoms_keeps_two_sums_apart():
    abstracted, sums = proof.arguments_as_atoms(sp.exp(b + w1 * x1) - sp.exp(b + w2 * x2))
    assert sorted(sums.values(), key=str) == [b + w1 * x1, b + w2 * x2]
    assert abstracted != 0


def test_is_zero_by_signs_takes_the_domains_of_parameters():
    """elu's α enters again each time elu is made elementary: its domain must hold there too."""
    step = sp.Heaviside(activations.elu(u)) - sp.Heaviside(u)
    assert proof.is_zero_by_signs(step, {activations.ALPHA: sp.Interval.open(0, sp.oo)})
    assert not proof.is_zero_by_signs(step)  # α < 0 flips the sign of elu(u) for u < 0
