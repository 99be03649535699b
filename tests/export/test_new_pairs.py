"""The pairs outside ``stable.SCALAR``: parameters as keywords, targets from the loss, kl_div ∘ softmax, standalone.

Every valid pair is also in the tables of test_export.py (no inf or NaN on the sweep in float32 and
float64, mpmath and finite differences, JAX against NumPy, the linter).  The references here are
mpmath (through ``gradcheck``) and plain NumPy formulas written out in this file.
"""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import sympy as sp

from derive import catalog, errors
from derive.catalog.parameters import Parameter
from derive.derivations import pairs
from derive.export import activation_pieces, cases, codegen, composed, gradcheck, stable

NEW_SCALAR = [p for p in catalog.pairs(valid=True) if p[1] != "softmax" and p not in stable.SCALAR]


def _parameters(loss: str, act: str) -> tuple[Parameter, ...]:
    return (*catalog.loss(loss).parameters, *catalog.activation(act).parameters)


#: keyword → (a value other than the default, values outside the domain)
VALUES = {
    "negative_slope": (0.2, (0.0, -0.01)),
    "alpha": (0.5, (0.0, -1.0)),
    "delta": (0.3, (0.0, -1.0)),
    "beta": (0.4, (0.0, -0.5)),
    "gamma": (0.5, (-0.5,)),
    "var": (2.5, (0.0, -1.0)),
}
NOT_NUMBERS = (None, "0.5", [0.1, 0.2], float("nan"), float("inf"), True)
PARAMETER_CASES = [(loss, act, p.keyword) for loss, act in NEW_SCALAR for p in _parameters(loss, act)]


def test_every_new_pair_is_exported_and_every_parameter_has_test_values():
    assert len(NEW_SCALAR) == 86
    assert {keyword for *_, keyword in PARAMETER_CASES} == set(VALUES)


@pytest.mark.parametrize(("loss", "act", "keyword"), PARAMETER_CASES)
def test_a_parameter_value_gives_the_mpmath_gradient_for_that_value(loss, act, keyword):
    value = VALUES[keyword][0]
    report = gradcheck.check_gradient(loss, act, parameters={keyword: value})
    assert report["parameters"][keyword] == value
    assert report["max_rel_error_mpmath"] <= 1e-12
    assert report["max_error_finite_differences"] <= 1e-6
    _, f_grad = codegen.functions(pairs.derive(loss, act))
    z = np.array([-3.0, -1.0, -0.4, 0.4, 1.0, 3.0])
    y = np.full_like(z, gradcheck.targets(catalog.loss(loss))[0])
    assert not np.array_equal(f_grad(z, y, "none", **{keyword: value}), f_grad(z, y, "none"))  # the value is used


@pytest.mark.parametrize(("loss", "act", "keyword"), PARAMETER_CASES)
def test_a_parameter_outside_its_domain_is_a_value_error(loss, act, keyword):
    namespace: dict = {}
    exec(codegen.module_source(pairs.derive(loss, act)), namespace)  # noqa: S102 - our own generated source
    z, y = np.zeros(2), np.full(2, gradcheck.targets(catalog.loss(loss))[0])
    for bad in (*VALUES[keyword][1], *NOT_NUMBERS):
        for name in ("loss", "grad", "loss_and_grad"):
            with pytest.raises(ValueError, match=rf"^{keyword} must be "):
                namespace[name](z, y, **{keyword: bad})


def _x64():
    jax = pytest.importorskip("jax")
    return jax.enable_x64(True)


