"""Export carries the derivation's options: label smoothing ε (a number, or the keyword ``label_smoothing``),
class weights ω (the keyword ``class_weights``) and an explicit K.

The references are written here with plain NumPy, independently of derive: the smoothed, weighted
cross-entropy −Σ_k ω_k ỹ_k ln softmax(z)_k with ỹ = (1 − ε)·y + ε/K, and its central finite differences.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import sympy as sp

from derive import errors
from derive.derivations import pairs
from derive.engine import indexed
from derive.export import codegen, gradcheck, stable

CE = ("cross_entropy", "softmax")
#: (derive options, keyword arguments of the exported functions, ε and whether ω is used, for the reference)
OPTION_CASES = {
    "eps=1/10": ({"label_smoothing": "1/10"}, {}, 0.1, False),
    "eps keyword": ({"label_smoothing": True}, {"label_smoothing": 0.25}, 0.25, False),
    "weights": ({"class_weights": True}, {}, 0.0, True),
    "weights, eps=1/5": ({"class_weights": True, "label_smoothing": "0.2"}, {}, 0.2, True),
    "weights, eps keyword": ({"class_weights": True, "label_smoothing": True}, {"label_smoothing": 0.3}, 0.3, True),
}
WEIGHTS = np.array([0.5, 2.0, 1.0, 0.25, 3.0])


def reference_loss(z, y, eps, weights, reduction):
    """−Σ_k ω_k ỹ_k log softmax(z)_k per sample, by the textbook formulas (float64)."""
    k = z.shape[1]
    targets = np.eye(k)[y] if y.ndim == 1 else y
    targets = (1 - eps) * targets + eps / k
    shifted = z - z.max(axis=1, keepdims=True)
    log_softmax = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    per_sample = -(weights * targets * log_softmax).sum(axis=1)
    return {"mean": per_sample.mean(), "sum": per_sample.sum(), "none": per_sample}[reduction]


def finite_differences(z, y, eps, weights, reduction, h=1e-5):
    """Central differences of the reference loss; for "none" of the sum (each row is its own sample)."""
    total = "sum" if reduction == "none" else reduction
    out = np.zeros_like(z)
    for index in np.ndindex(z.shape):
        step = np.zeros_like(z)
        step[index] = h
        up, down = reference_loss(z + step, y, eps, weights, total), reference_loss(z - step, y, eps, weights, total)
        out[index] = (up - down) / (2 * h)
    return out


def case_inputs(kind, rng):
    z = rng.normal(size=(6, 5)) * 2
    labels = rng.integers(0, 5, size=6)
    if kind == "labels":
        return z, labels
    probabilities = rng.random((6, 5))
    return z, probabilities / probabilities.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("case", list(OPTION_CASES))
@pytest.mark.parametrize("kind", ["labels", "probabilities"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_options_against_the_numpy_reference(case, kind, reduction):
    options, keywords, eps, weighted = OPTION_CASES[case]
    weights = WEIGHTS if weighted else np.ones(5)
    if weighted:
        keywords = {**keywords, "class_weights": WEIGHTS}
    z, y = case_inputs(kind, np.random.default_rng(11))
    f_loss, f_grad = codegen.to_numpy(pairs.derive(*CE, **options))
    np.testing.assert_allclose(f_loss(z, y, reduction, **keywords), reference_loss(z, y, eps, weights, reduction))
    fd = finite_differences(z, y, eps, weights, reduction)
    np.testing.assert_allclose(f_grad(z, y, reduction, **keywords), fd, rtol=1e-7, atol=1e-9)
    module = {}
    exec(codegen.module_source(pairs.derive(*CE, **options)), module)  # noqa: S102
    value, gradient = module["loss_and_grad"](z, y, reduction, **keywords)
    np.testing.assert_allclose(value, f_loss(z, y, reduction, **keywords), rtol=1e-14)
    np.testing.assert_allclose(gradient, f_grad(z, y, reduction, **keywords), rtol=1e-14, atol=1e-17)


def test_the_measured_case_is_smoothed():
    """to_numpy(derive(..., label_smoothing="1/10")) once dropped ε: its gradient was the plain a − y."""
    z, labels = np.array([[0.3, -1.2, 2.0, 0.1]]), np.array([2])
    _, smoothed = derive_grad({"label_smoothing": "1/10"})
    _, plain = derive_grad({})
    fd = finite_differences(z, labels, 0.1, np.ones(4), "mean")
    np.testing.assert_allclose(smoothed(z, labels), fd, rtol=1e-7, atol=1e-9)
    plain_fd = finite_differences(z, labels, 0.0, np.ones(4), "mean")
    np.testing.assert_allclose(plain(z, labels), plain_fd, rtol=1e-7, atol=1e-9)
    # ỹ − y = ε(1/K − onehot): the two gradients differ by ε(onehot − 1/K), 0.075 at the label
    np.testing.assert_allclose(smoothed(z, labels) - plain(z, labels), 0.1 * (np.eye(4)[labels] - 0.25), atol=1e-15)


def derive_grad(options):
    return codegen.to_numpy(pairs.derive(*CE, **options))


@pytest.mark.parametrize("backend", ["numpy", "jax"])
@pytest.mark.parametrize(
    ("options", "keywords", "error", "message"),
    [
        ({"label_smoothing": True}, {}, TypeError, "label_smoothing"),
        ({"class_weights": True}, {}, TypeError, "class_weights"),
        ({"class_weights": True, "label_smoothing": True}, {"label_smoothing": 0.1}, TypeError, "class_weights"),
        (
            {"label_smoothing": True},
            {"label_smoothing": 1.0},
            ValueError,
            r"label_smoothing must be a number in \[0, 1\)",
        ),
        ({"label_smoothing": True}, {"label_smoothing": -0.1}, ValueError, "label_smoothing must be a number"),
        ({"label_smoothing": True}, {"label_smoothing": "0.1"}, ValueError, "label_smoothing must be a number"),
        ({"label_smoothing": True}, {"label_smoothing": [0.1, 0.2]}, ValueError, "label_smoothing must be a number"),
        ({"label_smoothing": True}, {"label_smoothing": float("nan")}, ValueError, "label_smoothing must be a number"),
        ({"class_weights": True}, {"class_weights": [1.0, 2.0]}, ValueError, r"class_weights must be 3 numbers"),
        ({"class_weights": True}, {"class_weights": None}, ValueError, r"class_weights must be 3 numbers"),
        ({"class_weights": True}, {"class_weights": [1.0, -2.0, 1.0]}, ValueError, "finite and >= 0"),
        ({"class_weights": True}, {"class_weights": [1.0, np.inf, 1.0]}, ValueError, "finite and >= 0"),
        ({"classes": 4}, {}, ValueError, "z must have 4 columns, the K = 4 classes of the derivation, not 3"),
    ],
)
def test_a_missing_or_bad_option_is_a_clear_error(backend, options, keywords, error, message):
    f_loss, f_grad = codegen.functions(pairs.derive(*CE, **options), backend)
    z, labels = np.zeros((2, 3)), np.array([0, 2])
    for f in (f_loss, f_grad):
        with pytest.raises(error, match=message):
            f(z, labels, **keywords)


def test_plain_cross_entropy_takes_no_option_keyword():
    f_loss, _ = derive_grad({})
    with pytest.raises(TypeError, match="label_smoothing"):
        f_loss(np.zeros((1, 3)), np.array([0]), label_smoothing=0.1)


@pytest.mark.parametrize("eps", [0.0, 0.1, 0.5])
def test_keyword_eps_equals_the_built_in_eps(eps):
    z, labels = case_inputs("labels", np.random.default_rng(2))
    keyword_loss, keyword_grad = derive_grad({"label_smoothing": True})
    built_loss, built_grad = derive_grad({"label_smoothing": str(eps)})
    np.testing.assert_allclose(keyword_grad(z, labels, label_smoothing=eps), built_grad(z, labels), rtol=1e-15)
    np.testing.assert_allclose(keyword_loss(z, labels, label_smoothing=eps), built_loss(z, labels), rtol=1e-15)
    if eps == 0.0:  # ε = 0 is the plain cross-entropy
        plain_loss, plain_grad = derive_grad({})
        np.testing.assert_allclose(built_grad(z, labels), plain_grad(z, labels), rtol=1e-14, atol=1e-17)
        np.testing.assert_allclose(built_loss(z, labels), plain_loss(z, labels), rtol=1e-14)


@pytest.mark.parametrize("options", [{"class_weights": True}, {"class_weights": True, "label_smoothing": True}])
def test_weighted_gradient_is_the_derived_delta(options):
    """The exported gradient equals the explicit-K δ of the derivation: a_j Σ_k ω_k ỹ_k − ω_j ỹ_j."""
    d = pairs.derive(*CE, classes=3, **options)
    eps = sp.Rational(3, 10)
    z, y = np.array([[0.4, -1.0, 2.5]]), np.array([[0.2, 0.5, 0.3]])
    weights = np.array([1.5, 0.5, 2.0])
    a = np.exp(z[0]) / np.exp(z[0]).sum()
    values = {}
    for m in range(3):
        values[indexed.a[m + 1]] = a[m]
        values[indexed.y[m + 1]] = y[0, m]
        values[sp.IndexedBase("omega")[m + 1]] = weights[m]
        values[sp.IndexedBase("ytilde")[m + 1]] = (1 - eps) * sp.Float(y[0, m]) + eps / 3
    derived = np.array([float(entry.xreplace(values)) for entry in d.delta])
    keywords = {"class_weights": weights, **({"label_smoothing": 0.3} if "label_smoothing" in options else {})}
    _, f_grad = codegen.to_numpy(d)
    np.testing.assert_allclose(f_grad(z, y, "none", **keywords)[0], derived, rtol=1e-13)
    assert d.options.classes == 3 and d.options.class_weights


def test_the_stable_gradient_is_proven_against_the_derivation():
    d = pairs.derive(*CE, class_weights=True)
    grad = stable.softmax_forms_of(d).results["grad"]
    assert stable.matches_derivation(grad, d)
    a, y, j, k = indexed.a, indexed.y, indexed.j, indexed.k
    unweighted_label = a[j] * indexed.ksum(sp.IndexedBase("omega")[k] * y[k]) - y[j]  # ω_j forgotten
    assert not stable.matches_derivation(unweighted_label, d)
    assert not stable.matches_derivation(a[j] - y[j], pairs.derive(*CE, label_smoothing="1/10"))
    assert [s.rule for s in stable.softmax_forms_of(pairs.derive(*CE, label_smoothing=True)).steps][-2:] == [
        "definition",
        "derivation",
    ]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_huge_logits_and_dtype_with_options(dtype):
    z = np.array([[1e4, -1e4, 0.0], [800.0, 799.0, -800.0]])
    labels, weights = np.array([1, 0]), np.array([1.0, 2.0, 0.5])
    f_loss, f_grad = codegen.to_numpy(pairs.derive(*CE, label_smoothing="1/10", class_weights=True))
    loss = f_loss(z.astype(dtype), labels, "none", class_weights=weights)
    grad = f_grad(z.astype(dtype), labels, "none", class_weights=weights)
    assert loss.dtype == dtype and grad.dtype == dtype
    assert np.isfinite(loss).all() and np.isfinite(grad).all()
    lse = np.logaddexp.reduce(z, axis=1)[:, None]
    targets = 0.9 * np.eye(3)[labels] + 0.1 / 3
    np.testing.assert_allclose(
        loss, (weights * targets * (lse - z)).sum(axis=1), rtol=1e-6 if dtype == np.float32 else 1e-13
    )


def test_the_derivation_carries_its_options():
    d = pairs.derive(*CE, label_smoothing="0.1", class_weights=True)
    assert d.options.label_smoothing == sp.Rational(1, 10) and d.options.class_weights
    assert d.as_dict()["options"] == {"label_smoothing": "1/10", "class_weights": True, "classes": None}
    symbolic = pairs.derive(*CE, label_smoothing=True)
    assert symbolic.options.symbolic_smoothing and symbolic.as_dict()["options"]["label_smoothing"] == "epsilon"
    assert pairs.derive("bce", "sigmoid").as_dict()["options"] == {
        "label_smoothing": None,
        "class_weights": False,
        "classes": None,
    }


def test_export_takes_a_derivation():
    with pytest.raises(errors.InvalidOption, match="export takes a Derivation"):
        codegen.module_source("bce", "sigmoid")
    with pytest.raises(errors.InvalidOption, match="export takes a Derivation"):
        codegen.to_numpy(("cross_entropy", "softmax"))


@pytest.mark.parametrize("backend", ["numpy", "jax"])
@pytest.mark.parametrize("case", ["eps=1/10", "weights, eps keyword"])
def test_generated_module_with_options_runs_alone_and_lints(case, backend, tmp_path):
    from pyflakes.api import check
    from pyflakes.reporter import Reporter

    options, keywords, _, weighted = OPTION_CASES[case]
    keywords = {**keywords, **({"class_weights": [0.5, 2.0, 1.0]} if weighted else {})}
    source = codegen.module_source(pairs.derive(*CE, **options), backend)
    out = io.StringIO()
    assert check(source, "exported.py", Reporter(out, io.StringIO())) == 0, out.getvalue()
    path = tmp_path / "exported.py"
    path.write_text(source, encoding="utf-8")
    program = textwrap.dedent(f"""
        import sys, json, runpy
        sys.modules["derive"] = None   # importing derive or sympy now fails
        sys.modules["sympy"] = None
        {"import jax; jax.config.update('jax_enable_x64', True)" if backend == "jax" else ""}
        module = runpy.run_path({str(path)!r})
        z, y = [[1.0, 2.0, 3.0], [0.5, -1.0, 0.0]], [2, 0]
        value, gradient = module["loss_and_grad"](z, y, **{keywords!r})
        print(json.dumps([float(value), [[float(v) for v in row] for row in gradient]]))
    """)
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, cwd=tmp_path, check=True)
    value, gradient = json.loads(result.stdout)
    z, y = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 0.0]]), np.array([2, 0])
    eps = OPTION_CASES[case][2]
    weights = np.array(keywords.get("class_weights", np.ones(3)))
    assert value == pytest.approx(reference_loss(z, y, eps, weights, "mean"), rel=1e-12)
    np.testing.assert_allclose(gradient, finite_differences(z, y, eps, weights, "mean"), rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("case", list(OPTION_CASES))
def test_jax_backend_with_options_matches_numpy(case):
    import jax

    options, keywords, _, weighted = OPTION_CASES[case]
    keywords = {**keywords, **({"class_weights": WEIGHTS} if weighted else {})}
    x64 = jax.enable_x64 if hasattr(jax, "enable_x64") else __import__("jax.experimental").experimental.enable_x64
    d = pairs.derive(*CE, **options)
    with x64(True):
        j_loss, j_grad = codegen.functions(d, "jax")
        n_loss, n_grad = codegen.functions(d)
        for kind in ("labels", "probabilities"):
            z, y = case_inputs(kind, np.random.default_rng(4))
            for reduction in ("mean", "none"):
                np.testing.assert_allclose(
                    np.asarray(j_grad(z, y, reduction, **keywords)), n_grad(z, y, reduction, **keywords), rtol=1e-12
                )
                np.testing.assert_allclose(
                    np.asarray(j_loss(z, y, reduction, **keywords)), n_loss(z, y, reduction, **keywords), rtol=1e-12
                )


@pytest.mark.parametrize(
    "options",
    [
        {"label_smoothing": "1/10"},
        {"label_smoothing": True, "class_weights": True},
        {"classes": 3, "class_weights": True},
    ],
    ids=["eps=1/10", "eps keyword, weights", "K=3, weights"],
)
def test_gradient_check_with_options(options):
    report = gradcheck.check_derivation(pairs.derive(*CE, **options))
    assert report["max_rel_error_mpmath"] <= 1e-12
    assert report["max_error_finite_differences"] <= 1e-6
    assert report["pair"].startswith("cross_entropy softmax (")
