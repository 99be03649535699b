"""The gradient check: exported gradients against mpmath and against finite differences.

``check_gradient(loss, activation)`` (and ``derive export ... --check``) evaluates
the derived delta with mpmath at enough digits for 50 significant ones on a sweep
of z up to |z| = 1e4, and central finite differences of the exported loss where
they are meaningful; it fails loudly above tolerance.
"""

from __future__ import annotations

import sympy as sp

from derive import catalog, errors
from derive.derivations import pairs
from derive.engine.notation import a, y, z
from derive.export import codegen

# -- gradient check ----------------------------------------------------------------------------

SWEEP = (0.0, 1e-8, 1e-3, 0.5, 1.0, 3.0, 10.0, 36.0, 40.0, 100.0, 700.0, 710.0, 1e3, 1e4)


def check_gradient(loss: str, activation: str, tolerance: float = 1e-12, fd_tolerance: float = 1e-6) -> dict:
    """Check the exported float64 gradient; return the errors, raise errors.GradientCheckError above tolerance.

    * against mpmath: the derived δ evaluated with enough digits for 50 significant
      ones at each z of ±SWEEP (up to |z| = 1e4) and targets {0, 1} (softmax: random
      logits scaled up to 1e4, labels); relative error where the true value is a
      normal float;
    * against central finite differences of the exported loss (h = 1e-6·max(1, |z|))
      where |z| ≤ 10, where differences are meaningful in float64.
    """
    import mpmath
    import numpy as np

    d = pairs.derive(loss, activation)
    loss_fn, grad_fn = codegen.functions(d.loss, d.activation)
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
        "max_rel_error_mpmath": rel,
        "max_abs_error_mpmath": absolute,
        "max_error_finite_differences": fd,
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


def _check_softmax(d, loss_fn, grad_fn, tolerance: float, fd_tolerance: float) -> dict:
    import mpmath
    import numpy as np

    rng = np.random.default_rng(0)
    worst_rel = worst_abs = worst_fd = 0.0
    for scale in (1.0, 30.0, 1e3, 1e4):
        z_ = rng.normal(size=(4, 5)) * scale
        labels = rng.integers(0, 5, size=4)
        got = grad_fn(z_, labels, reduction="none")
        for n in range(z_.shape[0]):
            with mpmath.workdps(60 + int(np.abs(z_[n]).max() * 0.9)):
                row = [mpmath.mpf(float(v)) for v in z_[n]]
                total = mpmath.fsum(mpmath.exp(v) for v in row)
                probs = [mpmath.exp(v) / total for v in row]
                if d.loss == "cross_entropy":
                    true = [p - (1 if k == labels[n] else 0) for k, p in enumerate(probs)]
                else:
                    r = [p - (1 if k == labels[n] else 0) for k, p in enumerate(probs)]
                    inner = mpmath.fsum(p * rk for p, rk in zip(probs, r, strict=True))
                    true = [p * rk - p * inner for p, rk in zip(probs, r, strict=True)]
                true_f = [float(t) for t in true]
            for gv, tv in zip(got[n], true_f, strict=True):
                if _normal(tv):
                    worst_rel = max(worst_rel, abs(gv - tv) / abs(tv))
                    worst_abs = max(worst_abs, abs(gv - tv))
    z_ = rng.normal(size=(3, 4))
    labels = rng.integers(0, 4, size=3)
    h = 1e-6
    fd = np.zeros_like(z_)
    for index in np.ndindex(z_.shape):
        step = np.zeros_like(z_)
        step[index] = h
        fd[index] = (loss_fn(z_ + step, labels, reduction="sum") - loss_fn(z_ - step, labels, reduction="sum")) / (
            2 * h
        )
    worst_fd = float(np.abs(fd - grad_fn(z_, labels, reduction="none")).max())
    return _report(f"{d.loss} softmax", worst_rel, worst_abs, worst_fd, tolerance, fd_tolerance)
