"""Stable forms of every scalar pair outside ``stable.SCALAR``: a loss template composed with activation pieces.

Most losses are functions of the residual r = a − y (quadratic, huber, smooth_l1, log_cosh,
gaussian_nll) or of the margin s = 1 − y·a (hinge, squared_hinge).  Each has a template in r or s
and in f'(z) (a placeholder D), proven equal to the loss and to ∂L/∂a · D by cases of r or s:

    huber     C = κr − κ²/2 | −κr − κ²/2 | r²/2          δ = clip(r, −κ, κ)·D
    log_cosh  C = log1p(2 sinh²(r/2)) for |r| < 1, |r| + log1p(e^{−2|r|}) − ln 2 beyond   δ = tanh(r)·D
    hinge     C = max(0, s)                              δ = −y·D where s > 0, −y·D/2 at s = 0, 0 below

(the branches keep 0·∞ out: e^z may overflow where the step is 0).  r and s are built from the
activation's pieces (``derive.export.activation_pieces``) without cancellation at y = ±1:
r = (a − 1) + (1 − y) for y > 1/2, (a + 1) − (1 + y) for y < −1/2; s = (1 − y) − y·(a − 1) for
y > 0, (1 + y) − y·(a + 1) for y < 0.  Focal ∘ sigmoid is its own piece: ln a = −softplus(−z),
ln(1 − a) = −softplus(z), 1 − a = σ(−z), so nothing overflows and no log of 0 is taken.  With the
exp activation each product g·e^z of δ is computed as (g·e^{z/2})·e^{z/2}, finite wherever it is
(κ·e^z of huber with κ < 1 beyond z = 709.78).

The proof is by substitution: the loss template (cases of r or s), the residual templates (in a),
the derived δ = ∂L/∂a · ∂a/∂z (``d.delta``), and each activation piece (cases of z) are proven
one by one and recorded as steps of the trace; the stable forms are these pieces put together.
A loss or activation outside the catalog (a user formula) keeps its own form, but for the hand-written
pieces that overflow or cancel (``ln(1 + e^u)``, ``1 − tanh²u``, ...: ``derive.export.user_forms``).
"""

from __future__ import annotations

import functools

import sympy as sp
from sympy.codegen.cfunctions import log1p

from derive import catalog, errors
from derive.catalog import losses
from derive.derivations import pairs
from derive.engine import notation, proof, steps
from derive.engine.notation import a, y, z
from derive.export import activation_pieces, cases, stable, user_forms

R, S, A, D = sp.Dummy("r"), sp.Dummy("s"), sp.Dummy("a"), sp.Dummy("D")
#: The names of r and s in the stable forms: computed once, first, then used by C and δ.
RESIDUAL, MARGIN = sp.Symbol("residual"), sp.Symbol("margin")
M1, P1 = sp.Dummy("a_minus_1"), sp.Dummy("a_plus_1")
_SHOWN = {R: sp.Symbol("r"), S: sp.Symbol("s"), A: a, D: notation.Partial(a, z)}
KAPPA, BETA, GAMMA, VARIANCE = losses.KAPPA, losses.BETA, losses.GAMMA, losses.VARIANCE
ONE_MINUS_Y, ONE_PLUS_Y = stable.ONE_MINUS_Y, stable.ONE_PLUS_Y


def _clip(x: sp.Expr, bound: sp.Expr, value: sp.Expr) -> sp.Expr:
    return sp.Piecewise((bound, x > bound), (-bound, x < -bound), (value, True))


