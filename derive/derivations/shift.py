"""Shift invariance of softmax, and the max-subtraction rule it justifies.

softmax(z + c)_i = e^{z_i + c} / Σ_k e^{z_k + c} = e^c e^{z_i} / (e^c Σ_k e^{z_k})
= softmax(z)_i for every constant c.  With c = −max_k z_k every exponent is
≤ 0 (no overflow) and the largest term is e^0 = 1 (the sum is ≥ 1, so no
division by zero), and ln a_i = z_i − m − ln Σ_k e^{z_k − m} is the stable
log-softmax (logsumexp with the max shift).  derive's numeric export cites it.
"""

from __future__ import annotations

import functools

import sympy as sp

from derive import catalog
from derive.engine import checking, indexed, steps
from derive.engine.indexed import K, a, i, k, z

c = sp.Symbol("c")
z_max = sp.Symbol("zmax")  # max_k z_k
shifted = sp.Symbol("softmax(z + c)_i")

#: LaTeX for the symbols of this derivation (used by the renderers).
SYMBOL_LATEX = {c: "c", z_max: r"\max_k z_k", shifted: r"\operatorname{softmax}\left(z + c\right)_{i}"}


@functools.cache
def shift_invariance() -> steps.Trace:
    """The proven derivation softmax(z + c) = softmax(z), ending in the max shift.

    >>> shift_invariance().results["log_softmax"]
    -zmax - log(Sum(exp(-zmax + z[k]), (k, 1, K))) + z[i]
    """
    Step = steps.Step
    total = indexed.ksum(sp.exp(z[k]))
    trace = [
        # 1. softmax of the shifted vector, and the exponent rule e^{u + c} = e^c e^u
        Step("definition", shifted, sp.exp(z[i] + c) / indexed.ksum(sp.exp(z[k] + c)), "softmax of z_k + c"),
        Step(
            "exponent rule",
            shifted,
            sp.exp(c) * sp.exp(z[i]) / indexed.ksum(sp.exp(c) * sp.exp(z[k])),
            "e^{u + c} = e^c e^u",
        ),
        # 2. e^c does not depend on k: out of the sum, then it cancels
        Step(
            "linearity",
            shifted,
            _fraction(sp.exp(c) * sp.exp(z[i]), sp.Mul(sp.exp(c), total, evaluate=False)),
            "e^c does not depend on k",
        ),
        Step("cancel", shifted, sp.exp(z[i]) / total, "the factor e^c cancels", cancelled=sp.exp(c)),
        Step("definition", shifted, a[i], "softmax(z)_i: the shift changes nothing"),
        # 3. the max shift, and the stable log-softmax
        Step(
            "max shift",
            a[i],
            sp.exp(z[i] - z_max) / indexed.ksum(sp.exp(z[k] - z_max)),
            "c = -max_k z_k: every exponent is <= 0 (no overflow); the largest term is 1, so the sum is >= 1",
        ),
        Step(
            "logarithm",
            sp.log(a[i]),
            z[i] - z_max - sp.log(indexed.ksum(sp.exp(z[k] - z_max))),
            "log-softmax = z_i - max z - logsumexp(z - max z): the stable form",
        ),
    ]
    softmax = catalog.ACTIVATIONS["softmax"].elementary(z, i, K)
    references = {
        shifted: sp.exp(z[i] + c) / indexed.ksum(sp.exp(z[k] + c)),
        a[i]: softmax,
        sp.log(a[i]): sp.log(softmax),
    }
    checking.check(trace, references.get, lambda e: e.xreplace({a[i]: softmax}), indexed.is_zero)
    return steps.Trace(
        title="shift invariance of softmax",
        steps=tuple(trace),
        results={"softmax": trace[5].expr, "log_softmax": trace[6].expr},
        notes=(
            "softmax(z + c) = softmax(z) for every constant c",
            "stable implementations subtract max_k z_k before exponentiating",
        ),
        symbol_latex=SYMBOL_LATEX,
    )


def _fraction(numerator: sp.Expr, denominator: sp.Expr) -> sp.Expr:
    """numerator / denominator shown as written, before SymPy cancels common factors."""
    return sp.Mul(numerator, sp.Pow(denominator, -1, evaluate=False), evaluate=False)
