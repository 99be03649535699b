"""The gradient check: exported gradients against mpmath and against finite differences.

``check_gradient(loss, activation)`` (and ``derive export ... --check``) evaluates
the derived delta with mpmath at enough digits for 50 significant ones on a sweep
of z up to |z| = 1e4, and central finite differences of the exported loss where
they are meaningful; it fails loudly above tolerance.  ``check_derivation(d)`` does
the same for a derivation with its options (label smoothing, class weights, explicit K).

``backend="jax"`` checks the JAX module (the code ``derive export --backend jax`` writes), run in
float64; without jax installed it raises :class:`~derive.errors.MissingDependency`.  The report's
numbers are plain Python floats.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import sympy as sp

from derive import catalog, errors
from derive.derivations import pairs
from derive.engine import steps
from derive.engine.notation import a, y, z
from derive.export import codegen

# -- gradient check ----------------------------------------------------------------------------

#: ε at which a symbolic label smoothing is checked.
CHECK_SMOOTHING = sp.Rational(3, 10)
SWEEP = (0.0, 1e-8, 1e-3, 0.5, 1.0, 3.0, 10.0, 36.0, 40.0, 100.0, 700.0, 710.0, 1e3, 1e4)


def check_gradient(
    loss: str, activation: str, tolerance: float = 1e-12, fd_tolerance: float = 1e-6, backend: str = "numpy"
) -> dict:
    """Check the exported float64 gradient; return the errors, raise errors.GradientCheckError above tolerance.

    * against mpmath: the derived δ evaluated with enough digits for 50 significant
      ones at each z of ±SWEEP (up to |z| = 1e4) and targets {0, 1} (softmax: random
      logits scaled up to 1e4, labels); relative error where the true value is a
      normal float;
    * against central finite differences of the exported loss (h = 1e-6·max(1, |z|))
      where |z| ≤ 10, where differences are meaningful in float64.
    """
    return check_derivation(pairs.derive(loss, activation), tolerance, fd_tolerance, backend)


def check_derivation(
    d: steps.Derivation, tolerance: float = 1e-12, fd_tolerance: float = 1e-6, backend: str = "numpy"
) -> dict:
    """:func:`check_gradient` of the code exported from ``d`` for ``backend``, options included.

    A symbolic label smoothing is checked at ε = CHECK_SMOOTHING; class weights are drawn in [1/2, 2].
    """
    _require_tolerances(tolerance, fd_tolerance)
    codegen.require_backend(backend)
    with _precision(backend):
        report = _check(d, *_functions(d, backend), tolerance, fd_tolerance)
    return {**report, "backend": backend}


def require_jax() -> None:
    """errors.MissingDependency unless jax can be imported (the JAX module's check runs it)."""
    try:
        import jax  # noqa: F401
    except ImportError as exc:
        raise errors.MissingDependency(
            f"jax is not installed ({exc}): checking the JAX module needs it (pip install jax), "
            "or check the NumPy module (--backend numpy)"
        ) from None


@contextlib.contextmanager
def _precision(backend: str) -> Iterator[None]:
    """float64 for JAX (its default is float32) while the check runs; nothing for NumPy."""
    if backend != "jax":
        yield
        return
    require_jax()
    import jax

    with jax.enable_x64(True):
        yield


def _functions(d: steps.Derivation, backend: str) -> tuple[Callable, Callable]:
    """(loss, grad) of the exported module for ``backend``, returning NumPy arrays."""
    import numpy as np

    loss_fn, grad_fn = codegen.functions(d, backend)
    if backend == "numpy":
        return loss_fn, grad_fn
    return (lambda *a, **k: np.asarray(loss_fn(*a, **k))), (lambda *a, **k: np.asarray(grad_fn(*a, **k)))


def _require_tolerances(*tolerances: object) -> None:
    for value in tolerances:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise errors.InvalidOption(f"a tolerance is a number > 0, not {value!r}")


def _check(d: steps.Derivation, loss_fn: Callable, grad_fn: Callable, tolerance: float, fd_tolerance: float) -> dict:
    import mpmath
    import numpy as np

    if catalog.activation(d.activation).vector:
        return _check_softmax(d, loss_fn, grad_fn, tolerance, fd_tolerance)
    zs = np.array(sorted({s * v for v in SWEEP for s in (1, -1)}))
    targets = (0.0, 1.0) if d.loss != "poisson" else (0.0, 1.0, 3.0)
    reference = _mpmath_delta(d)
    worst_rel = worst_abs = worst_fd = 0.0
    for target in targets:
        ys = np.full_like(zs, target)
        with np.errstate(over="ignore"):
            got = grad_fn(zs, ys, reduction="none")
        for zv, gv in zip(zs, got, strict=True):
            with mpmath.workdps(60 + int(abs(zv))):
                true = reference(mpmath.mpf(float(zv)), mpmath.mpf(target))
                true_f = float(true)
            if _normal(true_f):
                worst_rel = max(worst_rel, abs(gv - true_f) / abs(true_f))
                worst_abs = max(worst_abs, abs(gv - true_f))
        small = zs[(np.abs(zs) <= 10) & (np.abs(zs) > 1e-6)]  # away from relu's kink at 0
        h = 1e-6 * np.maximum(1.0, np.abs(small))
        fd = (
            loss_fn(small + h, ys[: small.size], reduction="none")
            - loss_fn(small - h, ys[: small.size], reduction="none")
        ) / (2 * h)
        fd_ok = np.abs(fd - grad_fn(small, ys[: small.size], reduction="none")) / np.maximum(1.0, np.abs(fd))
        worst_fd = max(worst_fd, float(fd_ok.max()))
    return _report(f"{d.loss} {d.activation}", worst_rel, worst_abs, worst_fd, tolerance, fd_tolerance)


def _normal(value: float) -> bool:
    import math

    return math.isfinite(value) and abs(value) >= 2.2250738585072014e-308


def _mpmath_delta(d):
    """δ as an mpmath function of (z, y): the derived expression in z, fully elementary."""

    act = catalog.activation(d.activation)
    expr = d.delta.subs(a, act.elementary(z)).rewrite("elementary")
    return sp.lambdify((z, y), expr, "mpmath")


def _report(pair: str, rel: float, absolute: float, fd: float, tolerance: float, fd_tolerance: float) -> dict:
    """The errors as a dict; errors.GradientCheckError above tolerance."""
    report = {
        "pair": pair,
        "max_rel_error_mpmath": float(rel),
        "max_abs_error_mpmath": float(absolute),
        "max_error_finite_differences": float(fd),
    }
    _judge(report, tolerance, fd_tolerance)
    return report


def _judge(report: dict, tolerance: float, fd_tolerance: float) -> None:
    if report["max_rel_error_mpmath"] > tolerance or report["max_error_finite_differences"] > fd_tolerance:
        raise errors.GradientCheckError(
            f"gradient check failed for {report['pair']}: relative error {report['max_rel_error_mpmath']:.2e} "
            f"(tolerance {tolerance:.0e}), finite differences {report['max_error_finite_differences']:.2e} "
            f"(tolerance {fd_tolerance:.0e})"
        )


def _pair_name(d: steps.Derivation) -> str:
    """``cross_entropy softmax`` and its options: ``(label_smoothing=1/10, class_weights, K=3)``."""
    o = d.options
    eps = None if o.label_smoothing is None else f"label_smoothing={o.label_smoothing}"
    extras = [e for e in (eps, "class_weights" if o.class_weights else None, o.classes and f"K={o.classes}") if e]
    return f"{d.loss} softmax" + (f" ({', '.join(extras)})" if extras else "")


def _softmax_options(d: steps.Derivation, classes: int, rng) -> tuple[float, object, dict]:
    """(ε, ω, the keyword arguments of the exported functions) for a check with ``classes`` classes."""
    import numpy as np

    o, keywords = d.options, {}
    eps = 0.0 if o.label_smoothing is None else float(CHECK_SMOOTHING if o.symbolic_smoothing else o.label_smoothing)
    if o.symbolic_smoothing:
        keywords["label_smoothing"] = eps
    weights = np.ones(classes)
    if o.class_weights:
        weights = keywords["class_weights"] = rng.uniform(0.5, 2.0, size=classes)
    return eps, weights, keywords


def _softmax_reference(d: steps.Derivation, row, label: int, eps: float, weights) -> list[float]:
    """δ_j of one sample in mpmath (the working precision is the caller's): the derived formulas.

    cross-entropy: a_j Σ_k ω_k t_k − ω_j t_j with t = (1 − ε)·onehot + ε/K; quadratic:
    a_j r_j − a_j Σ_i a_i r_i with r = a − onehot.
    """
    import mpmath

    row = [mpmath.mpf(float(v)) for v in row]
    total = mpmath.fsum(mpmath.exp(v) for v in row)
    probs = [mpmath.exp(v) / total for v in row]
    onehot = [1 if k == label else 0 for k in range(len(row))]
    if d.loss == "cross_entropy":
        e = mpmath.mpf(eps)
        wt = [mpmath.mpf(float(w)) * ((1 - e) * h + e / len(row)) for w, h in zip(weights, onehot, strict=True)]
        true = [p * mpmath.fsum(wt) - t for p, t in zip(probs, wt, strict=True)]
    else:
        r = [p - h for p, h in zip(probs, onehot, strict=True)]
        inner = mpmath.fsum(p * rk for p, rk in zip(probs, r, strict=True))
        true = [p * rk - p * inner for p, rk in zip(probs, r, strict=True)]
    return [float(t) for t in true]


def _check_softmax(d: steps.Derivation, loss_fn, grad_fn, tolerance: float, fd_tolerance: float) -> dict:
    import mpmath
    import numpy as np

    rng = np.random.default_rng(0)
    classes = d.options.classes or 5
    eps, weights, keywords = _softmax_options(d, classes, rng)
    worst_rel = worst_abs = worst_fd = 0.0
    for scale in (1.0, 30.0, 1e3, 1e4):
        z_ = rng.normal(size=(4, classes)) * scale
        labels = rng.integers(0, classes, size=4)
        got = grad_fn(z_, labels, reduction="none", **keywords)
        for n in range(z_.shape[0]):
            with mpmath.workdps(60 + int(np.abs(z_[n]).max() * 0.9)):
                true_f = _softmax_reference(d, z_[n], int(labels[n]), eps, weights)
            for gv, tv in zip(got[n], true_f, strict=True):
                if _normal(tv):
                    worst_rel = max(worst_rel, abs(gv - tv) / abs(tv))
                    worst_abs = max(worst_abs, abs(gv - tv))
    classes = d.options.classes or 4
    _, _, keywords = _softmax_options(d, classes, rng)
    z_ = rng.normal(size=(3, classes))
    labels = rng.integers(0, classes, size=3)
    h = 1e-6
    fd = np.zeros_like(z_)
    for index in np.ndindex(z_.shape):
        step = np.zeros_like(z_)
        step[index] = h
        up, down = (loss_fn(z_ + s, labels, reduction="sum", **keywords) for s in (step, -step))
        fd[index] = (up - down) / (2 * h)
    worst_fd = float(np.abs(fd - grad_fn(z_, labels, reduction="none", **keywords)).max())
    return _report(_pair_name(d), worst_rel, worst_abs, worst_fd, tolerance, fd_tolerance)
