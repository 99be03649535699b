"""The gradient check: exported gradients against mpmath and against finite differences.

``check_gradient(loss, activation)`` (and ``derive export ... --check``) evaluates
the derived delta with mpmath at enough digits for 50 significant ones on a sweep
of z up to |z| = 1e4, and central finite differences of the exported loss where
they are meaningful; it fails loudly above tolerance.  ``check_derivation(d)`` does
the same for a derivation with its options (label smoothing, class weights, explicit K).

The targets are the loss's own (:func:`targets`: hinge's labels ±1, bce's 0 and 1, the reals at
0, 1 and 3); parameters (α, κ, γ, ...) are checked at their defaults, or at the values given
by keyword (``parameters={"delta": 0.5}``), which are passed to the exported functions and
substituted into the mpmath reference.

``backend="jax"`` checks the JAX module (the code ``derive export --backend jax`` writes), run in
float64; without jax installed it raises :class:`~derive.errors.MissingDependency`.  The report's
numbers are plain Python floats.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import os
from collections.abc import Callable, Iterator, Mapping

import sympy as sp

from derive import errors
from derive.derivations import pairs
from derive.engine import steps
from derive.engine.notation import a, y, z
from derive.export import codegen, isolated

# -- gradient check ----------------------------------------------------------------------------

#: ε at which a symbolic label smoothing is checked.
CHECK_SMOOTHING = sp.Rational(3, 10)
SWEEP = (0.0, 1e-8, 1e-3, 0.5, 1.0, 3.0, 10.0, 36.0, 40.0, 100.0, 700.0, 710.0, 1e3, 1e4)
#: The targets of a loss whose targets are an interval: those of these values that lie in it (3: beyond
#: every output of sigmoid and tanh, so huber and smooth_l1 are checked on their clipped branches too).
TARGET_CANDIDATES = (0.0, 1.0, 3.0)
#: A point where the one-sided differences of the loss differ by more than this (relative) is a kink:
#: the loss has no derivative there, and the central difference is no reference for the subgradient.
KINK = 1e-3


def check_gradient(
    loss: str,
    activation: str,
    tolerance: float = 1e-12,
    fd_tolerance: float = 1e-6,
    backend: str = "numpy",
    parameters: Mapping[str, float] | None = None,
) -> dict:
    """Check the exported float64 gradient; return the errors, raise errors.GradientCheckError above tolerance.

    * against mpmath: the derived δ evaluated until two working precisions agree (from
      60 + |z| digits) at each z of ±SWEEP (up to |z| = 1e4) and each of the loss's
      :func:`targets` (softmax: random logits scaled up to 1e4, labels); relative error
      where the true value is a normal float;
    * against central finite differences of the exported loss (h = 1e-6·max(1, |z|))
      where |z| ≤ 10, where differences are meaningful in float64, away from kinks
      (points where the one-sided differences disagree: no derivative to compare).

    ``parameters`` maps keywords of the exported functions (``negative_slope``, ``delta``) to values;
    the others are checked at their defaults.
    """
    return check_derivation(pairs.derive(loss, activation), tolerance, fd_tolerance, backend, parameters)


def check_derivation(
    d: steps.Derivation,
    tolerance: float = 1e-12,
    fd_tolerance: float = 1e-6,
    backend: str = "numpy",
    parameters: Mapping[str, float] | None = None,
    path: str | os.PathLike | None = None,
) -> dict:
    """:func:`check_gradient` of the code exported from ``d`` for ``backend``, options included.

    A symbolic label smoothing is checked at ε = CHECK_SMOOTHING; class weights are drawn in [1/2, 2].
    ``path``: the module file ``derive export`` wrote from ``d``, which is then what is checked, run in
    a process where only its framework can be imported (:mod:`derive.export.isolated`); without it,
    the module's source runs in this process.
    """
    _require_tolerances(tolerance, fd_tolerance)
    codegen.require_backend(backend)
    values = parameter_values(d, parameters)
    if path is not None:
        with isolated.ModuleProcess(path, backend) as module:
            report = _check(d, module.function("loss"), module.function("grad"), tolerance, fd_tolerance, values)
        return {**report, "backend": backend, "isolated": True}
    with _precision(backend):
        report = _check(d, *_functions(d, backend), tolerance, fd_tolerance, values)
    return {**report, "backend": backend}


def targets(loss_cls: type) -> tuple[float, ...]:
    """The targets a loss is checked at: its labels (hinge: −1 and 1), or TARGET_CANDIDATES in its range."""
    domain = loss_cls.y_domain
    if isinstance(domain, sp.FiniteSet):
        return tuple(float(v) for v in sorted(domain))
    return tuple(v for v in TARGET_CANDIDATES if domain.contains(v) == sp.true)


def parameter_values(d: steps.Derivation, given: Mapping[str, float] | None = None) -> dict[str, float]:
    """keyword → value of every parameter of ``d``: the given one, else the default, else one in the domain.

    errors.InvalidOption for a keyword ``d`` does not have or a value outside its parameter's domain.
    """
    given = dict(given or {})
    known = {p.keyword: p for p in d.parameters}
    unknown = sorted(set(given) - set(known))
    if unknown:
        have = ", ".join(known) or "none"
        raise errors.InvalidOption(f"{d.loss} ∘ {d.activation} has no parameter {', '.join(unknown)} (it has: {have})")
    values = {}
    for keyword, p in known.items():
        value = given.get(keyword, p.default)
        if value is None:
            value = next((v for v in (1.0, 0.5, 2.0, 0.0, -1.0) if p.domain.contains(v) == sp.true), None)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or p.domain.contains(value) != sp.true:
            raise errors.InvalidOption(f"{keyword} must be a number in {p.domain}, not {value!r}")
        values[keyword] = float(value)
    return values


def require_framework(backend: str) -> None:
    """errors.MissingDependency unless the framework of ``backend`` (jax, torch) can be imported."""
    if backend == "numpy":
        return
    try:
        importlib.import_module(backend)
    except ImportError as exc:
        raise errors.MissingDependency(
            f"{backend} is not installed ({exc}): checking the {backend} module needs it (pip install {backend}), "
            "or check the NumPy module (--backend numpy)"
        ) from None


@contextlib.contextmanager
def _precision(backend: str) -> Iterator[None]:
    """float64 for JAX (its default is float32) while the check runs; nothing for NumPy and torch (which keep
    the float64 of the inputs)."""
    require_framework(backend)
    if backend != "jax":
        yield
        return
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


def _check(
    d: steps.Derivation, loss_fn: Callable, grad_fn: Callable, tolerance: float, fd_tolerance: float, values: dict
) -> dict:
    import numpy as np

    if d.activation_function.vector:
        return _check_softmax(d, loss_fn, grad_fn, tolerance, fd_tolerance)
    zs = np.array(sorted({s * v for v in SWEEP for s in (1, -1)}))
    reference = _mpmath_delta(d, values)
    worst_rel = worst_abs = worst_fd = 0.0
    for target in targets(d.loss_function):
        ys = np.full_like(zs, target)
        with np.errstate(over="ignore"):
            got = grad_fn(zs, ys, reduction="none", **values)
        for zv, gv in zip(zs, got, strict=True):
            true_f = _settled(reference, float(zv), target)
            if _normal(true_f):
                worst_rel = max(worst_rel, abs(gv - true_f) / abs(true_f))
                worst_abs = max(worst_abs, abs(gv - true_f))
        small = zs[(np.abs(zs) <= 10) & (np.abs(zs) > 1e-6)]  # away from relu's kink at 0
        h = 1e-6 * np.maximum(1.0, np.abs(small))
        up, mid, down = (loss_fn(small + s, ys[: small.size], reduction="none", **values) for s in (h, 0, -h))
        fd = (up - down) / (2 * h)
        smooth = np.abs((up - mid) - (mid - down)) / h <= KINK * np.maximum(1.0, np.abs(fd))
        fd_ok = np.abs(fd - grad_fn(small, ys[: small.size], reduction="none", **values)) / np.maximum(1.0, np.abs(fd))
        worst_fd = max(worst_fd, float(fd_ok[smooth].max(initial=0.0)))
    report = _report(_scalar_name(d, values), worst_rel, worst_abs, worst_fd, tolerance, fd_tolerance)
    return {**report, "parameters": dict(values)}


def _scalar_name(d: steps.Derivation, values: dict) -> str:
    """``huber sigmoid`` and its parameters: ``(delta=0.5)``."""
    shown = ", ".join(f"{keyword}={value!r}" for keyword, value in values.items())
    return f"{d.loss} {d.activation}" + (f" ({shown})" if shown else "")


def _settled(reference: Callable, zv: float, target: float) -> float:
    """The reference at (z, y) as a float: from 60 + |z| digits, with more until two working precisions agree.

    60 + |z| digits resolve every cancellation of e^{−|z|} size (1 − σ(z), a step at 1 − e^{−|z|});
    agreement with a quarter more digits confirms the value.  A value that stays exactly 0 is taken for
    0 from MIN_ZERO_DIGITS on (a cancellation to 0 at too few digits is not), one that stays below every
    float (< 1e-330) from 400 digits on; NaN and a division by 0 at too few digits are tried again with
    twice the digits.
    """
    import mpmath

    digits, previous = 60 + int(abs(zv)), None
    while digits <= MAX_DIGITS:
        with mpmath.workdps(digits):
            try:
                value = reference(mpmath.mpf(zv), mpmath.mpf(target))
            except ZeroDivisionError:  # a denominator that cancels to 0 at too few digits (ln(1 + e^z))
                value = mpmath.nan
            if previous is not None:
                if value != 0 and abs(value - previous) <= mpmath.mpf(10) ** -30 * abs(value):
                    return float(value)
                if value == 0 == previous and digits >= MIN_ZERO_DIGITS:
                    return 0.0
                if digits >= 400 and max(abs(value), abs(previous)) < mpmath.mpf(10) ** -330:
                    return 0.0  # below every float: nothing to compare
        confirm = previous is None and not mpmath.isnan(value) and value != 0
        previous, digits = value, digits + digits // 4 + 20 if confirm else 2 * digits
    raise errors.GradientCheckError(f"the mpmath reference at z = {zv}, y = {target} does not settle")


MIN_ZERO_DIGITS = 1200
MAX_DIGITS = 60_000


def _normal(value: float) -> bool:
    import math

    return math.isfinite(value) and abs(value) >= 2.2250738585072014e-308


def _mpmath_delta(d: steps.Derivation, values: Mapping[str, float]) -> Callable:
    """δ as an mpmath function of (z, y): the derived expression in z, fully elementary, parameters substituted.

    Each parameter is the exact binary value of the float the exported code is given.
    """
    act = d.activation_function
    exact = {p.symbol: sp.Rational(values[p.keyword]) for p in d.parameters}
    expr = d.delta.subs(a, act.elementary(z)).rewrite("elementary").xreplace(exact)
    return sp.lambdify((z, y), expr, [_CACHED, "mpmath"])


def _remembered(name: str) -> Callable:
    """mpmath's ``name`` remembering its values at each working precision (tanh(z) once for every target)."""
    import mpmath

    function = getattr(mpmath, name)
    at = functools.lru_cache(maxsize=1024)(lambda x, prec: function(x))
    return lambda x: at(x, mpmath.mp.prec)


_CACHED = {name: _remembered(name) for name in ("exp", "log", "tanh", "erf", "erfc", "sinh", "cosh")}


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
    if d.loss in ("cross_entropy", "kl_div"):  # the same δ: a_j Σ_k ω_k t_k − ω_j t_j
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
