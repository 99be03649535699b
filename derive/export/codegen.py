"""Fast, numerically stable NumPy functions for every derived loss and gradient.

``module_source(loss, activation, backend)`` writes a standalone Python module
(it imports only numpy, or only jax for ``backend="jax"``, jit-compiled) with::

    loss(z, y, reduction="mean")    grad(z, y, reduction="mean")   # grad: dC/dz, shaped like z
    loss_and_grad(z, y, reduction="mean")                         # both, sharing the work

Scalar activations take z and y of shape (N,); softmax takes z of shape
(N, K) and y as integer labels (N,) or probabilities (N, K).  ``reduction``
is "mean" (the (1/n) Σ_x of the derivation), "sum" or "none".  float32 in,
float32 out.  The code is printed from the stable forms that ``derive.export.stable``
proved equal to the derived expressions, with common subexpressions computed
once; softmax sums over classes are axis reductions, never Python loops.
``to_numpy`` runs the same source, so what you test is what you export.
"""

from __future__ import annotations

import textwrap

import sympy as sp
from sympy.printing.numpy import NumPyPrinter

from derive import _version, catalog, errors
from derive.derivations import pairs
from derive.engine import steps
from derive.export import module_templates, stable

#: What each loss needs of its targets, checked at run time.
TARGET_RULES = {
    "bce": ("(y < 0) | (y > 1)", "y must lie in [0, 1]"),
    "poisson": ("y < 0", "y must be >= 0"),
}


class _Printer(NumPyPrinter):
    """NumPy code as a person writes it: np.maximum, np.abs, np.where, np.heaviside."""

    def __init__(self) -> None:
        super().__init__({"fully_qualified_modules": False, "inline": True})
        self.module_imports.clear()

    def _module_format(self, fqn: str, register: bool = True) -> str:
        return fqn.replace("numpy.", "np.")

    def _print_Max(self, expr):
        first, *rest = expr.args
        out = self._print(first)
        for arg in rest:
            out = f"np.maximum({out}, {self._print(arg)})"
        return out

    def _print_Abs(self, expr):
        return f"np.abs({self._print(expr.args[0])})"

    def _print_Piecewise(self, expr):
        *branches, (otherwise, always) = expr.args
        if always is not sp.true:
            raise NotImplementedError(expr)
        out = self._print(otherwise)
        for value, condition in reversed(branches):
            out = f"np.where({self._print(condition)}, {self._print(value)}, {out})"
        return out

    def _print_log1p_ratio(self, expr):
        u = self._print(expr.args[0])
        return f"np.where({u} > 0, np.log1p({u}) / np.where({u} > 0, {u}, 1), 1)"

    def _print_Heaviside(self, expr):
        return f"np.heaviside({self._print(expr.args[0])}, 0.5)"


def _body(exprs: list[sp.Expr], results: list[str]) -> list[str]:
    """Lines computing ``results[i] = exprs[i]`` with common subexpressions once."""
    printer = _Printer()
    names = sp.numbered_symbols("t")
    replacements, reduced = sp.cse(exprs, symbols=names, optimizations="basic")
    lines = [f"{name} = {printer.doprint(value)}" for name, value in replacements]
    used = [name for name in stable.TARGET_SHIFTS if any(e.has(name) for e in exprs)]
    shifts = [f"{name} = {printer.doprint(stable.TARGET_SHIFTS[name])}" for name in used]
    outs = [f"{result} = {printer.doprint(expr)}" for result, expr in zip(results, reduced, strict=True)]
    outs[-1] = outs[-1].replace(" = ", " = np.asarray(", 1) + ", dtype=z.dtype)" if results[-1] == "out" else outs[-1]
    return shifts + lines + outs


def _target_check(loss: str) -> str:
    if loss not in TARGET_RULES:
        return ""
    bad, message = TARGET_RULES[loss]
    return f'    if np.any({bad}):\n        raise ValueError("{message}")\n'


BACKENDS = ("numpy", "jax")


