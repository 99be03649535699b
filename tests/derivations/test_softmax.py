"""softmax over K classes: symbolic K and explicit K against independent references.

References: central finite differences of a plain NumPy softmax cross-entropy
(and of its weighted and label-smoothed variants), the explicit-K derivation
(proven against sympy.diff of the fully expanded cost), and mutated traces
that the engine must reject.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import sympy as sp
from click.testing import CliRunner

from derive import catalog, cli, errors
from derive.derivations import pairs, softmax
from derive.engine import checking, indexed, notation
from derive.engine.indexed import K, a, i, j, y, z

RNG = np.random.default_rng(3)


def softmax_np(zs: np.ndarray) -> np.ndarray:
    e = np.exp(zs - zs.max())
    return e / e.sum()


def ce_np(zs, ys, weights=None):
    weights = np.ones_like(ys) if weights is None else weights
    return -np.sum(weights * ys * np.log(softmax_np(zs)))


def quadratic_np(zs, ys):
    return 0.5 * np.sum((softmax_np(zs) - ys) ** 2)


def central_gradient(f, zs, h=1e-6):
    grad = np.empty_like(zs)
    for m in range(zs.size):
        step = np.zeros_like(zs)
        step[m] = h
        grad[m] = (f(zs + step) - f(zs - step)) / (2 * h)
    return grad


def numeric(expr, zs, ys, extra=None):
    """An expression in a[m], y[m] (and omega[m], epsilon) at numbers, for every class j."""
    classes = zs.size
    probs = softmax_np(zs)
    values = {
        **{a[m + 1]: probs[m] for m in range(classes)},
        **{y[m + 1]: ys[m] for m in range(classes)},
        **(extra or {}),
    }
    out = []
    for jj in range(1, classes + 1):
        entry = softmax._expand_sums(expr.xreplace({K: classes, j: jj}))
        out.append(float(entry.xreplace(values)))
    return np.array(out)


def random_case(classes):
    zs = RNG.normal(scale=2.0, size=classes)
    ys = RNG.dirichlet(np.ones(classes))
    return zs, ys


# -- symbolic K -----------------------------------------------------------------------------


def test_cross_entropy_softmax_symbolic():
    d = pairs.derive("cross_entropy", "softmax")
    assert d.delta == a[j] - y[j]
    assert d.jacobian == a[i] * (sp.KroneckerDelta(i, j) - a[j])
    assert d.classes == K
    assert d.cancels and not d.saturates
    rules = [s.rule for s in d.steps]
    for rule in (
        "quotient rule",
        "case i = j",
        "case i ≠ j",
        "Kronecker delta",
        "cancel",
        "Kronecker sum",
        "assumption",
    ):
        assert rule in rules
    assert not any(s.expr.has(sp.Integer(3)) for s in d.steps), "symbolic K is never expanded"
    assumption = [s for s in d.steps if s.rule == "assumption"]
    assert assumption[0].lhs == indexed.ksum(y[indexed.k]) and assumption[-1].conditions


def test_quadratic_softmax_keeps_the_jacobian():
    d = pairs.derive("quadratic", "softmax")
    assert not d.cancels and d.saturates
    assert d.delta.has(sp.Sum) and d.delta.has(a[j])


@pytest.mark.parametrize("loss", ["cross_entropy", "quadratic"])
@pytest.mark.parametrize("classes", [3, 4, 7])
def test_symbolic_delta_matches_finite_differences(loss, classes):
    d = pairs.derive(loss, "softmax")
    zs, ys = random_case(classes)
    f = (lambda v: ce_np(v, ys)) if loss == "cross_entropy" else (lambda v: quadratic_np(v, ys))
    np.testing.assert_allclose(numeric(d.delta, zs, ys), central_gradient(f, zs), rtol=1e-6, atol=1e-9)


def test_weighted_cross_entropy_matches_finite_differences():
    d = pairs.derive("cross_entropy", "softmax", class_weights=True)
    zs, ys = random_case(4)
    weights = RNG.uniform(0.5, 2.0, 4)
    extra = {softmax.omega[m + 1]: weights[m] for m in range(4)}
    grad = central_gradient(lambda v: ce_np(v, ys, weights), zs)
    np.testing.assert_allclose(numeric(d.delta, zs, ys, extra), grad, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("smoothing", [True, 0.1])
def test_label_smoothing_matches_finite_differences(smoothing):
    d = pairs.derive("cross_entropy", "softmax", label_smoothing=smoothing)
    zs, ys = random_case(5)
    eps = 0.1
    smoothed = (1 - eps) * ys + eps / 5
    grad = central_gradient(lambda v: ce_np(v, smoothed), zs)
    np.testing.assert_allclose(numeric(d.delta, zs, ys, {softmax.epsilon: eps}), grad, rtol=1e-6, atol=1e-9)
    assert d.cancels


# -- explicit K --------------------------------------------------------------------------------


@pytest.mark.parametrize("loss", ["cross_entropy", "quadratic"])
@pytest.mark.parametrize("classes", [2, 3, 5])
def test_explicit_k_is_proven_and_agrees_with_symbolic(loss, classes):
    explicit = pairs.derive(loss, "softmax", classes)
    symbolic = pairs.derive(loss, "softmax")
    assert explicit.classes == classes
    assert explicit.delta.shape == (classes, 1)
    instantiated = softmax._instantiate(symbolic.delta, classes)
    difference = (explicit.delta - instantiated).applyfunc(lambda e: sp.expand(e.doit()))
    assert difference == sp.zeros(classes, 1)
    assert explicit.jacobian.shape == (classes, classes)
    assert not any(s.expr.has(sp.Sum) and s.lhs != softmax.z[j] for s in explicit.steps if s.rule != "definition")


def test_explicit_k3_matches_finite_differences():
    d = pairs.derive("cross_entropy", "softmax", 3)
    zs, ys = random_case(3)
    probs = softmax_np(zs)
    values = {**{a[m + 1]: probs[m] for m in range(3)}, **{y[m + 1]: ys[m] for m in range(3)}}
    got = np.array([float(e.xreplace(values)) for e in d.delta])
    np.testing.assert_allclose(got, central_gradient(lambda v: ce_np(v, ys), zs), rtol=1e-6, atol=1e-9)


def test_explicit_k_is_fully_expanded():
    d = pairs.derive("cross_entropy", "softmax", 3)
    first = d.steps[0]
    assert str(first.expr) == "-log(a[1])*y[1] - log(a[2])*y[2] - log(a[3])*y[3]"
    quotient = next(s for s in d.steps if s.rule == "quotient rule")
    assert quotient.expr.shape == (3, 3)


# -- the engine rejects wrong steps -----------------------------------------------------------

P = notation.Partial


@pytest.mark.parametrize(
    ("rule", "wrong"),
    [
        ("Kronecker delta", a[i] * (sp.KroneckerDelta(i, j) + a[j])),
        ("case i ≠ j", sp.exp(z[i]) * sp.exp(z[j]) / indexed.ksum(sp.exp(z[indexed.k])) ** 2),
        ("Kronecker sum", a[j] * indexed.ksum(y[i], i) + y[j]),
        ("assumption", a[j] + y[j]),
        ("differentiate", y[i] / a[i]),
    ],
)
def test_engine_rejects_a_wrong_symbolic_step(rule, wrong):
    obj = softmax.objective(catalog.loss("cross_entropy"))
    trace, _ = softmax._trace(obj)
    refs = softmax._references(obj)
    where = max(n for n, s in enumerate(trace) if s.rule == rule)
    trace[where] = dataclasses.replace(trace[where], expr=wrong)
    with pytest.raises(errors.ProofError):
        checking.check(trace, refs.get, lambda e: softmax._evaluate(e, refs, obj), indexed.is_zero)


def test_assumption_is_needed():
    """Without Σ y = 1 the last step does not hold: the condition is really used."""
    obj = softmax.objective(catalog.loss("cross_entropy"))
    trace, _ = softmax._trace(obj)
    refs = softmax._references(obj)
    where = max(n for n, s in enumerate(trace) if s.rule == "assumption")
    trace[where] = dataclasses.replace(trace[where], conditions=())
    with pytest.raises(errors.ProofError):
        checking.check(trace, refs.get, lambda e: softmax._evaluate(e, refs, obj), indexed.is_zero)


def test_explicit_check_rejects_a_wrong_entry():
    obj = softmax.objective(catalog.loss("cross_entropy"))
    trace, _ = softmax._trace(obj)
    trace = [softmax._instantiate_step(s, 3) for s in trace if not softmax._index_conditions(s)]
    where = max(n for n, s in enumerate(trace) if s.rule == "Kronecker delta")
    bad = trace[where].expr.as_mutable()
    bad[0, 1] = -bad[0, 1]
    trace[where] = dataclasses.replace(trace[where], expr=sp.ImmutableMatrix(bad))
    with pytest.raises(errors.ProofError):
        softmax._check_explicit(trace, obj, 3)


# -- options and bad input --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"classes": 1}, "whole number from 2 to 20"),
        ({"classes": 21}, "whole number from 2 to 20"),
        ({"label_smoothing": 1.5}, "label smoothing must be a number in"),
        ({"label_smoothing": "abc"}, "label smoothing must be a number in"),
    ],
)
def test_bad_options(kwargs, message):
    with pytest.raises(errors.InvalidOption, match=message):
        pairs.derive("cross_entropy", "softmax", **kwargs)


def test_options_that_do_not_apply():
    with pytest.raises(errors.InvalidOption, match="applies to softmax"):
        pairs.derive("bce", "sigmoid", classes=3)
    with pytest.raises(errors.InvalidOption, match="options of cross_entropy"):
        pairs.derive("quadratic", "softmax", class_weights=True)


def test_alias_ce():
    assert pairs.derive("ce", "softmax").loss == "cross_entropy"


# -- CLI and JSON ------------------------------------------------------------------------------


def test_show_json_uses_indexed_symbols():
    result = CliRunner().invoke(cli.main, ["show", "cross_entropy", "softmax", "--json"])
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert data["delta"] == "a[j] - y[j]" and data["grad_b"] == "a[j] - y[j]"
    assert data["grad_w"] == "(a[j] - y[j])*x[l]"
    assert data["jacobian"] == str(a[i] * (sp.KroneckerDelta(i, j) - a[j]))
    assert data["cancels"] is True and data["saturates"] is False
    assert {"loss", "activation", "steps"} <= set(data)


def test_show_explicit_k_cli():
    result = CliRunner().invoke(cli.main, ["show", "ce", "softmax", "--classes", "3", "--json"])
    assert result.exit_code == 0
    assert json.loads(result.output)["classes"] == "3"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["show", "ce", "softmax", "--classes", "1"], "error: the number of classes must be a whole number"),
        (["show", "bce", "softmax"], "error: bce is a loss of one output"),
        (["show", "ce", "sigmoid"], "error: cross_entropy needs the K outputs of softmax"),
        (["show", "quadratic", "softmax", "--label-smoothing"], "error: label smoothing and class weights"),
    ],
)
def test_cli_errors(args, message):
    result = CliRunner().invoke(cli.main, args)
    assert result.exit_code == 2 and result.stderr.startswith(message)