#: loss name → (its variable, C, δ = ∂L/∂a · D) in the placeholders r, s, a, D.
TEMPLATES: dict[str, tuple[sp.Symbol, sp.Expr, sp.Expr]] = {
    "quadratic": (R, R**2 / 2, R * D),
    "gaussian_nll": (R, sp.log(2 * sp.pi * VARIANCE) / 2 + R**2 / (2 * VARIANCE), R * D / VARIANCE),
    "huber": (
        R,
        sp.Piecewise((KAPPA * R - KAPPA**2 / 2, R > KAPPA), (-KAPPA * R - KAPPA**2 / 2, R < -KAPPA), (R**2 / 2, True)),
        _clip(R, KAPPA, R) * D,
    ),
    "smooth_l1": (
        R,
        sp.Piecewise((R - BETA / 2, R > BETA), (-R - BETA / 2, R < -BETA), (R**2 / (2 * BETA), True)),
        sp.Piecewise((1, R > BETA), (-1, R < -BETA), (R / BETA, True)) * D,
    ),
    "log_cosh": (
        R,
        sp.Piecewise(
            (log1p(2 * sp.sinh(R / 2) ** 2), sp.Abs(R) < 1),
            (sp.Abs(R) + log1p(sp.exp(-2 * sp.Abs(R))) - sp.log(2), True),
        ),
        sp.tanh(R) * D,
    ),
    "hinge": (S, sp.Max(0, S), sp.Piecewise((-y * D, S > 0), (-y * D / 2, sp.Eq(S, 0)), (0, True))),
    "squared_hinge": (S, sp.Max(0, S) ** 2, sp.Piecewise((-2 * y * S * D, S > 0), (0, True))),
}


def _residual(p: activation_pieces.Pieces) -> sp.Expr:
    """a − y in the placeholders a, a − 1, a + 1: exact at y = 1 and y = −1 when the activation has those pieces."""
    branches = [(M1 + ONE_MINUS_Y, y > sp.S.Half)] if 1 in p.residuals else []
    branches += [(P1 - ONE_PLUS_Y, y < -sp.S.Half)] if -1 in p.residuals else []
    return sp.Piecewise(*branches, (A - y, True)) if branches else A - y


def _margin(p: activation_pieces.Pieces) -> sp.Expr:
    """1 − y·a in the same placeholders: (1 − y) − y·(a − 1) for y > 0, (1 + y) − y·(a + 1) for y < 0."""
    branches = [(ONE_MINUS_Y - y * M1, y > 0)] if 1 in p.residuals else []
    branches += [(ONE_PLUS_Y - y * P1, y < 0)] if -1 in p.residuals else []
    return sp.Piecewise(*branches, (1 - y * A, True)) if branches else 1 - y * A


def _in_catalog(loss_cls: type) -> bool:
    return catalog.LOSSES.get(loss_cls.name) is loss_cls


def legacy(d: steps.Derivation) -> bool:
    """True for a pair of ``stable.SCALAR`` (the catalog's classes): its hand-written forms, unchanged."""
    act = d.activation_function
    return (
        (d.loss, d.activation) in stable.SCALAR
        and _in_catalog(d.loss_function)
        and catalog.ACTIVATIONS.get(act.name) is act
    )


def stable_forms_of(d: steps.Derivation) -> stable.Stable:
    """The proven stable forms of the scalar pair of ``d``: ``stable.SCALAR``'s for its pairs, else composed.

    errors.InvalidOption for softmax (its forms: ``stable.softmax_forms``).
    """
    if d.activation_function.vector:
        raise errors.InvalidOption(f"no stable scalar form for {d.loss} ∘ {d.activation}")
    if legacy(d):
        return stable.stable_forms(d.loss, d.activation)
    return stable_forms(d.loss_function, d.activation_function)


@functools.cache
def stable_forms(loss_cls: type, act_cls: type) -> stable.Stable:
    """The proven stable loss and gradient of ``loss_cls ∘ act_cls``; errors.ProofError if a piece is not proven."""
    d = pairs.derive(loss_cls, act_cls)
    naive_cost, naive_grad = stable.naive_forms(d)
    catalog_pair = _in_catalog(loss_cls) and activation_pieces.in_catalog(act_cls)
    special = catalog_pair and (loss_cls.name, act_cls.name) == ("focal", "sigmoid")
    cost, grad, definitions, proven = (_focal_sigmoid if special else _compose)(d)
    Step = steps.Step
    trace = (
        Step("naive form", sp.Symbol("C"), naive_cost, "the definition: may overflow or cancel"),
        Step("stable form", sp.Symbol("C"), cost, "the proven pieces below, put together"),
        Step("naive form", sp.Symbol("delta"), naive_grad, "the derived error"),
        Step("stable form", sp.Symbol("delta"), grad, "the proven pieces below, put together"),
        *proven,
    )
    title = f"stable numeric forms of {d.loss} ∘ {d.activation}"
    results = {"loss": cost, "grad": grad, **{str(name): value for name, value in definitions}}
    return stable.Stable(d.loss, d.activation, cost, grad, steps.Trace(title, trace, results), definitions)