def module_source(loss: str, activation: str, backend: str = "numpy") -> str:
    """A standalone module (numpy only, or jax only) with ``loss``, ``grad`` and ``loss_and_grad``."""

    require_backend(backend)
    d = pairs.derive(loss, activation)
    if backend == "jax":
        return _jax_source(d, _version.__version__)
    if catalog.activation(d.activation).vector:
        return _softmax_source(d.loss, _version.__version__)
    forms = stable.stable_forms(d.loss, d.activation)
    indent = lambda lines: textwrap.indent("\n".join(lines), "        ")  # noqa: E731
    return module_templates.SCALAR_TEMPLATE.format(
        title=f"{d.loss} of {d.activation}: loss and gradient, numerically stable.",
        version=_version.__version__,
        loss=d.loss,
        activation=d.activation,
        cost=sp.sstr(forms.cost),
        grad=sp.sstr(forms.grad),
        target_check=_target_check(d.loss),
        loss_body=indent(_body([forms.cost], ["value"])),
        grad_body=indent(_body([forms.grad], ["out"])),
        both_body=indent(_body([forms.cost, forms.grad], ["value", "out"])),
    )


def _softmax_source(loss: str, version: str) -> str:
    forms = stable.softmax_forms(loss)
    text = "\n".join(f"    {name}: {sp.sstr(value)}" for name, value in forms.results.items())
    functions = module_templates.CE_FUNCTIONS if loss == "cross_entropy" else module_templates.QUADRATIC_FUNCTIONS
    return module_templates.SOFTMAX_TEMPLATE.format(loss=loss, version=version, forms=text, functions=functions)


def functions(loss: str, activation: str, backend: str = "numpy"):
    """(loss, grad) from the generated module, run in a fresh namespace."""
    namespace: dict[str, object] = {"__name__": f"derive_export_{loss}_{activation}_{backend}"}
    exec(compile(module_source(loss, activation, backend), namespace["__name__"], "exec"), namespace)  # noqa: S102
    return namespace["loss"], namespace["grad"]


def require_backend(backend: str) -> None:
    if backend not in BACKENDS:
        raise errors.InvalidOption(f"unsupported backend {backend!r}: choose one of {', '.join(BACKENDS)}")


# -- JAX backend ---------------------------------------------------------------------------------


def _jax_source(d, version: str) -> str:
    def header(title: str, forms: str) -> str:
        return (
            module_templates.JAX_HEADER.format(
                title=title, version=version, loss=d.loss, activation=d.activation, forms=forms
            )
            + module_templates.JAX_PUBLIC
        )

    if catalog.activation(d.activation).vector:
        results = stable.softmax_forms(d.loss).results
        text = "\n".join(f"    {name}: {sp.sstr(value)}" for name, value in results.items())
        functions = module_templates.JAX_CE if d.loss == "cross_entropy" else module_templates.JAX_QUADRATIC
        title = f"{d.loss} of softmax over K classes: loss and gradient (JAX)."
        return header(title, text) + module_templates.JAX_SOFTMAX.format(functions=functions)
    forms = stable.stable_forms(d.loss, d.activation)
    to_jax = lambda lines: textwrap.indent("\n".join(lines).replace("np.", "jnp."), "    ")  # noqa: E731
    text = f"    C(z, y) = {sp.sstr(forms.cost)}\n    dC/dz   = {sp.sstr(forms.grad)}"
    check = _target_check(d.loss).replace("if np.any(", "if bool(jnp.any(").replace("):\n", ")):\n", 1)
    title = f"{d.loss} of {d.activation}: loss and gradient, numerically stable (JAX)."
    return header(title, text) + module_templates.JAX_SCALAR.format(
        loss=d.loss,
        activation=d.activation,
        target_check=check,
        loss_body=to_jax(_body([forms.cost], ["value"])),
        grad_body=to_jax(_body([forms.grad], ["out"])),
    )


def to_numpy(d: steps.Derivation, backend: str = "numpy"):
    """(loss, grad) of a derivation: numerically stable functions ``f(z, y, reduction="mean")``.

    The same code ``derive export`` writes.  For softmax the functions take z of shape (N, K)
    for any K, labels (N,) or probabilities (N, K).
    """
    return functions(d.loss, d.activation, backend)
