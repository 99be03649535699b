"""derive(loss, activation) against independent references.

δ is compared with plain ``sympy.diff`` of the fully elementary cost and with
central finite differences; every step is re-evaluated numerically with mpmath;
the engine's own check is shown to reject a wrong step.
"""

from __future__ import annotations

import dataclasses
import math

import mpmath
import numpy as np
import pytest
import sympy as sp

from derive import catalog, errors
from derive.derivations import pairs
from derive.engine import notation, proof
from derive.engine.notation import C, Partial, a, b, delta, w_j, x_j, y, z
from derive.engine.steps import Step

RNG = np.random.default_rng(20261121)
VALID_PAIRS = [(loss, act) for loss, act in catalog.pairs(valid=True) if act != "softmax"]  # softmax: test_vector.py
INVALID_PAIRS = catalog.pairs(valid=False)


#: A value of each parameter (α, κ, β, γ, v) for the numeric tests, away from the defaults.
VALUES = {"alpha": sp.Rational(3, 10), "kappa": sp.Rational(1, 2), "beta": sp.Rational(3, 4), "gamma": 2, "v": 3}
CLASSIC = {"quadratic", "bce", "poisson"}, {"sigmoid", "tanh", "identity", "exp", "softplus", "relu"}


def _fixed(loss: str, act: str, expr: sp.Expr) -> sp.Expr:
    """``expr`` with the pair's parameters at their test values."""
    params = (*catalog.loss(loss).parameters, *catalog.activation(act).parameters)
    return expr.subs({p.symbol: VALUES[p.symbol.name] for p in params})


def _elementary_cost(loss: str, act: str, arg: sp.Expr) -> sp.Expr:
    return _fixed(loss, act, catalog.loss(loss).elementary(catalog.activation(act).elementary(arg), y))


def _sample_targets(loss: str, count: int) -> np.ndarray:
    if catalog.loss(loss).y_domain == sp.FiniteSet(-1, 1):  # hinge: labels ±1
        return RNG.choice([-1.0, 1.0], count)
    top = 1.0 if loss in ("bce", "focal") else 3.0
    return RNG.uniform(0.0, top, count)


def _sample_z(count: int) -> np.ndarray:
    values = RNG.uniform(-4.0, 4.0, count)
    near_kink = np.min(np.abs(values[:, None] - np.array([0.0, -3.0, 3.0])), axis=1) < 1e-2
    return np.where(near_kink, 0.5, values)  # keep off the kinks of relu (0) and hard_sigmoid (±3)


#: NumPy has no erf; the FD tests lambdify it with math.erf.
NUMPY = [{"erf": np.vectorize(math.erf)}, "numpy"]


# -- results -----------------------------------------------------------------------

