"""The JAX export inside user code: ``jax.grad`` of a function that calls ``loss`` takes derive's gradient.

``loss`` carries a ``jax.custom_vjp``: dC/dz is derive's closed form, y (and the parameters) get JAX's
derivative of the stable form.  References: ``jax.grad`` of the naive loss (the catalog's formula, by
``sympy.lambdify``) where both are finite, and a module whose closed form is replaced (the gradient must follow).
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from derive import catalog
from derive.derivations import pairs
from derive.engine.notation import a, y, z
from derive.export import codegen, gradcheck

jax = pytest.importorskip("jax")
jnp = pytest.importorskip("jax.numpy")

PAIRS = [("bce", "sigmoid"), ("quadratic", "tanh"), ("huber", "leaky_relu"), ("focal", "sigmoid"), ("hinge", "elu")]


def _module(loss: str, act: str) -> dict:
    namespace: dict = {"__name__": f"jax_{loss}_{act}"}
    exec(compile(codegen.module_source(pairs.derive(loss, act), "jax"), "module", "exec"), namespace)  # noqa: S102
    return namespace


def _naive(loss: str, act: str):
    """C(z, y) as printed from the catalog's formulas, parameters at their defaults: no stable form."""
    d = pairs.derive(loss, act)
    values = {p.symbol: sp.Float(gradcheck.parameter_values(d)[p.keyword]) for p in d.parameters}
    cost = d.loss_function.elementary(a, y).subs(a, d.activation_function.elementary(z))
    return sp.lambdify((z, y), cost.rewrite("elementary").xreplace(values), "jax")


def _inputs(loss: str, scale: float, seed: int = 0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=50) * scale, rng.choice(gradcheck.targets(catalog.loss(loss)), size=50)


@pytest.mark.parametrize(("loss", "act"), PAIRS)
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_jax_grad_of_user_code_equals_the_naive_gradient(loss, act, reduction):
    with jax.enable_x64(True):
        module, naive = _module(loss, act), _naive(loss, act)
        zs, ys = _inputs(loss, 3.0)
        zs, ys = jnp.asarray(zs), jnp.asarray(ys, dtype=jnp.float64)
        through_export = jax.grad(lambda zz: 2.0 * module["loss"](zz, ys, reduction))(zs)
        reduce = jnp.mean if reduction == "mean" else jnp.sum
        through_naive = jax.grad(lambda zz: 2.0 * reduce(naive(zz, ys)))(zs)
        finite = np.isfinite(np.asarray(through_naive))
        assert finite.sum() > 40
        np.testing.assert_allclose(np.asarray(through_export)[finite], np.asarray(through_naive)[finite], rtol=1e-9)
        np.testing.assert_allclose(np.asarray(through_export), 2.0 * np.asarray(module["grad"](zs, ys, reduction)))


@pytest.mark.parametrize(("loss", "act"), PAIRS[:2])
def test_the_gradient_is_derives_closed_form_not_autodiff(loss, act):
    """Replace the closed form in a fresh module: jax.grad of loss follows it, so custom_vjp is what runs."""
    with jax.enable_x64(True):
        module = _module(loss, act)
        closed_form = module["_gradients"]
        module["_gradients"] = lambda *args: 3.0 * closed_form(*args)
        zs, ys = (jnp.asarray(v, dtype=jnp.float64) for v in _inputs(loss, 2.0))
        tripled = jax.grad(lambda zz: module["loss"](zz, ys, "sum"))(zs)
        np.testing.assert_allclose(np.asarray(tripled), 3.0 * np.asarray(_module(loss, act)["grad"](zs, ys, "sum")))


def test_far_tails_keep_a_finite_gradient_where_autodiff_of_the_naive_loss_does_not():
    with jax.enable_x64(True):
        module, naive = _module("bce", "sigmoid"), _naive("bce", "sigmoid")
        zs, ys = jnp.asarray([-1e4, -800.0, 800.0, 1e4]), jnp.asarray([1.0, 1.0, 0.0, 0.0])
        exported = np.asarray(jax.grad(lambda zz: module["loss"](zz, ys, "sum"))(zs))
        assert np.all(np.isfinite(exported)) and np.allclose(exported, [-1.0, -1.0, 1.0, 1.0])
        assert not np.all(np.isfinite(np.asarray(jax.grad(lambda zz: jnp.sum(naive(zz, ys)))(zs))))


