"""Exported NumPy functions: stability sweep, mpmath reference, finite differences, float32, standalone module;
the JAX and PyTorch modules against them.

Values only; speed and memory are measured in benchmarks/bench_numeric.py.
"""

from __future__ import annotations

import ast
import contextlib
import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from derive import catalog, cli, errors
from derive.derivations import pairs
from derive.export import codegen, composed, gradcheck, isolated, stable

SCALAR_PAIRS = [p for p in catalog.pairs(valid=True) if p[1] != "softmax"]
ZS = np.concatenate([-np.logspace(-4, 4, 61)[::-1], [0.0], np.logspace(-4, 4, 61)])
#: Where the true value itself leaves the float range (e^z, e^{2z}) at some target: inf beyond is the right answer.
E_Z = {np.float64: 709.0, np.float32: 88.0}
E_2Z = {np.float64: 354.0, np.float32: 44.0}
OVERFLOWS = {
    ("quadratic", "exp"): E_2Z,
    ("poisson", "exp"): E_Z,
    ("huber", "exp"): E_Z,
    ("smooth_l1", "exp"): E_Z,
    ("log_cosh", "exp"): E_Z,
    ("hinge", "exp"): E_Z,  # y = -1: C = 1 + e^z
    ("squared_hinge", "exp"): E_2Z,
    ("gaussian_nll", "exp"): E_2Z,
}