KNOWN = [
    # loss, activation, delta, cancels, saturates, sup |δ/(a-y)|
    ("quadratic", "sigmoid", "a*(1 - a)*(a - y)", False, True, "1/4"),
    ("quadratic", "tanh", "(1 - a**2)*(a - y)", False, True, "1"),
    ("quadratic", "identity", "a - y", True, False, "1"),
    ("quadratic", "exp", "a*(a - y)", False, True, "oo"),
    ("quadratic", "softplus", "(1 - exp(-a))*(a - y)", False, True, "1"),
    ("quadratic", "relu", "(a - y)*Heaviside(z)", False, True, "1"),
    ("bce", "sigmoid", "a - y", True, False, "1"),
    ("poisson", "sigmoid", "(1 - a)*(a - y)", False, True, "1"),
    ("poisson", "exp", "a - y", True, False, "1"),
    ("poisson", "softplus", "(1 - exp(-a))*(a - y)/a", False, False, None),
    # the wider catalog: one row per new function at least
    ("quadratic", "leaky_relu", "(a - y)*(alpha + (1 - alpha)*Heaviside(a))", False, False, None),
    ("quadratic", "elu", "(a - y)*((a + alpha)*Heaviside(-a) + Heaviside(a))", False, True, None),
    ("quadratic", "softsign", "(1 - Abs(a))**2*(a - y)", False, True, None),
    ("quadratic", "hard_sigmoid", "(a - y)*(Heaviside(z + 3)/6 - Heaviside(z - 3)/6)", False, True, None),
    ("quadratic", "silu", "(a - y)*(z*(1 - sigmoid(z)) + 1)*sigmoid(z)", False, True, None),
    (
        "quadratic",
        "gelu",
        "(a - y)*(sqrt(2)*z*exp(-z**2/2)/(2*sqrt(pi)) + erf(sqrt(2)*z/2)/2 + 1/2)",
        False,
        True,
        None,
    ),
    (  # f' = (1 + tanh u)/2 + z(1 − tanh² u)u'/2, u = √(2/π)(z + 0.044715 z³), by hand
        "quadratic",
        "gelu_tanh",
        "(a - y)*(sqrt(2)*z*(1 - tanh(sqrt(2)*(8943*z**3/200000 + z)/sqrt(pi))**2)*(26829*z**2/200000 + 1)"
        "/(2*sqrt(pi)) + tanh(sqrt(2)*(8943*z**3/200000 + z)/sqrt(pi))/2 + 1/2)",
        False,
        True,
        None,
    ),
    ("gaussian_nll", "identity", "(a - y)/v", True, False, "1/v"),
    ("log_cosh", "identity", "tanh(a - y)", False, False, None),
    (
        "huber",
        "identity",
        "Piecewise((kappa, a - y > kappa), (-kappa, a - y < -kappa), (a - y, True))",
        False,
        False,
        None,
    ),
    (
        "smooth_l1",
        "sigmoid",
        "a*(1 - a)*Piecewise((1, a - y > beta), (-1, a - y < -beta), ((a - y)/beta, True))",
        False,
        True,
        None,
    ),
    ("hinge", "identity", "-y*Heaviside(1 - a*y)", False, False, None),
    ("hinge", "sigmoid", "-a*y*(1 - a)*Heaviside(1 - a*y)", False, True, None),
    ("squared_hinge", "identity", "-2*y*Max(0, 1 - a*y)", False, False, None),
    (
        "focal",
        "sigmoid",
        "a*gamma*y*(1 - a)**gamma*log(a) - a**gamma*gamma*(1 - a)*(1 - y)*log(1 - a) + a**(gamma + 1)*(1 - y)"
        " - y*(1 - a)**(gamma + 1)",
        False,
        False,
        None,
    ),
]
SYMS = {"a": a, "y": y, "z": z, "sigmoid": catalog.activation("sigmoid"), **{name: sp.Symbol(name) for name in VALUES}}


def test_known_table_covers_every_classic_pair_and_every_function():
    classic = [(loss, act) for loss, act in VALID_PAIRS if loss in CLASSIC[0] and act in CLASSIC[1]]
    assert set(classic) <= {(row[0], row[1]) for row in KNOWN}
    assert {row[0] for row in KNOWN} == {loss for loss, _ in VALID_PAIRS}
    assert {row[1] for row in KNOWN} == {act for _, act in VALID_PAIRS}


@pytest.mark.parametrize(("loss", "act", "delta_", "cancels", "saturates", "bound"), KNOWN)
def test_known_results(loss, act, delta_, cancels, saturates, bound):
    d = pairs.derive(loss, act)
    assert d.delta == sp.sympify(delta_, locals=SYMS)
    assert d.grad_w == x_j * d.delta
    assert d.grad_b == d.delta
    assert d.cancels is cancels
    assert d.saturates is saturates
    assert (None if d.analysis.bound is None else str(d.analysis.bound)) == bound


def test_classic_results_read_as_a_person_writes_them():
    assert str(pairs.derive("bce", "sigmoid").delta) == "a - y"
    assert str(pairs.derive("quadratic", "sigmoid").delta) == "a*(1 - a)*(a - y)"
    assert str(pairs.derive("bce", "sigmoid").grad_w) == "x_j*(a - y)"


def test_saturation_limits_of_quadratic_sigmoid_and_bce_sigmoid():
    quad = pairs.derive("quadratic", "sigmoid").analysis.limits
    bce = pairs.derive("bce", "sigmoid").analysis.limits
    assert dict(quad) == {"z->oo, y=0": 0, "z->-oo, y=1": 0}
    assert dict(bce) == {"z->oo, y=0": 1, "z->-oo, y=1": -1}


def test_delta_equals_sympy_diff_of_the_elementary_cost(pair):
    """Symbolically for the classic pairs; at 50 digits at random points for the wider catalog."""
    loss, act = pair
    d = pairs.derive(loss, act)
    reference = sp.diff(_elementary_cost(loss, act, z), z)
    mine = _fixed(loss, act, d.delta.subs(a, catalog.activation(act).elementary(z)))
    if loss in CLASSIC[0] and act in CLASSIC[1]:
        assert sp.simplify(mine - reference) == 0
        return
    difference = sp.lambdify((z, y), mine - reference, "mpmath")
    with mpmath.workdps(50):
        for zv, yv in zip(_sample_z(12), _sample_targets(loss, 12), strict=True):
            assert abs(difference(mpmath.mpf(zv), mpmath.mpf(yv))) < mpmath.mpf(10) ** -40