@pytest.mark.parametrize("keyword", sorted(VALUES))
def test_the_jax_module_checks_its_parameters_too(keyword):
    loss, act, _ = next(case for case in PARAMETER_CASES if case[2] == keyword)
    with _x64():
        j_loss, j_grad = codegen.functions(pairs.derive(loss, act), "jax")
        z, y = np.zeros(2), np.full(2, gradcheck.targets(catalog.loss(loss))[0])
        for bad in (*VALUES[keyword][1], None, "0.5"):
            with pytest.raises(ValueError, match=rf"^{keyword} must be "):
                j_grad(z, y, **{keyword: bad})
        n_loss, n_grad = codegen.functions(pairs.derive(loss, act))
        value = VALUES[keyword][0]
        z = np.linspace(-3, 3, 7)
        y = np.full_like(z, gradcheck.targets(catalog.loss(loss))[0])
        for j, n in ((j_loss, n_loss), (j_grad, n_grad)):
            np.testing.assert_allclose(np.asarray(j(z, y, **{keyword: value})), n(z, y, **{keyword: value}), rtol=1e-12)


# -- a user formula: its parameter has no default, so the keyword is required ---------------------------

SCALE = sp.Symbol("c")


class scaled_quadratic(catalog.Loss):
    """c (a − y)²/2 with a parameter c that has no default, as a user formula's."""

    name = "scaled_quadratic"
    latex_name = r"\operatorname{sq}"
    a_domain = sp.S.Reals
    y_domain = sp.S.Reals
    description = "c (a - y)^2 / 2"
    parameters = (Parameter(SCALE, "scale", None, sp.Interval.open(0, sp.oo), "the scale c"),)

    @classmethod
    def elementary(cls, a, y):
        return SCALE * (a - y) ** 2 / 2

    @classmethod
    def gradient(cls, a, y):
        return SCALE * (a - y)


@pytest.mark.parametrize("backend", ["numpy", "jax"])
def test_a_parameter_without_default_is_a_required_keyword(backend):
    with _x64() if backend == "jax" else contextlib.nullcontext():
        d = pairs.derive(scaled_quadratic, "leaky_relu")
        f_loss, f_grad = codegen.functions(d, backend)
        z, y = np.array([-2.0, 0.5]), np.array([0.0, 1.0])
        for function in (f_loss, f_grad):
            with pytest.raises(TypeError, match="missing 1 required keyword-only argument: 'scale'"):
                function(z, y)
            with pytest.raises(ValueError, match="^scale must be > 0"):
                function(z, y, scale=0.0)
        # c (a − y)·f'(z): a = −0.02, f' = 0.01 at z = −2; a = 0.5, f' = 1 at z = 0.5
        expected = [3 * -0.02 * 0.01, 3 * -0.5]
        np.testing.assert_allclose(np.asarray(f_grad(z, y, "none", scale=3.0)), expected, rtol=1e-12)


def test_a_user_formula_is_checked_against_mpmath_at_a_given_and_at_an_inside_value():
    d = pairs.derive(scaled_quadratic, "softsign")
    assert gradcheck.check_derivation(d, parameters={"scale": 2.5})["max_rel_error_mpmath"] <= 1e-12
    assert gradcheck.check_derivation(d)["parameters"] == {"scale": 1.0}  # no default: a value in (0, oo)
    with pytest.raises(errors.InvalidOption, match="has no parameter delta"):
        gradcheck.check_derivation(d, parameters={"delta": 1.0})
    with pytest.raises(errors.InvalidOption, match="scale must be a number in"):
        gradcheck.check_derivation(d, parameters={"scale": -1.0})


# -- targets: from the loss's y_domain -------------------------------------------------------------------

TARGET_CASES = [
    # (loss, activation, targets refused, the message; None: any real target is taken)
    ("hinge", "tanh", [0.0, 1.0], "y must be -1 or 1"),
    ("squared_hinge", "identity", [-1.0, 0.5], "y must be -1 or 1"),
    ("focal", "sigmoid", [0.0, 1.5], "y must lie in [0, 1]"),
    ("bce", "sigmoid", [-0.5, 1.0], "y must lie in [0, 1]"),
    ("poisson", "exp", [-1.0, 2.0], "y must be >= 0"),
    ("huber", "gelu", [-7.0, 1e6], None),
]