def _domains(d: steps.Derivation) -> dict[sp.Symbol, sp.Set]:
    return {p.symbol: p.domain for p in d.parameters}


def _compose(d: steps.Derivation) -> tuple[sp.Expr, sp.Expr, tuple, list[steps.Step]]:
    """(C, δ, the definitions of residual and margin, the proofs): a loss template with the activation's pieces."""
    loss_cls, act_cls = d.loss_function, d.activation_function
    p = activation_pieces.pieces(act_cls)
    factor = activation_pieces.derivative_factor(act_cls)
    if _in_catalog(loss_cls) and loss_cls.name in TEMPLATES:
        var, cost, grad = TEMPLATES[loss_cls.name]
        proven = [*_template_proofs(loss_cls, var, cost, grad, _domains(d))]
    else:  # a user formula, or a loss of the catalog without a template: its own form
        var, cost, grad, proven = None, loss_cls.elementary(A, y), loss_cls.gradient(A, y) * D, []
    used = (cost + grad).free_symbols
    values = {A: p.value, D: p.derivative, M1: p.residuals.get(1), P1: p.residuals.get(-1)}
    values = {k: v for k, v in values.items() if v is not None}
    definitions = []
    for placeholder, name, template in ((R, RESIDUAL, _residual(p)), (S, MARGIN, _margin(p))):
        if placeholder in used:
            proven.append(_placeholder_proof(placeholder, name, template, p))
            definitions.append((name, template.xreplace(values)))
    proven.append(_decomposition(d, loss_cls.gradient(a, y) * factor))
    proven += p.steps
    put = lambda e: e.xreplace({R: RESIDUAL, S: MARGIN}).xreplace(values)  # noqa: E731
    cost, grad = put(cost), put(grad)
    if not (catalog.built_in(loss_cls) and catalog.built_in(act_cls)):  # a user formula: its hand-written pieces
        (cost, cost_steps), (grad, grad_steps) = user_forms.stabilise(cost), user_forms.stabilise(grad)
        proven += cost_steps + [s for s in grad_steps if s not in cost_steps]
    if activation_pieces.in_catalog(act_cls) and act_cls.name == "exp":
        grad, step = _exp_products(grad)
        proven.append(step)
    return cost, grad, tuple(definitions), proven


def _exp_products(grad: sp.Expr) -> tuple[sp.Expr, steps.Step]:
    """δ with each g·e^z computed as (g·e^{z/2})·e^{z/2}, and the step that proves it the same."""
    out = activation_pieces.exp_products(grad)
    if not proof.is_zero(out.rewrite(sp.exp) - grad, var=None):
        raise errors.ProofError(f"the overflow-free products of e^z are not proven: {out}")
    g = sp.Symbol("g")
    note = "g·e^z as (g·e^{z/2})·e^{z/2}: no overflow before the product itself overflows"
    return out, steps.Step("proven piece", g * sp.exp(z), activation_pieces.exp_times(g, sp.exp(z / 2)), note)


def _template_proofs(loss_cls, var, cost, grad, domains) -> list[steps.Step]:
    """The loss template equals L(a, y) and ∂L/∂a · D, proven by cases of r = a − y or s = 1 − y·a."""
    back = {R: a - y, S: 1 - y * a, A: a}
    to_var = {R: R + y, S: (1 - S) / y}[var]
    out = []
    for template, meaning, what in (
        (cost, loss_cls.elementary(a, y), "the loss"),
        (grad, loss_cls.gradient(a, y) * D, "dL/da times D = da/dz"),
    ):
        if not cases.proven(template.subs(A, to_var) - meaning.subs(a, to_var), var, domains):
            raise errors.ProofError(f"the stable template of {what} of {loss_cls.name} is not proven: {template}")
        shown = template.xreplace(_SHOWN)
        shown_var = _SHOWN[var]
        note = f"{what} of {loss_cls.name} in {shown_var} = {sp.sstr(back[var])}, proven for {shown_var} < 0, = 0, > 0"
        out.append(steps.Step("proven piece", meaning.xreplace(_SHOWN), shown, note))
    return out


