"""Numerically stable closed forms of every derived loss and gradient, proven equal to the naive forms.

The naive derived expressions overflow: bce ∘ σ as −[y ln σ(z) + (1 − y) ln(1 − σ(z))]
gives inf or nan from |z| ≈ 40 on.  Each pair here gets a stable form built from
E = e^{−|z|} (never overflows) and its pieces:

    softplus(z) = max(z, 0) + log1p(E)        ln σ(z) = −softplus(−z)
    σ(z)     = where(z ≥ 0, 1, E) / (1 + E)     1 − σ(z) = where(z ≥ 0, E, 1) / (1 + E)
    σ′(z)    = E / (1 + E)²                   tanh′(z) = 4E² / (1 + E²)²
    σ(z) − y = ((1 − y)·σ(z) − y·(1 − σ(z)))   exact for y ∈ {0, 1} at every z

and the gradient uses the cancelled form (σ(z) − y) where the derivation found
one.  Each stable form is proven equal to the naive one symbolically, in the
two cases z > 0 and z < 0 (``derive.engine.proof``); softmax uses the max shift
(``derive.derivations.shift``) and is proven in index notation (``derive.engine.indexed``).
Every scalar pair outside ``SCALAR`` is composed of proven pieces in ``derive.export.composed``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import sympy as sp
from sympy.codegen.cfunctions import expm1, log1p

from derive import errors
from derive.derivations import pairs, shift, softmax
from derive.engine import indexed, proof, steps
from derive.engine.notation import a, y, z


class log1p_ratio(sp.Function):
    """ln(1 + u)/u, with its limit 1 at u = 0 (so e^{z} underflowing to 0 is harmless)."""

    nargs = 1

    def _eval_rewrite_as_log(self, u, **kwargs):
        return sp.log(1 + u) / u


class Phi(sp.Function):
    """The standard normal distribution function Φ(x) = erfc(−x/√2)/2, exported through erfc.

    Its own class, because SymPy turns erfc(−x) into 2 − erfc(x), and 1 − erfc(x/√2)/2 cancels
    every digit for x < 0 (GELU of a negative z).
    """

    nargs = 1

    def _eval_rewrite_as_erf(self, x, **kwargs):
        return (1 + sp.erf(x / sp.sqrt(2))) / 2


#: 1 − y and 1 + y as their own variables, computed first: exact (0) at y = 1 and y = −1, and never
#: regrouped by SymPy, so 2σ(2z) − (1 + y) does not become (2σ(2z) − y) − 1 and lose σ at y = −1.
ONE_MINUS_Y, ONE_PLUS_Y = sp.symbols("one_minus_y one_plus_y")
TARGET_SHIFTS = {ONE_MINUS_Y: 1 - y, ONE_PLUS_Y: 1 + y}

E = sp.exp(-sp.Abs(z))
E2 = sp.exp(-2 * sp.Abs(z))
POSITIVE = sp.Max(z, 0)
SOFTPLUS = POSITIVE + log1p(E)  # softplus(z)
SOFTPLUS_NEG = sp.Max(-z, 0) + log1p(E)  # softplus(−z) = −ln σ(z)
SIGMOID = sp.Piecewise((1, z >= 0), (E, True)) / (1 + E)
SIGMOID_C = sp.Piecewise((E, z >= 0), (1, True)) / (1 + E)  # 1 − σ(z) = σ(−z)
D_SIGMOID = E / (1 + E) ** 2
SIGMOID_2 = sp.Piecewise((1, z >= 0), (E2, True)) / (1 + E2)  # σ(2z) = (1 + tanh z)/2
SIGMOID_2C = sp.Piecewise((E2, z >= 0), (1, True)) / (1 + E2)  # σ(−2z) = (1 − tanh z)/2
D_TANH = 4 * E2 / (1 + E2) ** 2
HEAVISIDE = sp.Heaviside(z)
#: ln softplus(z): direct for z ≥ 0; z + ln(ln(1 + e^z)/e^z) for z < 0, finite even when e^z underflows.
LOG_SOFTPLUS = sp.Piecewise((sp.log(SOFTPLUS), z >= 0), (z + sp.log(log1p_ratio(E)), True))
#: σ(z)/softplus(z): direct for z ≥ 0; 1/((1 + e^z)·ln(1 + e^z)/e^z) for z < 0.
SIGMOID_OVER_SOFTPLUS = sp.Piecewise((SIGMOID / SOFTPLUS, z >= 0), (1 / ((1 + E) * log1p_ratio(E)), True))


def _minus_target(value: sp.Expr, complement: sp.Expr) -> sp.Expr:
    """value − y for value in (0, 1) given 1 − value too: (1 − y)·value − y·(1 − value)."""
    return ONE_MINUS_Y * value - y * complement


#: tanh(z) − y without cancellation at y = ±1: (1 − y) − 2σ(−2z) near 1, 2σ(2z) − (1 + y) near −1.
TANH_MINUS_Y = sp.Piecewise(
    (ONE_MINUS_Y - 2 * SIGMOID_2C, y > sp.S.Half),
    (2 * SIGMOID_2 - ONE_PLUS_Y, y < -sp.S.Half),
    (sp.tanh(z) - y, True),
)
#: e^z − y: expm1(z) + (1 − y) near y = 1 (small z), e^z − y elsewhere (e^z tiny at y = 0).
EXP_MINUS_Y = sp.Piecewise((expm1(z) + ONE_MINUS_Y, y > sp.S.Half), (sp.exp(z) - y, True))
#: (loss, activation) → (stable elementwise loss, stable elementwise ∂C/∂z).
SCALAR: dict[tuple[str, str], tuple[sp.Expr, sp.Expr]] = {
    ("quadratic", "sigmoid"): (
        _minus_target(SIGMOID, SIGMOID_C) ** 2 / 2,
        _minus_target(SIGMOID, SIGMOID_C) * D_SIGMOID,
    ),
    ("quadratic", "tanh"): (TANH_MINUS_Y**2 / 2, TANH_MINUS_Y * D_TANH),
    ("quadratic", "identity"): ((z - y) ** 2 / 2, z - y),
    ("quadratic", "exp"): (EXP_MINUS_Y**2 / 2, EXP_MINUS_Y * sp.exp(z)),
    ("quadratic", "softplus"): ((SOFTPLUS - y) ** 2 / 2, (SOFTPLUS - y) * SIGMOID),
    ("quadratic", "relu"): ((POSITIVE - y) ** 2 / 2, (POSITIVE - y) * HEAVISIDE),
    ("bce", "sigmoid"): (  # y softplus(−z) + (1 − y) softplus(z): exact at y ∈ {0, 1}
        log1p(E) + ONE_MINUS_Y * POSITIVE + y * sp.Max(-z, 0),
        _minus_target(SIGMOID, SIGMOID_C),
    ),
    ("poisson", "sigmoid"): (SIGMOID + y * SOFTPLUS_NEG, SIGMOID_C * _minus_target(SIGMOID, SIGMOID_C)),
    ("poisson", "exp"): (sp.exp(z) - y * z, EXP_MINUS_Y),
    ("poisson", "softplus"): (SOFTPLUS - y * LOG_SOFTPLUS, SIGMOID - y * SIGMOID_OVER_SOFTPLUS),
}


@dataclass(frozen=True)
class Stable:
    """The stable forms of one pair and the trace that proves them."""

    loss: str
    activation: str
    cost: sp.Expr
    grad: sp.Expr
    trace: steps.Trace
    #: (symbol, value) computed in this order before cost and grad, which may use them (the residual a − y)
    definitions: tuple[tuple[sp.Symbol, sp.Expr], ...] = ()


def naive_forms(d: steps.Derivation) -> tuple[sp.Expr, sp.Expr]:
    """The loss and δ of a scalar derivation as derived, in z and y: what the stable forms must equal."""
    act = d.activation_function
    naive_cost = d.loss_function.elementary(act.elementary(z), y)
    return naive_cost, d.delta.subs(a, act.elementary(z)).rewrite("elementary")


@functools.cache
def stable_forms(loss: str, activation: str) -> Stable:
    """The proven stable loss and gradient of a pair of ``SCALAR`` (others: ``composed``; softmax: below)."""
    d = pairs.derive(loss, activation)
    key = (d.loss, d.activation)
    if key not in SCALAR:
        raise errors.InvalidOption(f"no stable scalar form for {d.loss} ∘ {d.activation}")
    cost, grad = SCALAR[key]
    naive_cost, naive_grad = naive_forms(d)
    Step = steps.Step
    trace = (
        Step("naive form", sp.Symbol("C"), naive_cost, "the definition: overflows for large |z|"),
        Step("stable form", sp.Symbol("C"), cost, "E = exp(-|z|) never overflows; proven for z > 0 and z < 0"),
        Step("naive form", sp.Symbol("delta"), naive_grad, "the derived error"),
        Step("stable form", sp.Symbol("delta"), grad, "the cancelled form where there is one; both signs of z"),
    )
    for naive, stable in ((naive_cost, cost), (naive_grad, grad)):
        if not equal_by_sign(naive, stable):
            raise errors.ProofError(f"stable form of {d.loss} ∘ {d.activation} not proven: {stable}")
    title = f"stable numeric forms of {d.loss} ∘ {d.activation}"
    return Stable(d.loss, d.activation, cost, grad, steps.Trace(title, trace, {"loss": cost, "grad": grad}))


def equal_by_sign(naive: sp.Expr, stable: sp.Expr) -> bool:
    """naive = stable for every real z ≠ 0: proven for z = t and z = −t (t > 0), on every branch in y."""
    t = sp.Symbol("t", positive=True)
    difference = (naive - stable.xreplace(TARGET_SHIFTS)).rewrite(sp.log).rewrite(sp.exp)  # log1p, expm1
    for sign in (1, -1):
        case = sp.piecewise_fold(difference.subs(z, sign * t))
        pieces = [piece for piece, _ in case.args] if isinstance(case, sp.Piecewise) else [case]
        if not all(proof.is_zero(piece, var=t) for piece in pieces):
            return False
    return True


# -- softmax ----------------------------------------------------------------------------------


@functools.cache
def softmax_forms(loss: str, weights: bool = False, smoothing: sp.Expr | None = None) -> steps.Trace:
    """Stable softmax loss and gradient in index notation, proven; cites the max shift.

    cross-entropy: C = (Σ_k ω_k t_k)·logsumexp(z) − Σ_k ω_k t_k z_k, ∂C/∂z_j = a_j Σ_k ω_k t_k − ω_j t_j
    (no use of Σ t = 1, so it holds for any targets t); logsumexp(z) = m + ln Σ_k e^{z_k − m}.
    kl_div: the same plus Σ_k y_k ln y_k (0 ln 0 = 0), with the same gradient; the derived δ_j = a_j − y_j
    uses Σ y = 1.
    ω_k = 1 without ``weights``; t = y, or with ``smoothing`` ε the smoothed ỹ = (1 − ε)·y + ε/K.
    The gradient is also proven equal to the δ_j of the derivation with the same options.
    """
    i, j, k, K, av, yv, zv = indexed.i, indexed.j, indexed.k, indexed.K, indexed.a, indexed.y, indexed.z
    t = yv if smoothing is None else softmax.y_smooth
    w = (lambda m: softmax.omega[m]) if weights else (lambda m: sp.S.One)  # noqa: E731

    lse = sp.log(indexed.ksum(sp.exp(zv[k])))
    softmax_of = lambda m: sp.exp(zv[m]) / indexed.ksum(sp.exp(zv[k]))  # noqa: E731
    if loss == "cross_entropy":
        naive = -indexed.ksum(w(k) * t[k] * sp.log(softmax_of(k)))
        cost = indexed.ksum(w(k) * t[k]) * lse - indexed.ksum(w(k) * t[k] * zv[k])
        grad = av[j] * indexed.ksum(w(k) * t[k]) - w(j) * t[j]
    elif loss == "kl_div" and not weights and smoothing is None:  # Σ_k y_k ln y_k + the cross-entropy (0 ln 0 = 0)
        entropy = indexed.ksum(yv[k] * sp.log(yv[k]))
        naive = entropy - indexed.ksum(yv[k] * sp.log(softmax_of(k)))
        cost = entropy + indexed.ksum(yv[k]) * lse - indexed.ksum(yv[k] * zv[k])
        grad = av[j] * indexed.ksum(yv[k]) - yv[j]
    elif loss == "quadratic" and not weights and smoothing is None:
        naive = indexed.ksum((softmax_of(k) - yv[k]) ** 2) / 2
        cost = naive
        grad = av[j] * (av[j] - yv[j]) - av[j] * sp.Sum(av[i] * (av[i] - yv[i]), (i, 1, K))
    else:
        raise errors.InvalidOption(f"no stable softmax form of {loss} with these options")
    naive_grad = sp.diff(naive, zv[j])
    to_z = lambda e: e.replace(lambda x: isinstance(x, sp.Indexed) and x.base == av, lambda x: softmax_of(x.indices[0]))  # noqa: E731
    if not (indexed.is_zero(cost - naive) and indexed.is_zero(to_z(grad) - naive_grad)):
        raise errors.ProofError(f"stable softmax form of {loss} not proven")
    derived = _softmax_derivation(loss, weights, smoothing)
    if not matches_derivation(grad, derived):
        raise errors.ProofError(f"the stable softmax gradient of {loss} is not the derived δ_j = {derived.delta}")
    Step = steps.Step
    trace = (
        Step("naive form", sp.Symbol("C"), naive, "softmax then log: overflows for z_k > 709"),
        Step("stable form", sp.Symbol("C"), cost, "log of a quotient; no use of Σ y = 1"),
        Step(
            "max shift",
            lse,
            shift.shift_invariance().results["log_softmax"] + zv[i] - sp.log(av[i]),
            "logsumexp(z) = max z + ln Σ_k e^{z_k - max z} (derive shift)",
        ),
        Step("stable form", sp.Symbol("delta_j"), grad, "a_j from the max-shifted softmax"),
        *(
            ()
            if smoothing is None
            else (Step("definition", t[k], (1 - smoothing) * yv[k] + smoothing / K, "label smoothing"),)
        ),
        Step("derivation", sp.Symbol("delta_j"), derived.delta, "the same δ_j, as derived (Σ_k y_k = 1 allowed)"),
    )
    return steps.Trace(f"stable numeric forms of {loss} ∘ softmax", trace, {"loss": cost, "grad": grad})


def _softmax_derivation(loss: str, weights: bool, smoothing: sp.Expr | None) -> steps.Derivation:
    """The symbolic-K derivation with these options."""
    if smoothing is None:
        return pairs.derive(loss, "softmax", class_weights=weights)
    eps = True if smoothing == softmax.epsilon else str(smoothing)
    return pairs.derive(loss, "softmax", label_smoothing=eps, class_weights=weights)


def matches_derivation(grad: sp.Expr, d: steps.Derivation) -> bool:
    """True when ``grad`` (δ_j in a, the targets and ω) equals the symbolic-K ``d.delta``.

    Smoothed targets ỹ are replaced by their definition on both sides; Σ_k y_k = 1 may be
    used, as the derivation uses it.
    """
    eps = d.options.label_smoothing

    def untarget(expr: sp.Expr) -> sp.Expr:
        if eps is None:
            return expr
        is_smoothed = lambda e: isinstance(e, sp.Indexed) and e.base == softmax.y_smooth  # noqa: E731
        return expr.replace(is_smoothed, lambda e: (1 - eps) * indexed.y[e.indices[0]] + eps / indexed.K)

    difference = untarget(grad) - untarget(d.delta)
    return indexed.is_zero(difference, (indexed.sum_to_one(indexed.y),))


def softmax_forms_of(d: steps.Derivation) -> steps.Trace:
    """:func:`softmax_forms` with the options of ``d`` (its loss, ω, ε)."""
    return softmax_forms(d.loss, d.options.class_weights, d.options.label_smoothing)