@pytest.mark.parametrize("backend", ["numpy", "jax"])
@pytest.mark.parametrize(("loss", "act", "y", "message"), TARGET_CASES)
def test_targets_are_checked_against_the_loss_y_domain(loss, act, y, message, backend):
    with _x64() if backend == "jax" else contextlib.nullcontext():
        f_loss, f_grad = codegen.functions(pairs.derive(loss, act), backend)
        z = np.zeros(2)
        if message is None:
            assert np.isfinite(np.asarray(f_grad(z, np.array(y), "none"))).all()
            return
        for function in (f_loss, f_grad):
            with pytest.raises(ValueError, match=re.escape(message)):
                function(z, np.array(y))


def test_hinge_targets_are_its_labels_in_the_gradient_check():
    assert gradcheck.targets(catalog.loss("hinge")) == (-1.0, 1.0)
    assert gradcheck.targets(catalog.loss("focal")) == (0.0, 1.0)
    assert gradcheck.targets(catalog.loss("huber")) == (0.0, 1.0, 3.0)


# -- the proofs: each piece is checked, so a wrong one is refused --------------------------------------


def test_a_wrong_piece_is_not_proven(monkeypatch):
    from derive.engine.notation import z

    assert not cases.proven(stable.SIGMOID - stable.SIGMOID_C, z)
    assert not cases.proven(activation_pieces.TABLE["leaky_relu"][1] - 1, z)  # the slope is α below 0
    r = composed.R
    wrong = sp.Piecewise((r, r > 1), (r**2 / 2, True))  # huber's linear branch without − κ²/2
    with pytest.raises(errors.ProofError, match="template of the loss of huber"):
        composed._template_proofs(catalog.loss("huber"), r, wrong, r * composed.D, {})
    value, derivative, residuals = activation_pieces.TABLE["softsign"]
    monkeypatch.setitem(activation_pieces.TABLE, "softsign", (value, 1 / (1 + sp.Abs(z)), residuals))
    activation_pieces.pieces.cache_clear()
    try:
        with pytest.raises(errors.ProofError, match="the derivative of softsign"):
            activation_pieces.pieces(catalog.activation("softsign"))
    finally:
        monkeypatch.undo()
        activation_pieces.pieces.cache_clear()
    assert composed._template_proofs(catalog.loss("quadratic"), r, r**2 / 2, r * composed.D, {})  # the right one


def test_gelu_is_exported_through_erfc_without_cancellation():
    """Φ(z) = erfc(−z/√2)/2: at z = −30, 1 + erf(z/√2) would be 0 in float64, GELU's gradient is not."""
    forms = composed.stable_forms_of(pairs.derive("quadratic", "gelu"))
    assert forms.grad.has(stable.Phi) and not forms.grad.has(sp.erf)
    _, f_grad = codegen.functions(pairs.derive("quadratic", "gelu"))
    got = f_grad(np.array([-30.0]), np.array([0.0]), "none")[0]
    import mpmath

    with mpmath.workdps(50):
        zz = mpmath.mpf(-30)
        phi = mpmath.ncdf(zz)
        true = zz * phi * (phi + zz * mpmath.npdf(zz))
    assert got == pytest.approx(float(true), rel=1e-12)


# -- kl_div ∘ softmax -------------------------------------------------------------------------------------