def test_delta_and_gradients_match_central_finite_differences(pair):
    loss, act = pair
    d = pairs.derive(loss, act)
    f = catalog.activation(act).elementary(z)
    cost = sp.lambdify((z, y), _elementary_cost(loss, act, z), NUMPY)
    delta_ = sp.lambdify((z, y), _fixed(loss, act, d.delta.subs(a, f)), NUMPY)
    grad_w = sp.lambdify((z, y, x_j), _fixed(loss, act, d.grad_w.subs(a, f)), NUMPY)
    zs, ys, xs = _sample_z(25), _sample_targets(loss, 25), RNG.normal(size=25)
    h = 1e-6
    fd_z = (cost(zs + h, ys) - cost(zs - h, ys)) / (2 * h)
    np.testing.assert_allclose(delta_(zs, ys), fd_z, rtol=1e-6, atol=1e-8)
    # ∂C/∂w_j: z = w_j x_j + (the rest), so moving w_j by h moves z by h x_j
    fd_w = (cost(zs + h * xs, ys) - cost(zs - h * xs, ys)) / (2 * h)
    np.testing.assert_allclose(grad_w(zs, ys, xs), fd_w, rtol=1e-6, atol=1e-8)


def test_every_step_holds_numerically_at_50_digits(pair):
    """Each step's value equals the reference value of its quantity, re-evaluated with mpmath."""
    loss, act = pair
    refs = pairs._references(catalog.loss(loss), catalog.activation(act))
    d = pairs.derive(loss, act)
    points = [
        (mpmath.mpf(zv), mpmath.mpf(yv), mpmath.mpf(xv))
        for zv, yv, xv in zip(_sample_z(3), _sample_targets(loss, 3), RNG.normal(size=3), strict=True)
    ]
    checked = 0
    for step in d.steps:
        if step.lhs not in refs or step.expr.has(notation.SampleSum):
            continue
        mine = sp.lambdify((z, y, x_j), _fixed(loss, act, proof.elementary(step.expr.xreplace(refs))), "mpmath")
        want = sp.lambdify((z, y, x_j), _fixed(loss, act, refs[step.lhs]), "mpmath")
        with mpmath.workdps(50):
            for p in points:
                assert abs(mine(*p) - want(*p)) < mpmath.mpf(10) ** -40, step
        checked += 1
    assert checked >= 15


def test_consecutive_steps_on_the_same_quantity_form_chains(pair):
    d = pairs.derive(*pair)
    chains = sum(1 for s, t in zip(d.steps, d.steps[1:], strict=False) if s.lhs == t.lhs)
    assert chains >= 6


def test_the_trace_has_the_promised_stages():
    d = pairs.derive("bce", "sigmoid")
    rules = [s.rule for s in d.steps]
    for rule in ("definition", "chain rule", "differentiate", "through output", "cancel", "batch mean"):
        assert rule in rules
    cancel = next(s for s in d.steps if s.rule == "cancel")
    assert cancel.cancelled == a * (1 - a)
    lhs = [s.lhs for s in d.steps]
    assert {C, a, z, delta, Partial(C, w_j), Partial(C, b), Partial(notation.C_batch, w_j)} <= set(lhs)


def test_quadratic_sigmoid_keeps_the_factor():
    d = pairs.derive("quadratic", "sigmoid")
    last = [s for s in d.steps if s.lhs == delta][-1]
    assert last.rule == "multiply" and "stays" in last.note and last.cancelled is None


def test_batch_mean_step():
    d = pairs.derive("bce", "sigmoid")
    batch = next(s for s in d.steps if s.lhs == Partial(notation.C_batch, w_j))
    assert str(notation.evaluate_products(batch.expr)) == "Sum(x_j*(a - y), x)/n"


# -- the engine rejects wrong steps ---------------------------------------------------------


def test_engine_rejects_a_wrong_last_delta_step():
    loss, act = "bce", "sigmoid"
    d = pairs.derive(loss, act)
    refs = pairs._references(catalog.loss(loss), catalog.activation(act))
    trace = list(d.steps)
    where = max(i for i, s in enumerate(trace) if s.lhs == delta)
    trace[where] = dataclasses.replace(trace[where], expr=a + y)
    with pytest.raises(errors.ProofError, match=f"step {where + 1}"):
        pairs.check(trace, refs)


