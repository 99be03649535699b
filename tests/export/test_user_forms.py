"""Stable rewrites of hand-written pieces of user formulas (derive.export.user_forms).

References: mpmath at 50 digits for the values, the elementary form for the identities, and the
gradient check (mpmath and finite differences over |z| <= 1e4) of exported user pairs.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
import sympy as sp

import derive
from derive import catalog
from derive.derivations import pairs
from derive.export import codegen, gradcheck, user_forms

u, y = sp.symbols("u y", real=True)
sigma, softplus = catalog.activation("sigmoid"), catalog.activation("softplus")

#: hand-written piece → its stable form
RULES = [
    (sp.log(1 + sp.exp(u)), softplus(u)),
    (sp.log(sp.exp(2 * u) + 1), softplus(2 * u)),
    (1 / (1 + sp.exp(u)), sigma(-u)),
    (1 - sigma(u), sigma(-u)),
    (1 - 1 / (1 + sp.exp(-u)), sigma(-u)),
    (sp.log(sigma(u)), -softplus(-u)),
    (sp.log(1 - sigma(u)), -softplus(u)),
    (1 - sp.tanh(u) ** 2, 4 * sigma(2 * u) * sigma(-2 * u)),
    (y - sp.log(1 + sp.exp(u)), y - softplus(u)),
    (u + sp.tanh(u) ** 2 - 1, u - 4 * sigma(2 * u) * sigma(-2 * u)),  # inside a longer sum, either sign
]


@pytest.mark.parametrize(("written", "stable"), RULES, ids=[str(r[0]) for r in RULES])
def test_each_rule_gives_the_stable_form_and_its_proof(written, stable):
    out, proven = user_forms.stabilise(written)
    assert out == stable
    assert proven and all(s.rule == "proven piece" for s in proven)
    for step in proven:  # each step is an identity: the replaced piece and its form agree at 50 digits
        for value in (-30, sp.Rational(-7, 10), sp.Rational(3, 10), 25):
            at = {u: value, y: sp.Rational(1, 4)}
            lhs = sp.N(step.lhs.rewrite("elementary").subs(at), 50)
            rhs = sp.N(step.expr.rewrite("elementary").subs(at), 50)
            assert abs(lhs - rhs) <= 1e-45 * max(1, abs(lhs))


@pytest.mark.parametrize("expr", [u**2 + y, sp.log(u), sp.tanh(u) ** 2 + 1, 2 - sigma(u), sp.exp(u) + 2])
def test_anything_else_is_kept_as_written(expr):
    assert user_forms.stabilise(expr) == (expr, [])


@pytest.mark.parametrize(
    ("loss_text", "act_text"),
    [
        (r"L(a, y) = |a-y|^p \quad (p \ge 1)", r"g(z) = \frac{1}{\beta}\ln(1+e^{\beta z}) \quad (\beta > 0)"),
        (r"L(a, y) = -w y \ln a - (1-y)\ln(1-a)", r"g(z) = \sigma(\gamma z) \quad (\gamma > 0)"),
        (r"L(a, y) = \frac{1}{2}(a-y)^2 + \lambda a^2", r"g(z) = z\sigma(z)"),
    ],
    ids=["softplus-by-hand", "weighted-bce", "swish"],
)
def test_exported_user_pairs_pass_the_gradient_check_in_far_tails(loss_text, act_text):
    """mpmath to 1e-12 relative and finite differences, z up to ±1e4 (where ln(1 + e^z) by hand overflows)."""
    d = pairs.derive(derive.Loss.from_latex(loss_text), derive.Activation.from_latex(act_text))
    report = gradcheck.check_derivation(d)
    assert report["max_rel_error_mpmath"] <= 1e-12 and report["max_error_finite_differences"] <= 1e-6
    source = codegen.module_source(d)
    assert "np.log(np.exp(" not in source and "1 + np.exp(" not in source


def test_the_naive_softplus_by_hand_would_overflow():
    """The reference for the test above: the formula as written is inf at z = 800, the stable one is not."""
    with np.errstate(over="ignore"):
        assert np.isinf(np.log(1 + np.exp(np.float64(800))))
    assert math.isclose(float(mpmath.log(1 + mpmath.exp(800))), 800.0)