def test_kl_div_softmax_matches_the_textbook_formulas():
    rng = np.random.default_rng(11)
    z = rng.normal(size=(20, 6)) * 4
    y = rng.dirichlet(np.ones(6), size=20)
    y[:5, :2] = 0.0  # 0 ln 0 = 0
    y /= y.sum(axis=1, keepdims=True)
    f_loss, f_grad = codegen.functions(pairs.derive("kl_div", "softmax"))
    a = np.exp(z - z.max(axis=1, keepdims=True))
    a /= a.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        kl = np.where(y > 0, y * np.log(y / a), 0.0).sum(axis=1)
    np.testing.assert_allclose(f_loss(z, y, "none"), kl, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(f_grad(z, y, "none"), a - y, rtol=1e-10, atol=1e-15)
    labels = rng.integers(0, 6, size=20)
    np.testing.assert_allclose(f_loss(z, labels, "none"), -np.log(a[np.arange(20), labels]), rtol=1e-12)
    huge = np.array([[1e4, -1e4, 0.0]])
    assert np.isfinite(f_loss(huge, np.array([[0.0, 1.0, 0.0]]))) and np.isfinite(f_grad(huge, np.array([1]))).all()


def test_kl_div_softmax_stable_forms_are_proven_and_cite_the_derivation():
    trace = stable.softmax_forms("kl_div")
    assert [s.rule for s in trace.steps] == ["naive form", "stable form", "max shift", "stable form", "derivation"]
    assert trace.steps[-1].expr == pairs.derive("kl_div", "softmax").delta


# -- the module written runs on its own: numpy only (scipy for erfc when there is one) ---------------------


def _run_standalone(paths: dict[str, str], block: tuple[str, ...]) -> dict:
    """{name: [loss, grad, ERFC]} of each module file, run in a fresh Python with ``block`` unimportable."""
    program = textwrap.dedent(f"""
        import sys, json, runpy
        for name in {block!r}:
            sys.modules[name] = None
        import numpy as np
        out = {{}}
        for name, path in {paths!r}.items():
            module = runpy.run_path(path)
            hinge = "hinge" in name
            z, y = np.array([-2.5, -0.3, 0.7, 4.0]), np.array([-1.0, 1.0, 1.0, -1.0] if hinge else [0.0, 1.0, 1.0, 0.0])
            if name.endswith("softmax"):
                z, y = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 0.0]]), np.array([[0.2, 0.0, 0.8], [1.0, 0.0, 0.0]])
            out[name] = [float(module["loss"](z, y)), np.asarray(module["grad"](z, y)).tolist(), module.get("ERFC")]
        print(json.dumps(out))
    """)
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def test_every_new_module_runs_without_derive_or_sympy_and_without_scipy(tmp_path):
    paths = {}
    for loss, act in [*NEW_SCALAR, ("kl_div", "softmax")]:
        path = tmp_path / f"{loss}_{act}.py"
        path.write_text(codegen.module_source(pairs.derive(loss, act)))
        paths[f"{loss}_{act}"] = str(path)
    alone = _run_standalone(paths, ("derive", "sympy"))
    gelu = {name: path for name, path in paths.items() if name.endswith(("_gelu", "_gelu_tanh"))}
    without_scipy = _run_standalone(gelu, ("derive", "sympy", "scipy", "scipy.special"))
    for name, (value, gradient, erfc) in alone.items():
        loss, act = next(pair for pair in [*NEW_SCALAR, ("kl_div", "softmax")] if "_".join(pair) == name)
        f_loss, f_grad = codegen.functions(pairs.derive(loss, act))
        hinge = "hinge" in loss
        z, y = np.array([-2.5, -0.3, 0.7, 4.0]), np.array([-1.0, 1.0, 1.0, -1.0] if hinge else [0.0, 1.0, 1.0, 0.0])
        if act == "softmax":
            z, y = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 0.0]]), np.array([[0.2, 0.0, 0.8], [1.0, 0.0, 0.0]])
        assert value == float(f_loss(z, y)), name
        np.testing.assert_array_equal(gradient, f_grad(z, y))
        assert erfc == ("scipy.special.erfc" if act == "gelu" else None), name
    for name, (value, gradient, erfc) in without_scipy.items():
        assert erfc == ("math.erfc" if name.endswith("_gelu") else None)
        assert value == pytest.approx(alone[name][0], rel=1e-15)
        np.testing.assert_allclose(gradient, alone[name][1], rtol=1e-15)


def test_only_gelu_modules_mention_erfc():
    for loss, act in [("huber", "gelu"), ("huber", "gelu_tanh"), ("hinge", "silu")]:
        source = codegen.module_source(pairs.derive(loss, act))
        assert ("from scipy.special import erfc" in source) == (act == "gelu"), (loss, act)
        jax_source = codegen.module_source(pairs.derive(loss, act), "jax")
        assert ("from jax.scipy.special import erfc" in jax_source) == (act == "gelu"), (loss, act)