def test_the_targets_and_parameters_get_jaxs_derivative_of_the_stable_form():
    with jax.enable_x64(True):
        module, naive = _module("quadratic", "tanh"), _naive("quadratic", "tanh")
        zs, ys = (jnp.asarray(v, dtype=jnp.float64) for v in _inputs("quadratic", 1.0))
        by_y = jax.grad(lambda yy: module["loss"](zs, yy, "sum"))(ys)
        np.testing.assert_allclose(np.asarray(by_y), np.asarray(jax.grad(lambda yy: jnp.sum(naive(zs, yy)))(ys)))
        huber = _module("huber", "leaky_relu")
        zh, yh = (jnp.asarray(v, dtype=jnp.float64) for v in _inputs("huber", 3.0))
        by_delta = jax.grad(lambda k: huber["loss"](zh, yh, "sum", delta=k))(1.5)
        step = 1e-6
        numeric = (huber["loss"](zh, yh, "sum", delta=1.5 + step) - huber["loss"](zh, yh, "sum", delta=1.5 - step)) / (
            2 * step
        )
        np.testing.assert_allclose(float(by_delta), float(numeric), rtol=1e-6)


def test_loss_and_grad_is_one_compiled_function_and_checks_run_outside_tracing():
    with jax.enable_x64(True):
        module = _module("bce", "sigmoid")
        assert hasattr(module["_loss_and_grad"], "lower")  # jax.jit
        value, gradient = module["loss_and_grad"](np.array([0.5, -2.0]), np.array([1.0, 0.0]))
        assert np.isfinite(float(value)) and gradient.shape == (2,)
        with pytest.raises(ValueError, match="y must lie in"):
            module["loss"](np.array([0.5]), np.array([2.0]))
        with pytest.raises(ValueError, match="NaN"):
            module["loss"](np.array([np.nan]), np.array([1.0]))
        traced = jax.jit(lambda zz, yy: module["loss"](zz, yy))  # inside user's jit: no host sync, no check
        assert np.isfinite(float(traced(jnp.array([0.5]), jnp.array([1.0]))))


def _softmax_module(loss: str) -> dict:
    return _module(loss, "softmax")


@pytest.mark.parametrize("labels", [True, False], ids=["labels", "probabilities"])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_softmax_cross_entropy_under_jax_grad_equals_the_naive_gradient(labels, reduction):
    with jax.enable_x64(True):
        module = _softmax_module("cross_entropy")
        rng = np.random.default_rng(1)
        zs = jnp.asarray(rng.normal(size=(20, 5)) * 3)
        probabilities = jax.nn.softmax(jnp.asarray(rng.normal(size=(20, 5))))
        ys = jnp.asarray(rng.integers(0, 5, size=20)) if labels else probabilities
        targets = jax.nn.one_hot(ys, 5) if labels else ys
        reduce = jnp.mean if reduction == "mean" else jnp.sum
        naive = jax.grad(lambda zz: reduce(-jnp.sum(targets * jnp.log(jnp.exp(zz) / jnp.exp(zz).sum(1)[:, None]), 1)))
        exported = jax.grad(lambda zz: module["loss"](zz, ys, reduction))
        np.testing.assert_allclose(np.asarray(exported(zs)), np.asarray(naive(zs)), rtol=1e-9, atol=1e-15)


@pytest.mark.parametrize("loss", ["cross_entropy", "kl_div", "quadratic"])
def test_softmax_gradient_is_derives_closed_form(loss):
    with jax.enable_x64(True):
        module = _softmax_module(loss)
        closed_form = module["_grad"]
        module["_grad"] = lambda z, y, reduction: 3.0 * closed_form(z, y, reduction)
        zs, ys = jnp.asarray(np.random.default_rng(2).normal(size=(6, 4))), jnp.asarray([0, 1, 3, 2, 1, 0])
        tripled = jax.grad(lambda zz: module["loss"](zz, ys, "sum"))(zs)
        np.testing.assert_allclose(np.asarray(tripled), 3.0 * np.asarray(closed_form(zs, ys, "sum")))