@pytest.mark.parametrize(("loss", "act"), SCALAR_PAIRS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_no_inf_or_nan_on_the_sweep(loss, act, dtype):
    f_loss, f_grad = codegen.to_numpy(pairs.derive(loss, act))
    for target in gradcheck.targets(catalog.loss(loss)):
        z = ZS.astype(dtype)
        y = np.full_like(z, target)
        with np.errstate(over="ignore"):
            values = (f_loss(z, y, "none"), f_grad(z, y, "none"))
        for v in values:
            assert v.dtype == dtype
            assert not np.isnan(v).any()
            finite = np.isfinite(v)
            if (loss, act) in OVERFLOWS:
                assert finite[z < OVERFLOWS[loss, act][dtype]].all()
            else:
                assert finite.all(), (loss, act, z[~finite])


@pytest.mark.parametrize(("loss", "act"), SCALAR_PAIRS)
def test_numpy_module_leaves_its_inputs_alone_and_returns_arrays_of_its_own(loss, act):
    """The module computes in reused buffers (out=): never in the caller's z or y, and no result is another's."""
    module = _module(pairs.derive(loss, act))
    rng = np.random.default_rng(3)
    z = rng.normal(size=50) * 5
    y = rng.choice(gradcheck.targets(catalog.loss(loss)), size=50).astype(np.float64)
    z0, y0 = z.copy(), y.copy()
    for reduction in ("none", "mean"):
        value, gradient = module["loss_and_grad"](z, y, reduction)
        np.testing.assert_array_equal(z, z0)
        np.testing.assert_array_equal(y, y0)
        assert not np.shares_memory(gradient, z) and not np.shares_memory(gradient, y)
        assert not np.shares_memory(value, z) and not np.shares_memory(value, y)
        assert not np.shares_memory(value, gradient)
        np.testing.assert_allclose(value, module["loss"](z, y, reduction), rtol=1e-12, atol=0)
        np.testing.assert_allclose(gradient, module["grad"](z, y, reduction), rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize(("loss", "act"), catalog.pairs(valid=True))
def test_gradient_check_mpmath_and_finite_differences(loss, act):
    report = gradcheck.check_gradient(loss, act)
    assert report["max_rel_error_mpmath"] <= 1e-12
    assert report["max_error_finite_differences"] <= 1e-6


def test_quadratic_softmax_matches_the_direct_formula():
    """The regrouped label form equals a_j (a_j − y_j) − a_j Σ_i a_i (a_i − y_i) on ordinary logits."""
    rng = np.random.default_rng(9)
    z = rng.normal(size=(50, 7)) * 2
    labels = rng.integers(0, 7, size=50)
    f_loss, f_grad = codegen.to_numpy(pairs.derive("quadratic", "softmax"))
    a = np.exp(z - z.max(axis=1, keepdims=True))
    a /= a.sum(axis=1, keepdims=True)
    r = a - np.eye(7)[labels]
    direct = a * r - a * (a * r).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(f_grad(z, labels, "none"), direct, rtol=1e-10, atol=1e-15)
    np.testing.assert_allclose(f_grad(z, np.eye(7)[labels], "none"), direct, rtol=1e-10, atol=1e-15)
    np.testing.assert_allclose(f_loss(z, labels, "none"), 0.5 * (r * r).sum(axis=1), rtol=1e-12)


def test_float32_matches_float64():
    f_loss, f_grad = codegen.to_numpy(pairs.derive("bce", "sigmoid"))
    z = np.linspace(-50, 50, 1001)
    y = (z > 3).astype(float)
    g64, g32 = f_grad(z, y, "none"), f_grad(z.astype(np.float32), y.astype(np.float32), "none")
    assert g32.dtype == np.float32
    np.testing.assert_allclose(g32, g64, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_reductions(reduction):
    f_loss, f_grad = codegen.to_numpy(pairs.derive("bce", "sigmoid"))
    z, y = np.array([-2.0, 0.5, 3.0]), np.array([0.0, 1.0, 1.0])
    per_sample = f_loss(z, y, "none")
    expected = {"mean": per_sample.mean(), "sum": per_sample.sum(), "none": per_sample}[reduction]
    np.testing.assert_allclose(f_loss(z, y, reduction), expected)
    scale = {"mean": 1 / 3, "sum": 1.0, "none": 1.0}[reduction]
    np.testing.assert_allclose(f_grad(z, y, reduction), f_grad(z, y, "none") * scale)


def test_softmax_cross_entropy_matches_the_reference_loop():
    """grad = softmax(z); grad[range(N), labels] -= 1; grad /= N for mean cross-entropy."""
    rng = np.random.default_rng(5)
    z = rng.normal(size=(64, 10)) * 3
    labels = rng.integers(0, 10, size=64)
    f_loss, f_grad = codegen.to_numpy(pairs.derive("cross_entropy", "softmax"))
    e = np.exp(z - z.max(axis=1, keepdims=True))
    reference = e / e.sum(axis=1, keepdims=True)
    loss_ref = -np.log(reference[np.arange(64), labels]).mean()
    reference[np.arange(64), labels] -= 1
    reference /= 64
    np.testing.assert_allclose(f_grad(z, labels), reference, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(f_loss(z, labels), loss_ref, rtol=1e-12)
    onehot = np.eye(10)[labels]
    np.testing.assert_allclose(f_grad(z, onehot), reference, rtol=1e-9, atol=1e-15)


def test_softmax_is_stable_for_huge_logits():
    f_loss, f_grad = codegen.to_numpy(pairs.derive("cross_entropy", "softmax"))
    z = np.array([[1e4, -1e4, 0.0], [800.0, 799.0, -800.0]])
    labels = np.array([1, 0])
    loss, grad = f_loss(z, labels, "none"), f_grad(z, labels, "none")
    assert np.isfinite(loss).all() and np.isfinite(grad).all()
    np.testing.assert_allclose(loss, [2e4, np.log1p(np.exp(-1.0))], rtol=1e-12)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((np.zeros((2, 3)), np.array([0, 3])), "labels y must lie in 0..2"),
        ((np.zeros((2, 3)), np.array([0, 1, 2])), "labels y must have shape (2,)"),
        ((np.zeros(3), np.array([0, 1, 2])), "z must have shape (N, K)"),
        ((np.array([[np.nan, 0.0]]), np.array([0])), "z contains NaN"),
        ((np.zeros((2, 3)), np.zeros((2, 2))), "y must be integer labels"),
    ],
)
def test_softmax_bad_input(args, message):
    f_loss, _ = codegen.to_numpy(pairs.derive("cross_entropy", "softmax"))
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        f_loss(*args)


@pytest.mark.parametrize(
    ("z", "y", "reduction", "message"),
    [
        (np.zeros(3), np.zeros(2), "mean", "y must have the shape of z"),
        (np.zeros((3, 1)), np.zeros((3, 1)), "mean", "z must have shape (N,)"),
        (np.array([0.0, np.nan]), np.zeros(2), "mean", "z contains NaN"),
        (np.zeros(2), np.array([0.0, 2.0]), "mean", "y must lie in [0, 1]"),
        (np.zeros(2), np.zeros(2), "average", "reduction must be one of"),
    ],
)
def test_scalar_bad_input(z, y, reduction, message):
    f_loss, _ = codegen.to_numpy(pairs.derive("bce", "sigmoid"))
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        f_loss(z, y, reduction)


@pytest.mark.parametrize(("loss", "act"), [("bce", "sigmoid"), ("cross_entropy", "softmax"), ("quadratic", "tanh")])
def test_generated_module_runs_without_derive_or_sympy(loss, act, tmp_path):
    path = tmp_path / "exported.py"
    result = CliRunner().invoke(cli.main, ["export", loss, act, "-o", str(path)])
    assert result.exit_code == 0
    subprocess.run([sys.executable, "-m", "py_compile", str(path)], check=True)
    program = textwrap.dedent(f"""
        import sys, json, runpy
        sys.modules["derive"] = None   # importing derive or sympy now fails
        sys.modules["sympy"] = None
        import numpy as np
        module = runpy.run_path({str(path)!r})
        if {act!r} == "softmax":
            z, y = np.array([[1.0, 2.0, 3.0]]), np.array([2])
        else:
            z, y = np.array([-1.0, 0.5]), np.array([0.0, 1.0])
        print(json.dumps([float(module["loss"](z, y)), np.asarray(module["grad"](z, y)).tolist()]))
    """)
    out = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, cwd=tmp_path, check=True)
    value, gradient = json.loads(out.stdout)
    f_loss, f_grad = codegen.to_numpy(pairs.derive(loss, act))
    z, y = (
        (np.array([[1.0, 2.0, 3.0]]), np.array([2]))
        if act == "softmax"
        else (np.array([-1.0, 0.5]), np.array([0.0, 1.0]))
    )
    assert value == pytest.approx(float(f_loss(z, y)))
    np.testing.assert_allclose(gradient, f_grad(z, y))


def test_generated_module_passes_a_linter():
    """pyflakes (a test extra) finds nothing: no undefined or unused names."""
    import io

    from pyflakes.api import check
    from pyflakes.reporter import Reporter

    for loss, act in catalog.pairs(valid=True):
        out, err = io.StringIO(), io.StringIO()
        assert check(codegen.module_source(pairs.derive(loss, act)), f"{loss}_{act}.py", Reporter(out, err)) == 0, (
            out.getvalue()
        )


def test_every_stable_form_is_proven():
    for loss, act in SCALAR_PAIRS:
        rules = [s.rule for s in composed.stable_forms_of(pairs.derive(loss, act)).trace.steps]
        assert rules[:4] == ["naive form", "stable form", "naive form", "stable form"]
        if (loss, act) in stable.SCALAR:
            assert len(rules) == 4, (loss, act)
        else:  # composed: each piece is proven and recorded
            assert "proven piece" in rules[4:] and set(rules[4:]) <= {"proven piece", "decomposition"}, (loss, act)
    for loss in ("cross_entropy", "quadratic"):
        assert stable.softmax_forms(loss).steps[2].rule == "max shift"


def test_a_wrong_stable_form_is_rejected():
    from derive.engine.notation import z

    assert not stable.equal_by_sign(stable.SCALAR[("bce", "sigmoid")][0], stable.SOFTPLUS)  # missing − y z
    assert not stable.equal_by_sign(1 / (1 + stable.sp.exp(-z)), stable.SIGMOID_C)


def test_cli_export_check_and_errors(tmp_path):
    result = CliRunner().invoke(cli.main, ["export", "bce", "sigmoid", "--check"])
    assert result.exit_code == 0 and "gradient check passed" in result.stderr
    assert result.stdout.startswith('"""bce of sigmoid')
    result = CliRunner().invoke(cli.main, ["export", "bce", "sigmoid", "--backend", "tensorflow"])
    assert result.exit_code == 2
    assert "Invalid value for '--backend': 'tensorflow' is not one of 'numpy', 'jax', 'torch'." in result.stderr
    assert "Traceback" not in result.output


# -- the PyTorch backend (torch is a test extra; CI installs it) -----------------------------------


def _torch_module(loss: str, act: str) -> dict:
    return _module(pairs.derive(loss, act), "torch")


def _module(d, backend: str = "numpy") -> dict:
    """The namespace of the module ``derive export`` writes for ``d``."""
    namespace: dict = {"__name__": f"{backend}_{d.loss}_{d.activation}"}
    exec(compile(codegen.module_source(d, backend), "module", "exec"), namespace)  # noqa: S102
    return namespace


@pytest.mark.parametrize(("loss", "act"), SCALAR_PAIRS)
def test_torch_backend_matches_numpy_and_its_backward_is_the_closed_form(loss, act):
    torch = pytest.importorskip("torch")
    module = _torch_module(loss, act)
    n_loss, n_grad = codegen.functions(pairs.derive(loss, act))
    rng = np.random.default_rng(5)
    z = rng.normal(size=40) * 5
    y = rng.choice(gradcheck.targets(catalog.loss(loss)), size=40)
    for reduction in ("mean", "sum", "none"):
        value, gradient = module["loss_and_grad"](torch.from_numpy(z), torch.from_numpy(y), reduction)
        np.testing.assert_allclose(value.numpy(), n_loss(z, y, reduction), rtol=1e-12)
        np.testing.assert_allclose(gradient.numpy(), n_grad(z, y, reduction), rtol=1e-12, atol=1e-300)
        leaf = torch.from_numpy(z).requires_grad_()
        module["loss"](leaf, torch.from_numpy(y), reduction).sum().backward()
        np.testing.assert_allclose(leaf.grad.numpy(), n_grad(z, y, reduction), rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize(("loss", "act"), SCALAR_PAIRS)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_torch_no_inf_or_nan_on_the_sweep(loss, act, dtype):
    """|z| up to 1e4 in float32 and float64: the loss, grad and the backward of loss stay finite (as NumPy's)."""
    torch = pytest.importorskip("torch")
    module = _torch_module(loss, act)
    for target in gradcheck.targets(catalog.loss(loss)):
        z = torch.from_numpy(ZS).to(getattr(torch, dtype)).requires_grad_()
        y = torch.full_like(z, target).detach()
        value = module["loss"](z, y, "none")
        value.sum().backward()
        for v in (value.detach(), module["grad"](z, y, "none"), z.grad):
            assert v.dtype == z.dtype and not torch.isnan(v).any()
            finite = torch.isfinite(v).numpy()
            if (loss, act) in OVERFLOWS:
                below = ZS < OVERFLOWS[loss, act][getattr(np, dtype)]  # noqa: SIM300
                assert finite[below].all()
            else:
                assert finite.all(), (loss, act, ZS[~finite])


TORCH_GRADCHECK = [
    ("bce", "sigmoid"),
    ("quadratic", "tanh"),
    ("huber", "leaky_relu"),
    ("focal", "sigmoid"),
    ("hinge", "gelu"),
    ("gaussian_nll", "elu"),
    ("log_cosh", "softsign"),
    ("poisson", "softplus"),
]


@pytest.mark.parametrize(("loss", "act"), TORCH_GRADCHECK)
def test_torch_gradcheck_in_float64(loss, act):
    torch = pytest.importorskip("torch")
    module = _torch_module(loss, act)
    rng = np.random.default_rng(11)
    z = rng.uniform(0.2, 2.5, size=12) * rng.choice([-1.0, 1.0], size=12)  # away from the kinks at 0 (and ±3)
    y = torch.from_numpy(rng.choice(gradcheck.targets(catalog.loss(loss)), size=12))
    for reduction in ("mean", "sum", "none"):
        leaf = torch.from_numpy(z).requires_grad_()
        assert torch.autograd.gradcheck(lambda zz, r=reduction: module["loss"](zz, y, r), (leaf,))


@pytest.mark.parametrize(("loss", "act"), TORCH_GRADCHECK)
def test_torch_module_leaves_its_inputs_alone_and_its_backward_is_repeatable(loss, act):
    """Buffers written with out= are the module's own; the forward saves dC/dz, the backward never changes it."""
    torch = pytest.importorskip("torch")
    module = _torch_module(loss, act)
    rng = np.random.default_rng(5)
    z = torch.from_numpy(rng.normal(size=40) * 4)
    y = torch.from_numpy(rng.choice(gradcheck.targets(catalog.loss(loss)), size=40).astype(np.float64))
    z0, y0 = z.clone(), y.clone()
    for reduction in ("none", "mean"):
        value, gradient = module["loss_and_grad"](z, y, reduction)
        assert torch.equal(z, z0) and torch.equal(y, y0)
        assert not np.shares_memory(value.numpy(), gradient.numpy())
        plain = module["loss"](z, y, reduction)  # z needs no gradient: the loss alone
        leaf = z.clone().requires_grad_()
        tracked = module["loss"](leaf, y, reduction)  # the loss with dC/dz, saved for the backward
        torch.testing.assert_close(tracked.detach(), plain, rtol=1e-12, atol=1e-300)
        torch.testing.assert_close(value, plain, rtol=1e-12, atol=1e-300)
        upstream = torch.ones_like(tracked)
        first = torch.autograd.grad(tracked, leaf, upstream, retain_graph=True)[0]
        second = torch.autograd.grad(tracked, leaf, upstream)[0]
        assert torch.equal(first, second)
        torch.testing.assert_close(first, gradient, rtol=1e-12, atol=1e-300)
        assert torch.equal(z, z0) and torch.equal(y, y0)


@pytest.mark.parametrize(("loss", "act"), [("bce", "sigmoid"), ("cross_entropy", "softmax")])
def test_torch_second_derivatives_are_those_of_the_closed_form(loss, act):
    """The forward saves dC/dz without a graph; with create_graph the backward computes it again with one:
    a gradient penalty gets the true second derivative, never a silent 0 (checked against torch's own losses)."""
    torch = pytest.importorskip("torch")
    module = _torch_module(loss, act)
    functional = torch.nn.functional
    if act == "softmax":
        z0, y = torch.tensor([[0.3, -1.2, 2.0], [5.0, 1.0, -3.0]], dtype=torch.float64), torch.tensor([1, 0])
        theirs = functional.cross_entropy
    else:
        z0, y = torch.tensor([0.3, -1.2, 4.0], dtype=torch.float64), torch.tensor([1.0, 0.0, 1.0], dtype=torch.float64)
        theirs = functional.binary_cross_entropy_with_logits
    penalties = []
    for f in (module["loss"], theirs):
        z = z0.clone().requires_grad_()
        (gradient,) = torch.autograd.grad(f(z, y, reduction="sum"), z, create_graph=True)
        penalties.append(torch.autograd.grad((gradient**2).sum(), z)[0])
    assert penalties[0].abs().max() > 0.01
    torch.testing.assert_close(penalties[0], penalties[1], rtol=1e-12, atol=1e-15)


def test_torch_module_errors_and_dtypes():
    torch = pytest.importorskip("torch")
    module = _torch_module("huber", "leaky_relu")
    with pytest.raises(ValueError, match="requires a gradient"):
        module["loss"](torch.zeros(3), torch.zeros(3, requires_grad=True))
    with pytest.raises(ValueError, match="NaN"):
        module["loss"](torch.tensor([float("nan")]), torch.zeros(1))
    with pytest.raises(ValueError, match="delta must be > 0"):
        module["loss"](torch.zeros(2), torch.zeros(2), delta=-1.0)
    with pytest.raises(ValueError, match="complex"):
        module["loss"](torch.zeros(2, dtype=torch.complex64), torch.zeros(2))
    assert module["grad"](torch.zeros(2, dtype=torch.float16), torch.zeros(2)).dtype == torch.float32
    assert module["grad"]([0, 1], [0, 1]).dtype == torch.get_default_dtype()
    with pytest.raises(errors.InvalidOption, match="label smoothing or class weights"):
        codegen.module_source(pairs.derive("cross_entropy", "softmax", label_smoothing="1/10"), "torch")


SOFTMAX_LOSSES = ("cross_entropy", "kl_div", "quadratic")


def _softmax_targets(rng, n: int, k: int) -> list[np.ndarray]:
    """Integer labels, probabilities, and one-hot probabilities (exact 0s: 0 ln 0 of kl_div)."""
    labels = rng.integers(0, k, size=n)
    return [labels, rng.dirichlet(np.ones(k), size=n), np.eye(k)[labels]]


@pytest.mark.parametrize("loss", SOFTMAX_LOSSES)
def test_torch_softmax_matches_numpy_and_its_backward_is_the_closed_form(loss):
    torch = pytest.importorskip("torch")
    module = _torch_module(loss, "softmax")
    reference = _module(pairs.derive(loss, "softmax"))
    rng = np.random.default_rng(7)
    z = rng.normal(size=(9, 5)) * 4
    for y in _softmax_targets(rng, 9, 5):
        for reduction in ("mean", "sum", "none"):
            want_value, want_grad = reference["loss_and_grad"](z, y, reduction)
            value, gradient = module["loss_and_grad"](torch.from_numpy(z), torch.from_numpy(y), reduction)
            np.testing.assert_allclose(value.numpy(), want_value, rtol=1e-12, atol=1e-15)
            np.testing.assert_allclose(gradient.numpy(), want_grad, rtol=1e-12, atol=1e-15)
            leaf = torch.from_numpy(z).requires_grad_()
            module["loss"](leaf, torch.from_numpy(y), reduction).sum().backward()
            np.testing.assert_allclose(leaf.grad.numpy(), want_grad, rtol=1e-12, atol=1e-15)
            weights = torch.from_numpy(rng.normal(size=9))  # an upstream gradient per row
            if reduction == "none":
                leaf = torch.from_numpy(z).requires_grad_()
                (module["loss"](leaf, torch.from_numpy(y), "none") * weights).sum().backward()
                np.testing.assert_allclose(leaf.grad.numpy(), want_grad * weights.numpy()[:, None], rtol=1e-12)


@pytest.mark.parametrize("loss", SOFTMAX_LOSSES)
def test_torch_softmax_gradcheck_and_far_tails(loss):
    torch = pytest.importorskip("torch")
    module = _torch_module(loss, "softmax")
    rng = np.random.default_rng(8)
    z = rng.normal(size=(4, 3))
    for y in _softmax_targets(rng, 4, 3)[:2]:
        for reduction in ("mean", "none"):
            leaf = torch.from_numpy(z).requires_grad_()
            target = torch.from_numpy(y)
            assert torch.autograd.gradcheck(lambda zz, r=reduction, t=target: module["loss"](zz, t, r), (leaf,))
    for dtype in (torch.float32, torch.float64):
        far = torch.from_numpy(rng.normal(size=(64, 6)) * 1e4).to(dtype)
        for y in _softmax_targets(rng, 64, 6):
            value, gradient = module["loss_and_grad"](far, torch.from_numpy(y), "none")
            assert value.dtype == dtype and bool(torch.isfinite(value).all()) and bool(torch.isfinite(gradient).all())


def test_torch_softmax_refuses_what_it_cannot_compute():
    torch = pytest.importorskip("torch")
    module = _torch_module("cross_entropy", "softmax")
    z = torch.zeros(3, 4)
    for y, message in [
        (torch.tensor([0, 1, 4]), "labels y must lie in 0..3"),
        (torch.tensor([0.0, 1.0, 2.0]), "labels y must be integers"),
        (torch.zeros(3, 5), "y must be integer labels of shape"),
        (torch.full((3, 4), 1.5), r"probabilities y must lie in \[0, 1\]"),
        (torch.zeros(3, 4, requires_grad=True), "requires a gradient"),
    ]:
        with pytest.raises(ValueError, match=message):
            module["loss"](z, y)
    with pytest.raises(ValueError, match="shape \\(N, K\\)"):
        module["loss"](torch.zeros(3), torch.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match="empty batch"):
        module["grad"](torch.zeros(0, 4), torch.zeros(0, dtype=torch.long))
    assert module["grad"](z.to(torch.float16), torch.tensor([0, 1, 2])).dtype == torch.float32


def test_torch_module_imports_only_torch_and_the_cli_checks_it(tmp_path):
    path = tmp_path / "bce_torch.py"
    arguments = ["export", "bce", "sigmoid", "--backend", "torch", "-o", str(path), "--check"]
    result = CliRunner().invoke(cli.main, arguments)
    assert result.exit_code == 0 and "(torch module, run alone)" in result.stderr, result.output
    imports = {
        alias.name
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in node.names
    }
    assert imports == {"math", "torch"}


# -- the JAX backend (jax is a test extra; CI installs it) ----------------------------------------


#: The pairs whose JAX module is compared with NumPy's for reduction="mean" too (every pair for "none", the
#: elementwise values): the mean is the template's, the same code for every pair; each comparison compiles.
JAX_MEAN_PAIRS = {
    ("bce", "sigmoid"),
    *catalog.pairs(valid=True)[::6],
    *((loss, "softmax") for loss, _ in catalog.pairs(valid=True)),
}


@pytest.mark.parametrize(("loss", "act"), catalog.pairs(valid=True))
def test_jax_backend_matches_numpy(loss, act):
    import jax

    rng = np.random.default_rng(3)
    x64 = jax.enable_x64 if hasattr(jax, "enable_x64") else __import__("jax.experimental").experimental.enable_x64
    with x64(True):
        j_loss, j_grad = codegen.functions(pairs.derive(loss, act), "jax")
        n_loss, n_grad = codegen.functions(pairs.derive(loss, act))
        if act == "softmax":
            z, labels = rng.normal(size=(8, 5)) * 3, rng.integers(0, 5, size=8)
            cases = [(z, labels), (z, np.eye(5)[labels])]
        else:
            z = rng.normal(size=40) * 5
            cases = [(z, rng.choice(gradcheck.targets(catalog.loss(loss)), size=40))]
        for zz, yy in cases:
            for reduction in ("mean", "none") if (loss, act) in JAX_MEAN_PAIRS else ("none",):
                np.testing.assert_allclose(
                    np.asarray(j_grad(zz, yy, reduction)), n_grad(zz, yy, reduction), rtol=1e-12, atol=1e-300
                )
                np.testing.assert_allclose(np.asarray(j_loss(zz, yy, reduction)), n_loss(zz, yy, reduction), rtol=1e-12)
    namespace: dict = {}
    exec(codegen.module_source(pairs.derive(loss, act), "jax"), namespace)  # noqa: S102
    assert isinstance(namespace["_grad"], jax.stages.Wrapped) or hasattr(namespace["_grad"], "lower")


def test_jax_module_imports_only_jax(tmp_path):
    path = tmp_path / "bce_jax.py"
    result = CliRunner().invoke(cli.main, ["export", "bce", "sigmoid", "--backend", "jax", "-o", str(path)])
    assert result.exit_code == 0
    source = path.read_text()
    imports = {line.split()[1] for line in source.splitlines() if line.startswith(("import ", "from "))}
    assert imports == {"functools", "jax", "jax.numpy"}
    program = textwrap.dedent(f"""
        import sys, runpy
        sys.modules["derive"] = None
        sys.modules["sympy"] = None
        module = runpy.run_path({str(path)!r})
        print(float(module["loss"]([0.0, 1.0], [1.0, 0.0])))
    """)
    out = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True)
    assert float(out.stdout) == pytest.approx(np.log(2) / 2 + np.log1p(np.exp(1.0)) / 2, rel=1e-6)


def test_jax_bad_input():
    j_loss, _ = codegen.functions(pairs.derive("cross_entropy", "softmax"), "jax")
    with pytest.raises(ValueError, match="labels y must lie in 0..2"):
        j_loss(np.zeros((2, 3)), np.array([0, 3]))
    j_loss, _ = codegen.functions(pairs.derive("bce", "sigmoid"), "jax")
    with pytest.raises(ValueError, match="y must lie in"):
        j_loss(np.zeros(2), np.array([0.0, 2.0]))


# -- input validation: a clear ValueError or a correct result, never a silently wrong one -------------

BAD_SCALAR_INPUTS = [
    # (z, y, reduction, the error)
    (np.array([0.0, np.inf]), np.zeros(2), "mean", "z contains inf: the inputs must be finite"),
    (np.array([-np.inf, 0.0]), np.zeros(2), "sum", "z contains inf"),
    (np.array([0.0, np.nan]), np.zeros(2), "none", "z contains NaN"),
    (np.zeros(2), np.array([0.0, np.inf]), "mean", "y contains inf"),
    (np.zeros(2), np.array([np.nan, 0.0]), "mean", "y contains NaN"),
    (np.array([1j, 0.0]), np.zeros(2), "mean", "z must be real numbers (bool, int or float), not complex128"),
    (np.array([None, 0.0]), np.zeros(2), "mean", "z must be real numbers (bool, int or float), not object"),
    (["a", "b"], np.zeros(2), "mean", "z must be real numbers"),
    (np.zeros(2), np.array([0j, 1]), "mean", "y must be real numbers"),
    (np.array([]), np.array([]), "mean", 'reduction="mean" of an empty batch is undefined'),
    (np.zeros(3), np.zeros(2), "mean", "y must have the shape of z (3,), not (2,)"),
    (0.0, 0.0, "mean", "z must have shape (N,), not ()"),
    (np.zeros(2), np.array([-1.0, 0.0]), "mean", "y must lie in [0, 1]"),
]


def _jax_x64():
    jax = pytest.importorskip("jax")
    return jax.enable_x64(True)


@pytest.mark.parametrize("backend", ["numpy", "jax"])
@pytest.mark.parametrize(("z", "y", "reduction", "message"), BAD_SCALAR_INPUTS)
def test_scalar_module_refuses_what_it_cannot_compute_right(backend, z, y, reduction, message):
    with _jax_x64() if backend == "jax" else contextlib.nullcontext():
        functions = codegen.module_source(pairs.derive("bce", "sigmoid"), backend)
        namespace: dict = {}
        exec(functions, namespace)  # noqa: S102 - our own generated source
        for name in ("loss", "grad", "loss_and_grad"):
            with pytest.raises(ValueError, match=re.escape(message)):
                namespace[name](z, y, reduction)


BAD_SOFTMAX_INPUTS = [
    (np.zeros((2, 3)), np.array([0.0, 1.0]), "labels y must be integers, not float"),
    (np.zeros((2, 3)), np.array([True, False]), "labels y must be integers, not bool"),
    (np.zeros((2, 3)), np.array([-1, 0]), "labels y must lie in 0..2"),
    (np.zeros((2, 3)), np.array([0, 3]), "labels y must lie in 0..2"),
    (np.zeros((2, 3)), np.array([[1.5, 0, 0], [0, 1, 0]]), "probabilities y must lie in [0, 1]"),
    (np.zeros((2, 3)), np.array([[-0.5, 1, 0], [0, 1, 0]]), "probabilities y must lie in [0, 1]"),
    (np.zeros((2, 3)), np.array([[np.inf, 0, 0], [0, 1, 0]]), "y contains inf"),
    (np.array([[np.inf, 0.0, 0.0], [0.0, 0.0, 0.0]]), np.array([0, 1]), "z contains inf"),
    (np.array([[0.0, 0.0, 0.0], [np.nan, 0.0, 0.0]]), np.array([0, 1]), "z contains NaN"),
    (np.zeros((2, 0)), np.array([0, 0]), "z must have shape (N, K), not (2, 0)"),
    (np.zeros((0, 3)), np.array([], dtype=int), 'reduction="mean" of an empty batch is undefined'),
    (np.zeros((2, 3)) + 0j, np.array([0, 1]), "z must be real numbers"),
]


@pytest.mark.parametrize("backend", ["numpy", "jax"])
@pytest.mark.parametrize(("z", "y", "message"), BAD_SOFTMAX_INPUTS)
def test_softmax_module_refuses_what_it_cannot_compute_right(backend, z, y, message):
    with _jax_x64() if backend == "jax" else contextlib.nullcontext():
        j_loss, j_grad = codegen.functions(pairs.derive("cross_entropy", "softmax"), backend)
        for function in (j_loss, j_grad):
            with pytest.raises(ValueError, match=re.escape(message)):
                function(z, y)


@pytest.mark.parametrize("backend", ["numpy", "jax"])
@pytest.mark.parametrize(
    ("dtype", "computed_in"),
    [(np.int64, np.float64), (np.int32, np.float64), (np.bool_, np.float64), (np.float16, np.float32)],
)
def test_int_bool_and_float16_inputs_give_the_right_numbers(backend, dtype, computed_in):
    """int and bool are computed in float64, float16 in float32: the result is the float64 one, rounded."""
    with _jax_x64() if backend == "jax" else contextlib.nullcontext():
        f_loss, f_grad = codegen.functions(pairs.derive("bce", "sigmoid"), backend)
        z64, y64 = np.array([0.0, 1.0, 3.0, -2.0]), np.array([0.0, 1.0, 1.0, 0.0])
        z, y = z64.astype(dtype), y64.astype(dtype)
        got_loss, got_grad = np.asarray(f_loss(z, y)), np.asarray(f_grad(z, y, "none"))
        assert got_grad.dtype == computed_in and got_loss.dtype == computed_in
        want_loss, want_grad = codegen.functions(pairs.derive("bce", "sigmoid"))
        exact_z = z.astype(np.float64)  # the values the inputs hold
        tolerance = 1e-6 if computed_in == np.float32 else 1e-15
        np.testing.assert_allclose(got_loss, want_loss(exact_z, y.astype(np.float64)), rtol=tolerance)
        np.testing.assert_allclose(got_grad, want_grad(exact_z, y.astype(np.float64), "none"), rtol=tolerance)


@pytest.mark.parametrize("backend", ["numpy", "jax"])
def test_empty_batch_sums_to_zero_and_has_an_empty_gradient(backend):
    with _jax_x64() if backend == "jax" else contextlib.nullcontext():
        for pair, z, y in [
            (("bce", "sigmoid"), np.zeros(0), np.zeros(0)),
            (("cross_entropy", "softmax"), np.zeros((0, 3)), np.zeros(0, dtype=int)),
        ]:
            f_loss, f_grad = codegen.functions(pairs.derive(*pair), backend)
            assert float(f_loss(z, y, "sum")) == 0.0
            assert np.asarray(f_grad(z, y, "none")).shape == z.shape


def test_every_module_documents_its_input_rules():
    for loss, act in catalog.pairs(valid=True):
        for backend in ("numpy", "jax"):
            source = codegen.module_source(pairs.derive(loss, act), backend)
            assert "Everything else raises\nValueError instead of giving a wrong number" in source, (loss, act, backend)


# -- the gradient check of the module that is written -------------------------------------------------


@pytest.mark.parametrize(("loss", "act"), [("bce", "sigmoid"), ("cross_entropy", "softmax")])
def test_check_runs_the_jax_module_for_the_jax_backend(loss, act, monkeypatch):
    pytest.importorskip("jax")
    backends = []
    real = codegen.functions
    monkeypatch.setattr(codegen, "functions", lambda d, backend="numpy": backends.append(backend) or real(d, backend))
    report = gradcheck.check_gradient(loss, act, backend="jax")
    assert backends == ["jax"] and report["backend"] == "jax"
    assert report["max_rel_error_mpmath"] < 1e-12


def test_export_jax_check_without_jax_says_so_and_writes_nothing(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "jax", None)  # import jax raises ImportError
    out = tmp_path / "bce_jax.py"
    result = CliRunner().invoke(cli.main, ["export", "bce", "sigmoid", "--backend", "jax", "--check", "-o", str(out)])
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: jax is not installed") and "pip install jax" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "gradient check passed" not in result.output and not out.exists()
    with pytest.raises(errors.MissingDependency):
        gradcheck.check_gradient("bce", "sigmoid", backend="jax")


def test_export_jax_check_runs_the_jax_module(monkeypatch):
    """Issue 13: `derive export --backend jax --check` checked the NumPy code, never the JAX module it wrote."""
    pytest.importorskip("jax")
    loaded = []
    real = isolated.ModuleProcess

    def spy(path, backend):
        loaded.append((backend, "import jax" in Path(path).read_text()))
        return real(path, backend)

    monkeypatch.setattr(isolated, "ModuleProcess", spy)
    result = CliRunner().invoke(cli.main, ["export", "bce", "sigmoid", "--backend", "jax", "--check"])
    assert result.exit_code == 0, result.output
    assert loaded == [("jax", True)]
    result = CliRunner().invoke(cli.main, ["export", "bce", "sigmoid", "--check"])
    assert result.exit_code == 0, result.output
    assert loaded == [("jax", True), ("numpy", False)]


def test_export_jax_check_names_the_module_checked():
    pytest.importorskip("jax")
    result = CliRunner().invoke(cli.main, ["export", "bce", "sigmoid", "--backend", "jax", "--check"])
    assert result.exit_code == 0, result.output
    assert "gradient check passed for bce sigmoid (jax module, run alone)" in result.stderr


@pytest.mark.parametrize(("loss", "act"), [("bce", "sigmoid"), ("cross_entropy", "softmax")])
def test_check_gradient_returns_plain_floats(loss, act):
    report = gradcheck.check_gradient(loss, act)
    numbers = {key: value for key, value in report.items() if key.startswith("max_")}
    assert numbers and all(type(value) is float for value in numbers.values()), report
    assert "np.float64" not in repr(report)


# -- --check runs the file written, alone ---------------------------------------------------------------

ISOLATED = [("numpy", "bce", "sigmoid"), ("torch", "huber", "leaky_relu"), ("jax", "quadratic", "tanh")]


@pytest.mark.parametrize(("backend", "loss", "act"), ISOLATED)
def test_check_runs_the_file_on_disk_alone(tmp_path, backend, loss, act):
    """What is checked is the file: a gradient tampered with in it fails; an import the backend must not
    need (derive, SymPy, another framework) fails to load.  The untouched file passes."""
    pytest.importorskip(backend)
    d = pairs.derive(loss, act)
    source = codegen.module_source(d, backend)
    path = tmp_path / f"{loss}_{act}.py"
    path.write_text(source)
    report = gradcheck.check_derivation(d, backend=backend, path=path)
    assert report["isolated"] and report["max_rel_error_mpmath"] < 1e-12

    tampered = source.replace("def grad(", "def _true_grad(", 1)
    tampered += "\n\ndef grad(*args, **kwargs):\n    return _true_grad(*args, **kwargs) * 1.000001\n"
    path.write_text(tampered)
    with pytest.raises(errors.GradientCheckError, match="relative error"):
        gradcheck.check_derivation(d, backend=backend, path=path)

    other = {"numpy": "torch", "torch": "jax", "jax": "torch"}[backend]
    for stray in ("sympy", "derive.catalog", other):
        path.write_text(f"import {stray}\n" + source)
        with pytest.raises(errors.GradientCheckError, match=f"does not load on its own: .*{stray.split('.')[0]}"):
            gradcheck.check_derivation(d, backend=backend, path=path)


def test_cli_check_of_a_module_written_to_standard_output_runs_a_copy_alone():
    result = CliRunner().invoke(cli.main, ["export", "bce", "sigmoid", "--check"])
    assert result.exit_code == 0, result.output
    assert "def loss(" in result.stdout and "(numpy module, run alone)" in result.stderr
