"""The stable pieces of each activation, each proven equal to what it stands for.

For an activation f the exported code needs

    a = f(z)              value
    f'(z)                 derivative, as the derivation has it: G(a, z) at a = f(z)
    a − 1, a + 1          where a approaches 1 or −1 (σ(z) − 1 = −σ(−z), tanh z + 1 = 2σ(2z), ...),

so that a − y and 1 − y·a lose no digits at targets y = 1 and y = −1.  The forms use E = e^{−|z|}
(never overflows), erfc instead of 1 + erf (GELU for z < 0), expm1 and clips; each piece is proven
equal to its naive meaning by cases of z (``derive.export.cases``).  An activation that is not in the
table (a user formula) gets its own forms, unchanged: the catalog functions inside them print stably.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import sympy as sp
from sympy.codegen.cfunctions import expm1

from derive import catalog, errors
from derive.catalog import activations
from derive.engine import steps
from derive.engine.notation import a, z
from derive.export import cases, stable

ALPHA = activations.ALPHA
#: 1 − α computed first, so that α·e^z + (1 − α) is e^z exactly at α = 1 (elu near a = −1).
ONE_MINUS_ALPHA = sp.Symbol("one_minus_alpha")
PARAMETER_SHIFTS = {ONE_MINUS_ALPHA: 1 - ALPHA}


class exp_times(sp.Function):
    """exp_times(g, h) = g·h·h with h = e^{x/2}: g·e^x, finite wherever it is, though e^x alone overflows.

    The exp activation's derivative times ∂L/∂a: κ·e^z of huber is 6.7e307 at z = 710 with κ = 0.3,
    while e^710 is inf in float64.  Printed as (g·h)·h.
    """

    nargs = 2

    def _eval_rewrite_as_exp(self, g, h, **kwargs):
        return g * h**2


def exp_products(expr: sp.Expr) -> sp.Expr:
    """Every product g·e^z of ``expr`` as exp_times(g, e^{z/2})."""
    is_product = lambda e: isinstance(e, sp.Mul) and sp.exp(z) in e.args  # noqa: E731
    return expr.replace(is_product, lambda e: exp_times(e / sp.exp(z), sp.exp(z / 2)))


def sigmoid_of(x: sp.Expr) -> sp.Expr:
    """σ(x) from e^{−|x|}: no overflow for any x, full relative precision."""
    e = sp.exp(-sp.Abs(x))
    return sp.Piecewise((1, x >= 0), (e, True)) / (1 + e)


def _gelu_tanh() -> tuple[sp.Expr, sp.Expr]:
    """z·σ(2u) and σ(2u)·(1 + 2z·u′·σ(−2u)), u = √(2/π)(z + 0.044715 z³): (1 ± tanh u)/2 = σ(±2u)."""
    u = activations.gelu_tanh.inner(z)
    return z * sigmoid_of(2 * u), sigmoid_of(2 * u) * (1 + 2 * z * sp.diff(u, z) * sigmoid_of(-2 * u))


_PHI = stable.Phi(z)  # erfc(−z/√2)/2: no cancellation of 1 + erf(z/√2) for z < 0
_SOFTSIGN_GAP = 1 + sp.Abs(z)
_ELU_NEGATIVE = ALPHA * sp.exp(sp.Min(z, 0))  # α e^z for z < 0, never overflows for z > 0

#: name → (a, f'(z), {c: a − c}) for the catalog activations.
TABLE: dict[str, tuple[sp.Expr, sp.Expr, dict[int, sp.Expr]]] = {
    "sigmoid": (stable.SIGMOID, stable.D_SIGMOID, {1: -stable.SIGMOID_C}),
    "tanh": (sp.tanh(z), stable.D_TANH, {1: -2 * stable.SIGMOID_2C, -1: 2 * stable.SIGMOID_2}),
    "identity": (z, sp.S.One, {}),
    "exp": (sp.exp(z), sp.exp(z), {1: expm1(z)}),
    "softplus": (stable.SOFTPLUS, stable.SIGMOID, {}),
    "relu": (stable.POSITIVE, stable.HEAVISIDE, {}),
    "leaky_relu": (
        sp.Piecewise((z, z >= 0), (ALPHA * z, True)),
        sp.Piecewise((1, z > 0), (ALPHA, z < 0), ((1 + ALPHA) / 2, True)),
        {},
    ),
    "elu": (
        sp.Piecewise((z, z > 0), (ALPHA * expm1(sp.Min(z, 0)), True)),
        sp.Piecewise((1, z > 0), (_ELU_NEGATIVE, z < 0), ((1 + ALPHA) / 2, True)),
        {-1: sp.Piecewise((z + 1, z > 0), (_ELU_NEGATIVE + ONE_MINUS_ALPHA, True))},
    ),
    "gelu": (z * _PHI, _PHI + z * sp.exp(-(z**2) / 2) / sp.sqrt(2 * sp.pi), {}),
    "gelu_tanh": (*_gelu_tanh(), {}),
    "silu": (z * stable.SIGMOID, stable.SIGMOID * (1 + z * stable.SIGMOID_C), {}),
    "softsign": (
        z / _SOFTSIGN_GAP,
        1 / _SOFTSIGN_GAP**2,
        {1: -(1 + 2 * sp.Max(-z, 0)) / _SOFTSIGN_GAP, -1: (1 + 2 * sp.Max(z, 0)) / _SOFTSIGN_GAP},
    ),
    "hard_sigmoid": (
        sp.Min(sp.Max(z / 6 + sp.S.Half, 0), 1),
        (sp.Heaviside(z + 3) - sp.Heaviside(z - 3)) / 6,
        {1: sp.Max(sp.Min(z / 6 - sp.S.Half, 0), -1)},
    ),
}


@dataclass(frozen=True)
class Pieces:
    """The proven stable pieces of one activation and the steps that prove them."""

    value: sp.Expr
    derivative: sp.Expr
    residuals: dict[int, sp.Expr]  # c → a − c, for c = 1 and c = −1 where a approaches c
    steps: tuple[steps.Step, ...]


def derivative_factor(act: type) -> sp.Expr:
    """∂a/∂z as the derivation writes it: through the output a where it can be, else in z."""
    through = act.derivative_through_output(a)
    return act(z).derivative() if through is None else through


def in_catalog(act: type) -> bool:
    """True when ``act`` is the catalog activation of its name (not a user formula of the same name)."""
    return catalog.ACTIVATIONS.get(act.name) is act and act.name in TABLE


@functools.cache
def pieces(act: type) -> Pieces:
    """The stable value, derivative and residuals of ``act``, each proven; errors.ProofError if one is not."""
    value_naive = act.elementary(z)
    if not in_catalog(act):  # a user formula: catalog functions inside it (σ, softplus) keep their stable printing
        return Pieces(value_naive, derivative_factor(act).subs(a, value_naive), {}, ())
    derivative_naive = derivative_factor(act).subs(a, value_naive).rewrite("elementary")
    value, derivative, residuals = TABLE[act.name]
    domains = {p.symbol: p.domain for p in act.parameters}
    claims = [
        (act(z), value, value_naive, "the value"),
        (sp.Derivative(act(z), z), derivative, derivative_naive, "the derivative"),
        *((act(z) - c, form, value_naive - c, f"a - ({c}) near a = {c}") for c, form in residuals.items()),
    ]
    proven = []
    for lhs, form, meaning, what in claims:
        if not cases.proven(meaning - form.xreplace(stable.TARGET_SHIFTS).xreplace(PARAMETER_SHIFTS), z, domains):
            raise errors.ProofError(f"the stable form of {what} of {act.name} is not proven: {form}")
        note = f"{what} of {act.name}, proven equal to {sp.sstr(meaning)} for z < 0, z = 0 and z > 0 (and at kinks)"
        proven.append(steps.Step("proven piece", lhs, form, note))
    return Pieces(value, derivative, residuals, tuple(proven))