@pytest.mark.parametrize(
    ("lhs", "wrong"),
    [
        (Partial(C, a), (a - y) / a),  # a factor forgotten
        (Partial(a, z), a * (1 + a)),  # a sign slip in σ'
        (Partial(C, w_j), x_j * (a + y)),
        (Partial(C, b), x_j * (a - y)),
    ],
    ids=["dC/da", "da/dz", "dC/dw", "dC/db"],
)
def test_engine_rejects_wrong_steps(lhs, wrong):
    refs = pairs._references(catalog.loss("bce"), catalog.activation("sigmoid"))
    trace = [Step("made up", lhs, wrong)]
    with pytest.raises(errors.ProofError):
        pairs.check(trace, refs)


def test_engine_accepts_its_own_trace(pair):
    d = pairs.derive(*pair)
    loss_cls, act = catalog.loss(pair[0]), catalog.activation(pair[1])
    pairs.check(list(d.steps), pairs._references(loss_cls, act), pairs._domains(loss_cls, act))


@pytest.mark.parametrize(
    ("loss", "act", "expected"),
    [
        ("hinge", "relu", {"z->oo, y=-1": "1", "z->-oo, y=1": "0"}),
        ("quadratic", "gelu", {"z->oo, y=0": "oo", "z->-oo, y=1": "0"}),
        ("quadratic", "elu", {"z->oo, y=0": "oo", "z->-oo, y=1": "0"}),
        ("huber", "identity", {"z->oo, y=0": "kappa", "z->-oo, y=1": "-kappa"}),
    ],
)
def test_saturation_limits_of_the_wider_catalog(loss, act, expected):
    """Limits at the wrong ends: hinge's are at y = −1 and 1; gelu tends to 0 (not its minimum) as z → −∞."""
    limits = pairs.derive(loss, act).analysis.limits
    assert {end: str(value) for end, value in limits.items()} == expected


@pytest.mark.parametrize(
    ("loss", "act"), [("hinge", "relu"), ("quadratic", "leaky_relu"), ("quadratic", "hard_sigmoid")]
)
def test_a_kink_has_its_subgradient_convention_as_a_step(loss, act):
    d = pairs.derive(loss, act)
    convention = [s for s in d.steps if s.rule == "subgradient convention"]
    assert convention and convention[0].expr == sp.S.Half and "H(0) = 1/2" in convention[0].note


def test_the_engine_rejects_a_wrong_subgradient_at_the_kink():
    """α + (1 − α)·H(z) is proven by cases; a derivative off by a term that is 0 except at z = 0 is caught."""
    loss_cls, act = catalog.loss("quadratic"), catalog.activation("leaky_relu")
    alpha = act.parameters[0].symbol
    refs, domains = pairs._references(loss_cls, act), pairs._domains(loss_cls, act)
    pairs.check([Step("right", Partial(a, z), alpha + (1 - alpha) * sp.Heaviside(z))], refs, domains)
    wrong = alpha + (1 - alpha) * sp.Piecewise((1, z >= 0), (0, True))  # the right derivative at z = 0
    with pytest.raises(errors.ProofError):
        pairs.check([Step("wrong at 0", Partial(a, z), wrong)], refs, domains)


# -- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(("loss", "act"), INVALID_PAIRS)
def test_invalid_pairs_raise_domain_error(loss, act):
    if act == "softmax":
        pattern = f"{loss} is a loss of one output, but softmax gives K outputs; use one of: quadratic, cross_entropy"
    elif not catalog.loss(loss).scalar:
        pattern = f"{loss} needs the K outputs of softmax, but {act} gives one; for one output use bce"
    else:
        pattern = rf"{loss} needs a in .* but {act} gives a in"
    with pytest.raises(errors.DomainError, match=pattern):
        pairs.derive(loss, act)


@pytest.mark.parametrize(("loss", "act"), [("nope", "sigmoid"), ("bce", "sigmod")])
def test_unknown_names(loss, act):
    with pytest.raises(errors.UnknownName):
        pairs.derive(loss, act)


def test_aliases_give_the_same_derivation():
    assert pairs.derive("mse", "sigmoid").delta == pairs.derive("quadratic", "sigmoid").delta
    assert pairs.derive("mse", "sigmoid").loss == "quadratic"


# -- JSON ---------------------------------------------------------------------------------------


def test_as_dict_fields():
    data = pairs.derive("bce", "sigmoid").as_dict()
    assert data["delta"] == "a - y" and data["grad_w"] == "x_j*(a - y)" and data["grad_b"] == "a - y"
    assert data["cancels"] is True and data["saturates"] is False
    assert {"rule", "expr", "latex"} <= set(data["steps"][0])
    assert data["steps"][0]["latex"].startswith("C = ")