def _placeholder_proof(placeholder: sp.Symbol, name: sp.Symbol, template: sp.Expr, p) -> steps.Step:
    """r (or s) built from the activation's pieces equals a − y (or 1 − y·a), on every branch in y."""
    meaning = {R: a - y, S: 1 - y * a}[placeholder]
    naive = template.xreplace({A: a, M1: a - 1, P1: a + 1}).xreplace(stable.TARGET_SHIFTS)
    if not cases.proven(naive - meaning, a):
        raise errors.ProofError(f"the stable form of {meaning} is not proven: {template}")
    values = {A: p.value, M1: p.residuals.get(1, M1), P1: p.residuals.get(-1, P1)}
    note = (
        f"{name} = {meaning}: a, a - 1 and a + 1 from their proven pieces, 1 - y and 1 + y computed first; "
        "equal on every branch in y"
    )
    return steps.Step("proven piece", name, template.xreplace(values), note)


def _decomposition(d: steps.Derivation, product: sp.Expr) -> steps.Step:
    """The derived δ is ∂L/∂a times the activation's derivative (through a where the derivation has it so)."""
    difference = d.delta - product
    if not (sp.expand(difference) == 0 or proof.is_zero(difference)):
        raise errors.ProofError(f"the derived error of {d.loss} ∘ {d.activation} is not dL/da * da/dz: {d.delta}")
    return steps.Step("decomposition", sp.Symbol("delta"), product, "the derived δ = ∂L/∂a · ∂a/∂z, proven equal")


# -- focal ∘ sigmoid ----------------------------------------------------------------------------------

C1, LA, LC = sp.Dummy("one_minus_a"), sp.Dummy("log_a"), sp.Dummy("log_one_minus_a")
#: C = −[y (1 − a)^γ ln a + (1 − y) a^γ ln(1 − a)] and its δ, grouped so that each bracket is a sum of
#: terms >= 0 (ln a, ln(1 − a) < 0): exact at y = 0 and y = 1.
FOCAL_COST = -(y * C1**GAMMA * LA + ONE_MINUS_Y * A**GAMMA * LC)
FOCAL_GRAD = ONE_MINUS_Y * (A ** (GAMMA + 1) - GAMMA * A**GAMMA * C1 * LC) - y * (
    C1 ** (GAMMA + 1) - GAMMA * C1**GAMMA * A * LA
)


def _focal_sigmoid(d: steps.Derivation) -> tuple[sp.Expr, sp.Expr, tuple, list[steps.Step]]:
    sigma = catalog.activation("sigmoid")
    naive = {A: a, C1: 1 - a, LA: sp.log(a), LC: sp.log(1 - a)}
    proven = []
    claims = ((FOCAL_COST, d.loss_function.elementary(a, y), "C"), (FOCAL_GRAD, d.delta, "delta"))
    for template, meaning, what in claims:
        if not proof.is_zero(template.xreplace(naive).xreplace(stable.TARGET_SHIFTS) - meaning, var=None):
            raise errors.ProofError(f"the focal ∘ sigmoid template of {what} is not proven")
        note = "in a, 1 - a, ln a and ln(1 - a); proven equal to the definition and to the derived δ"
        proven.append(steps.Step("proven piece", sp.Symbol(what), template.xreplace(naive), note))
    pieces = {
        A: (stable.SIGMOID, sigma.elementary(z)),
        C1: (stable.SIGMOID_C, 1 - sigma.elementary(z)),
        LA: (-stable.SOFTPLUS_NEG, sp.log(sigma.elementary(z))),
        LC: (-stable.SOFTPLUS, sp.log(1 - sigma.elementary(z))),
    }
    for placeholder, (form, meaning) in pieces.items():
        if not cases.proven(meaning - form, z):
            raise errors.ProofError(f"the stable form of {meaning} is not proven: {form}")
        note = "proven for z < 0, z = 0 and z > 0: no overflow, no log of 0"
        proven.append(steps.Step("proven piece", naive[placeholder].subs(a, sigma(z)), form, note))
    values = {k: form for k, (form, _) in pieces.items()}
    return FOCAL_COST.xreplace(values), FOCAL_GRAD.xreplace(values), (), proven
