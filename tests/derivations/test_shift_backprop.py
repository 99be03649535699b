"""Shift invariance and backpropagation: proven traces, mutated traces rejected, numbers checked."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import sympy as sp
from click.testing import CliRunner

from derive import cli, errors
from derive.derivations import backprop, shift
from derive.engine import checking, indexed
from derive.engine.indexed import K, a, i, k, z

RNG = np.random.default_rng(11)


# -- shift invariance -----------------------------------------------------------------------


def test_shift_invariance_trace():
    trace = shift.shift_invariance()
    rules = [s.rule for s in trace.steps]
    assert rules == ["definition", "exponent rule", "linearity", "cancel", "definition", "max shift", "logarithm"]
    assert trace.steps[3].cancelled == sp.exp(shift.c)
    assert trace.results["log_softmax"] == z[i] - shift.z_max - sp.log(indexed.ksum(sp.exp(z[k] - shift.z_max)))


@pytest.mark.parametrize("where", [1, 5, 6])
def test_shift_invariance_rejects_a_wrong_step(where):
    trace = list(shift.shift_invariance().steps)
    trace[where] = dataclasses.replace(trace[where], expr=trace[where].expr * sp.exp(shift.c))
    softmax = sp.exp(z[i]) / indexed.ksum(sp.exp(z[k]))
    refs = {
        shift.shifted: sp.exp(z[i] + shift.c) / indexed.ksum(sp.exp(z[k] + shift.c)),
        a[i]: softmax,
        sp.log(a[i]): sp.log(softmax),
    }
    with pytest.raises(errors.ProofError):
        checking.check(trace, refs.get, lambda e: e.xreplace({a[i]: softmax}), indexed.is_zero)


def test_max_shift_is_numerically_stable():
    """The derived log-softmax, evaluated in float64, stays finite where the naive form overflows."""
    zs = np.array([1000.0, 999.0, -1000.0])
    form = shift.shift_invariance().results["log_softmax"]
    values = []
    for m in range(1, 4):
        entry = form.xreplace({i: m, K: 3}).doit()
        f = sp.lambdify([z[1], z[2], z[3], shift.z_max], entry, "numpy")
        values.append(f(*zs, zs.max()))
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        naive = np.log(np.exp(zs) / np.exp(zs).sum())
    assert np.all(np.isfinite(values)) and not np.all(np.isfinite(naive))
    np.testing.assert_allclose(
        values, [-np.log1p(np.exp(-1.0)), -1 - np.log1p(np.exp(-1.0)), -2000 - np.log1p(np.exp(-1.0))]
    )


# -- the four equations ------------------------------------------------------------------------


def test_four_equations():
    trace = backprop.four_equations()
    assert set(trace.results) == {"BP1", "BP2", "BP3", "BP4"}
    bp2 = trace.results["BP2"].rhs
    assert bp2 == sp.Sum(
        backprop.w_next[k, indexed.j] * backprop.delta_next[k], (k, 1, backprop.n_next)
    ) * backprop.sigma_prime(backprop.z_l[indexed.j])
    assert any("odot" in note for note in trace.notes)


@pytest.mark.parametrize("rule", ["BP1", "BP2", "BP3", "BP4"])
def test_four_equations_reject_a_wrong_result(rule):
    trace = list(backprop.four_equations().steps)
    where = next(n for n, s in enumerate(trace) if s.rule == rule)
    trace[where] = dataclasses.replace(trace[where], expr=trace[where].expr * 2)
    with pytest.raises(errors.ProofError, match=rule):
        backprop._check_four(trace)


# -- the worked network ---------------------------------------------------------------------------


def _network_numpy(W1, b1, W2, b2, x, y):
    z1 = W1 @ x + b1
    a1 = 1 / (1 + np.exp(-z1))
    z2 = W2 @ a1 + b2
    e = np.exp(z2 - z2.max())
    a2 = e / e.sum()
    return -np.sum(y * np.log(a2)), a1, a2


def _numeric_gradient(f, array, h=1e-6):
    grad = np.zeros_like(array)
    for index in np.ndindex(array.shape):
        step = np.zeros_like(array)
        step[index] = h
        grad[index] = (f(array + step) - f(array - step)) / (2 * h)
    return grad


def test_worked_network_matches_finite_differences():
    """The derived gradients at 3 inputs, 4 hidden units, 3 classes (larger than the proof's sizes)."""
    n0, n1, classes = 3, 4, 3
    W1, b1 = RNG.normal(size=(n1, n0)), RNG.normal(size=n1)
    W2, b2 = RNG.normal(size=(classes, n1)), RNG.normal(size=classes)
    x, y = RNG.normal(size=n0), RNG.dirichlet(np.ones(classes))
    _, a1, a2 = _network_numpy(W1, b1, W2, b2, x, y)
    results = backprop.worked_network().results
    bp = backprop
    sizes = {bp.n_in: n0, bp.n_hidden: n1, K: classes}
    values = {
        **{bp.a1[m + 1]: a1[m] for m in range(n1)},
        **{bp.a2[m + 1]: a2[m] for m in range(classes)},
        **{bp.x[m + 1]: x[m] for m in range(n0)},
        **{bp.y[m + 1]: y[m] for m in range(classes)},
        **{bp.W2[r + 1, c + 1]: W2[r, c] for r in range(classes) for c in range(n1)},
    }

    def derived(name, shape):
        out = np.zeros(shape)
        for index in np.ndindex(shape):
            expr = results[name].rhs.xreplace(sizes).subs({indexed.j: index[0] + 1, indexed.k: (index + (0,))[1] + 1})
            out[index] = float(expr.doit().xreplace(values))
        return out

    cost = lambda **kw: _network_numpy(**{**dict(W1=W1, b1=b1, W2=W2, b2=b2, x=x, y=y), **kw})[0]  # noqa: E731
    np.testing.assert_allclose(
        derived("dC/dW2", W2.shape), _numeric_gradient(lambda v: cost(W2=v), W2), rtol=1e-6, atol=1e-8
    )
    np.testing.assert_allclose(
        derived("dC/db2", b2.shape), _numeric_gradient(lambda v: cost(b2=v), b2), rtol=1e-6, atol=1e-8
    )
    np.testing.assert_allclose(
        derived("dC/dW1", W1.shape), _numeric_gradient(lambda v: cost(W1=v), W1), rtol=1e-6, atol=1e-8
    )
    np.testing.assert_allclose(
        derived("dC/db1", b1.shape), _numeric_gradient(lambda v: cost(b1=v), b1), rtol=1e-6, atol=1e-8
    )


def test_worked_network_rejects_a_wrong_step():
    trace = list(backprop.worked_network().steps)
    where = next(n for n, s in enumerate(trace) if s.rule == "BP4" and s.lhs.den.base == backprop.W1)
    trace[where] = dataclasses.replace(trace[where], expr=trace[where].expr.subs(backprop.x[k], backprop.x[indexed.j]))
    with pytest.raises(errors.ProofError, match="worked network"):
        backprop._check_worked(trace)


# -- CLI ----------------------------------------------------------------------------------------


def test_cli_backprop_and_shift():
    runner = CliRunner()
    result = runner.invoke(cli.main, ["backprop", "--json"])
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert [d["title"] for d in data][0] == "the four equations of backpropagation"
    assert "dC/dW1" in data[1]["results"]
    result = runner.invoke(cli.main, ["shift"])
    assert result.exit_code == 0 and "log_softmax:" in result.output
