"""Fast, numerically stable NumPy functions for every derived loss and gradient.

``module_source(d, backend)`` writes a standalone Python module for the derivation
``d = derive.derive(loss, activation, ...)`` (it imports only numpy, or only jax for
``backend="jax"``, jit-compiled) with::

    loss(z, y, reduction="mean")    grad(z, y, reduction="mean")   # grad: dC/dz, shaped like z
    loss_and_grad(z, y, reduction="mean")                         # both, sharing the work

Scalar activations take z and y of shape (N,); softmax takes z of shape
(N, K) and y as integer labels (N,) or probabilities (N, K).  ``reduction``
is "mean" (the (1/n) Σ_x of the derivation), "sum" or "none".  float32 in,
float32 out.  The code is printed from the stable forms that ``derive.export.stable``
proved equal to the derived expressions, with common subexpressions computed
once; softmax sums over classes are axis reductions, never Python loops.

The derivation's options come along (``d.options``): for cross-entropy ∘ softmax a
numeric label smoothing ε is built in (targets (1 − ε)·y + ε/K, K = z.shape[1], labels
one-hot first), a symbolic ε becomes the required keyword ``label_smoothing``, class
weights the required keyword ``class_weights`` (shape (K,)); an explicit K is checked
against z.shape[1].  ``to_numpy(d)`` and ``functions(d)`` run the same source, so what
you test is what you export.

Scalar pairs: the pairs of ``stable.SCALAR`` print their hand-written forms; every other pair
(user formulas included) the forms composed of proven pieces (``derive.export.composed``).  The
parameters of the pair (α of leaky_relu, κ of huber, ...) are keyword-only arguments named by
``Parameter.keyword`` with ``Parameter.default`` as default (required when it is None), checked at
run time against ``Parameter.domain``; targets y are checked against the loss's ``y_domain``
(``derive.export.keywords``).  GELU's Φ is printed through erfc: SciPy's in the NumPy module when
SciPy is importable (else math.erfc elementwise; the module's ERFC says which), JAX's in the JAX one.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable

import sympy as sp
from sympy.printing.numpy import NumPyPrinter
from sympy.printing.precedence import precedence

from derive import _version, catalog, errors
from derive.engine import steps
from derive.export import activation_pieces, composed, inplace, keywords, module_templates, option_templates, stable

#: np.errstate of the scalar functions: np.where computes both branches, and one of them may divide by 0,
#: be invalid or (for the pairs outside stable.SCALAR, whose forms clip and branch more) overflow.
ERRSTATE = 'divide="ignore", invalid="ignore"'
ERRSTATE_BRANCHES = 'divide="ignore", invalid="ignore", over="ignore"'


class _Printer(NumPyPrinter):
    """NumPy code as a person writes it: np.maximum, np.abs, np.where, np.heaviside."""

    def __init__(self) -> None:
        super().__init__({"fully_qualified_modules": False, "inline": True})
        self.module_imports.clear()

    def _module_format(self, fqn: str, register: bool = True) -> str:
        return fqn.replace("numpy.", "np.")

    def _print_Symbol(self, expr):
        return keywords.python_name(expr.name)

    def _print_Max(self, expr):
        first, *rest = expr.args
        out = self._print(first)
        for arg in rest:
            out = f"np.maximum({out}, {self._print(arg)})"
        return out

    def _print_Abs(self, expr):
        return f"np.abs({self._print(expr.args[0])})"

    def _branch(self, value) -> str:
        """A value of a where(): as printed (a number broadcasts)."""
        return self._print(value)

    def _print_Piecewise(self, expr):
        *branches, (otherwise, always) = expr.args
        if always is not sp.true:
            raise NotImplementedError(expr)
        where = self._module_format("numpy.where")
        out = self._branch(otherwise)
        for value, condition in reversed(branches):
            out = f"{where}({self._print(condition)}, {self._branch(value)}, {out})"
        return out

    def _print_log1p_ratio(self, expr):
        u, one = self._print(expr.args[0]), self._branch(sp.S.One)
        where, log1p = self._module_format("numpy.where"), self._module_format("numpy.log1p")
        return f"{where}({u} > 0, {log1p}({u}) / {where}({u} > 0, {u}, {one}), {one})"

    def _print_Heaviside(self, expr):
        return f"np.heaviside({self._print(expr.args[0])}, 0.5)"

    def _print_Min(self, expr):
        first, *rest = expr.args
        out = self._print(first)
        for arg in rest:
            out = f"np.minimum({out}, {self._print(arg)})"
        return out

    def _print_Phi(self, expr):
        """Φ(x) = erfc(−x/√2)/2 through ``_erfc`` (the module's erfc: SciPy's, math.erfc, or JAX's)."""
        x = self.parenthesize(expr.args[0], precedence(sp.Mul(2, 3, evaluate=False)))
        return f"(_erfc({-(0.5**0.5)!r} * {x}) / 2)"

    def _print_exp_times(self, expr):
        """g·h·h with h = e^{x/2}, as (g·h)·h: no overflow of e^x before the product overflows."""
        g, h = (self._print(arg) for arg in expr.args)
        return f"(({g}) * {h} * {h})"

    def _print_Float(self, expr):
        return repr(float(expr))

    def _print_Pow(self, expr, rational=False):
        """x**2 … x**4 as products, x**-1 … x**-4 as 1/products: NumPy's pow is 3-5 times a multiply.

        (Rounding: a product of n factors is within n ulp of the power; the gradient check holds both
        to 1e-12 of mpmath.)"""
        exponent = expr.exp
        if exponent.is_Integer and (2 <= abs(int(exponent)) <= 4 or exponent == -1):
            base = self.parenthesize(expr.base, precedence(sp.Mul(2, 3, evaluate=False)), strict=True)
            product = "*".join([base] * abs(int(exponent)))
            return f"({product})" if exponent > 0 else f"(1/({product}))"
        return super()._print_Pow(expr, rational=rational)


class _TorchPrinter(_Printer):
    """PyTorch code from the same forms: torch.where, torch.clamp_min, comparisons as operators.

    A number where torch wants a tensor (a branch of torch.where, an argument of torch.maximum) is a
    0-d tensor of z's dtype and device, so float64 stays float64.  A NumPy function without a torch
    name here raises NotImplementedError: nothing is printed that torch would not run.
    """

    NAMES = {
        "numpy.exp": "torch.exp",
        "numpy.log": "torch.log",
        "numpy.log1p": "torch.log1p",
        "numpy.expm1": "torch.expm1",
        "numpy.tanh": "torch.tanh",
        "numpy.sinh": "torch.sinh",
        "numpy.cosh": "torch.cosh",
        "numpy.sqrt": "torch.sqrt",
        "numpy.abs": "torch.abs",
        "numpy.sign": "torch.sign",
        "numpy.where": "torch.where",
    }
    RELATIONS = {"==": "==", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}

    def _module_format(self, fqn: str, register: bool = True) -> str:
        if fqn not in self.NAMES:
            raise NotImplementedError(f"no torch function for {fqn}")
        return self.NAMES[fqn]

    def _branch(self, value) -> str:
        """A value of torch.where: a number as a 0-d tensor of z's dtype and device."""
        return f"z.new_tensor({float(value)!r})" if value.is_number else self._print(value)

    def _print_Relational(self, expr):
        return f"({self._print(expr.lhs)} {self.RELATIONS[expr.rel_op]} {self._print(expr.rhs)})"

    def _print_And(self, expr):
        return "(" + " & ".join(self._print(arg) for arg in expr.args) + ")"

    def _print_Or(self, expr):
        return "(" + " | ".join(self._print(arg) for arg in expr.args) + ")"

    def _print_Not(self, expr):
        return f"(~{self._print(expr.args[0])})"

    def _extremum(self, expr, name: str, clamp: str) -> str:
        numbers = [arg for arg in expr.args if arg.is_number]
        others = [arg for arg in expr.args if not arg.is_number]
        out = self._print(others[0])
        for arg in others[1:]:
            out = f"torch.{name}({out}, {self._print(arg)})"
        if numbers:
            bound = max(numbers) if name == "maximum" else min(numbers)
            out = f"torch.{clamp}({out}, {float(bound)!r})"
        return out

    def _print_Max(self, expr):
        return self._extremum(expr, "maximum", "clamp_min")

    def _print_Min(self, expr):
        return self._extremum(expr, "minimum", "clamp_max")

    def _print_Heaviside(self, expr):
        return f"torch.heaviside({self._print(expr.args[0])}, z.new_tensor(0.5))"

    def _print_Abs(self, expr):
        return f"torch.abs({self._print(expr.args[0])})"


def _numbers(expr: sp.Expr) -> sp.Expr:
    """Irrational constants (√2, π, ln 2) as float literals: np.sqrt(2) is a float64 and would widen float32."""
    return expr.replace(lambda e: e.is_number and not e.is_Rational and e.is_real, lambda e: sp.Float(e.evalf(30), 30))


def _body(
    exprs: list[sp.Expr], results: list[str], definitions: tuple = (), cast_all: bool = False, backend: str = "numpy"
) -> list[str]:
    """Lines computing ``results[i] = exprs[i]`` with common subexpressions once.

    ``definitions`` are (symbol, value) that ``exprs`` use (the residual a − y), each computed as soon
    as what it needs is; ``cast_all`` casts every result to z's dtype, not only ``out``.  ``backend``
    "numpy" writes the operations into reused buffers (``derive.export.inplace``), "jax" prints
    expressions (for jnp), "torch" writes PyTorch operations into reused buffers and "torch_graph"
    prints them as expressions (:class:`_TorchPrinter`; autograd can differentiate those), each
    result a tensor shaped like z.
    """
    torch = backend in ("torch", "torch_graph")
    printer = _TorchPrinter() if torch else _Printer()
    names = sp.numbered_symbols("t")
    defined = [(str(name), _numbers(value)) for name, value in definitions]
    values = [value for _, value in defined] + [_numbers(e) for e in exprs]
    if backend in ("numpy", "torch"):
        values = inplace.mask_free(values)
    replacements, reduced = sp.cse(values, symbols=names, optimizations="basic")
    targets = [name for name, _ in defined] + list(results)
    shifts_of = {**stable.TARGET_SHIFTS, **activation_pieces.PARAMETER_SHIFTS}
    used = [name for name in shifts_of if any(e.has(name) for e in values)]
    pending = [(str(name), value) for name, value in replacements] + list(zip(targets, reduced, strict=True))
    if backend in ("numpy", "torch"):
        cast = {"out", "value"} if cast_all or torch else {"out"}
        program = [(str(name), shifts_of[name]) for name in used] + _in_order(pending)
        shift_names = {str(name) for name in used}
        dialect = inplace.Torch() if torch else inplace.NumPy()
        lines = inplace.statements(program, printer.doprint, {"z", "y"}, set(results), cast, shift_names, dialect)
    else:
        lines = [f"{name} = {printer.doprint(shifts_of[name])}" for name in used]
        for name, value in _in_order(pending):
            line = f"{name} = {printer.doprint(value)}"
            if torch and name in ("out", "value"):
                line = line.replace(" = ", " = _like(", 1) + ", z)"
            elif name == "out" or (cast_all and name == "value"):
                line = line.replace(" = ", " = np.asarray(", 1) + ", dtype=z.dtype)"
            lines.append(line)
    if torch and any("np." in line for line in lines if not line.lstrip().startswith("#")):
        raise NotImplementedError(f"a NumPy call left in the torch code: {[x for x in lines if 'np.' in x]}")
    return lines


def _in_order(pending: list[tuple[str, sp.Expr]]) -> list[tuple[str, sp.Expr]]:
    """The assignments in their order, each moved after the ones it uses (a definition before its users)."""
    names = {name for name, _ in pending}
    done: set[str] = set()
    out = []
    while pending:
        ready = [i for i, (_, value) in enumerate(pending) if {str(s) for s in value.free_symbols} & names <= done]
        if not ready:
            raise errors.ProofError(f"the stable forms use each other in a circle: {pending}")
        out.append(pending.pop(ready[0]))
        done.add(out[-1][0])
    return out


def _probability_check(d: steps.Derivation, backend: str) -> str:
    """Lines of the softmax ``_inputs`` that hold probabilities y to the loss's targets ([0, 1] for cross-entropy).

    NumPy and torch; the JAX module compiles its checks with the result (:func:`_jax_probability_fields`).
    """
    y_domain = d.loss_function.y_domain
    if y_domain == sp.S.Reals:
        return ""
    low, high = y_domain.inf, y_domain.sup
    outside = f"(y < {low}) | (y > {high})"
    error = f'raise ValueError("probabilities y must lie in [{low}, {high}]")\n'
    if backend == "torch":
        return f"    if bool(({outside}).any()):\n        {error}"
    return f"        if np.any({outside}):\n            {error}"


def _jax_probability_fields(d: steps.Derivation) -> dict[str, str]:
    """``probability_failed`` and ``probability_message`` of a JAX softmax module (y to the loss's targets)."""
    y_domain = d.loss_function.y_domain
    if y_domain == sp.S.Reals:
        return {"probability_failed": "", "probability_message": ""}
    low, high = y_domain.inf, y_domain.sup
    return {
        "probability_failed": f", (y.min(initial={low}) < {low}) | (y.max(initial={low}) > {high})",
        "probability_message": f', "probabilities y must lie in [{low}, {high}]"',
    }


BACKENDS = ("numpy", "jax", "torch")
#: The softmax functions without options, by loss (cross-entropy with options: ``option_templates``).
SOFTMAX_FUNCTIONS = {
    "cross_entropy": module_templates.CE_FUNCTIONS,
    "kl_div": module_templates.KL_FUNCTIONS,
    "quadratic": module_templates.QUADRATIC_FUNCTIONS,
}
TORCH_SOFTMAX_FUNCTIONS = {
    "cross_entropy": module_templates.TORCH_CE,
    "kl_div": module_templates.TORCH_KL,
    "quadratic": module_templates.TORCH_QUADRATIC,
}
JAX_SOFTMAX_FUNCTIONS = {
    "cross_entropy": module_templates.JAX_CE,
    "kl_div": module_templates.JAX_KL,
    "quadratic": module_templates.JAX_QUADRATIC,
}


def module_source(d: steps.Derivation, backend: str = "numpy") -> str:
    """A standalone module (numpy only, or jax only) with ``loss``, ``grad`` and ``loss_and_grad`` of ``d``.

    ``d`` is a derivation (``derive.derive(loss, activation, ...)``); its options are part of the
    module (see the module docstring).  Raises :class:`~derive.errors.InvalidOption` for an unknown
    backend or when ``d`` is not a Derivation.
    """
    _require_derivation(d)
    require_backend(backend)
    if backend == "jax":
        return _jax_source(d, _version.__version__)
    if backend == "torch":
        return _torch_source(d, _version.__version__)
    if d.activation_function.vector:
        return _softmax_source(d, _version.__version__)
    forms = composed.stable_forms_of(d)
    params, legacy = d.parameters, composed.legacy(d)
    indent = lambda lines: textwrap.indent("\n".join(lines), "        ")  # noqa: E731
    body = lambda exprs, results: indent(_body(exprs, results, forms.definitions, not legacy))  # noqa: E731
    erfc = _uses_erfc(forms)
    return module_templates.SCALAR_TEMPLATE.format(
        title=f"{d.loss} of {d.activation}: loss and gradient, numerically stable.",
        version=_version.__version__,
        source=_source(d),
        stability=_stability(d),
        loss=d.loss,
        activation=d.activation,
        cost=sp.sstr(forms.cost),
        grad=sp.sstr(forms.grad),
        definitions=_definitions_doc(forms),
        depends=keywords.ERFC_DOC if erfc else "Depends on numpy only.",
        parameters_doc=keywords.documentation(params),
        erfc=keywords.NUMPY_ERFC if erfc else "",
        helpers=keywords.helpers(params, "numpy"),
        signature=keywords.signature(params),
        bind=keywords.bind(params),
        errstate=ERRSTATE if legacy else ERRSTATE_BRANCHES,
        target_check=keywords.target_check(d.loss_function.y_domain),
        loss_body=body([forms.cost], ["value"]),
        grad_body=body([forms.grad], ["out"]),
        both_body=body([forms.cost, forms.grad], ["value", "out"]),
    )


def _uses_erfc(forms: stable.Stable) -> bool:
    return any(e.has(stable.Phi) for e in (forms.cost, forms.grad, *(v for _, v in forms.definitions)))


def _definitions_doc(forms: stable.Stable) -> str:
    """The docstring lines of the residual and margin the forms use (computed first)."""
    return "".join(f"    {name} = {sp.sstr(value)}\n" for name, value in forms.definitions)


def _softmax_source(d: steps.Derivation, version: str) -> str:
    text = _forms_text(stable.softmax_forms_of(d))
    if _has_options(d):
        parts = _option_code(d, "numpy")
        functions = (parts.pop("validators") + option_templates.NUMPY_CE).format(**parts)
    else:
        functions = SOFTMAX_FUNCTIONS[d.loss]
    return module_templates.SOFTMAX_TEMPLATE.format(
        loss=d.loss,
        version=version,
        forms=text,
        functions=functions,
        options_doc=_options_doc(d),
        constants=_constants(d),
        classes_check=_classes_check(d),
        probability_check=_probability_check(d, "numpy"),
    )


def functions(d: steps.Derivation, backend: str = "numpy") -> tuple[Callable, Callable]:
    """(loss, grad) of the module ``module_source(d, backend)`` writes, run in a fresh namespace."""
    source = module_source(d, backend)
    name = f"derive_export_{d.loss}_{d.activation}_{backend}"
    namespace: dict[str, object] = {"__name__": name}
    exec(compile(source, name, "exec"), namespace)  # noqa: S102 - our own generated source
    return namespace["loss"], namespace["grad"]


def require_backend(backend: str) -> None:
    """errors.InvalidOption unless ``backend`` is one of BACKENDS."""
    if backend not in BACKENDS:
        raise errors.InvalidOption(f"unsupported backend {backend!r}: choose one of {', '.join(BACKENDS)}")


def _require_derivation(d: object) -> None:
    if not isinstance(d, steps.Derivation):
        raise errors.InvalidOption(
            f"export takes a Derivation, derive.derive(loss, activation, ...), not {type(d).__name__} {d!r}"
        )


# -- the derivation's options ---------------------------------------------------------------------


def _has_options(d: steps.Derivation) -> bool:
    """True when the loss has ε or ω to carry (cross-entropy ∘ softmax with label smoothing or weights)."""
    return d.options.label_smoothing is not None or d.options.class_weights


def _keywords(d: steps.Derivation) -> list[str]:
    """The required keyword arguments of the exported functions."""
    o = d.options
    return [name for name, on in (("label_smoothing", o.symbolic_smoothing), ("class_weights", o.class_weights)) if on]


def _option_code(d: steps.Derivation, backend: str) -> dict[str, str]:
    """The fields of ``option_templates.*_CE`` for ε and ω of ``d``, plus the validators they call."""
    o, numpy = d.options, backend == "numpy"
    templates = (option_templates.NUMPY_SMOOTHING, option_templates.NUMPY_WEIGHTS)
    if not numpy:
        templates = (option_templates.JAX_SMOOTHING, option_templates.JAX_WEIGHTS)
    if o.label_smoothing is None:
        epsilon = "epsilon = z.dtype.type(0)" if numpy else "epsilon = jnp.zeros((), dtype=z.dtype)"
    elif o.symbolic_smoothing:
        epsilon = "epsilon = _label_smoothing(label_smoothing, z.dtype)"
    else:
        epsilon = (
            "epsilon = z.dtype.type(LABEL_SMOOTHING)" if numpy else "epsilon = jnp.asarray(LABEL_SMOOTHING, z.dtype)"
        )
    if o.class_weights:
        weights = "weights = _class_weights(class_weights, z)"
    else:
        weights = f"weights = {'np' if numpy else 'jnp'}.ones(z.shape[1], dtype=z.dtype)"
    names = _keywords(d)
    return {
        "validators": (templates[0] if o.symbolic_smoothing else "") + (templates[1] if o.class_weights else ""),
        "parameters": "".join(f", {name}" for name in names),
        "arguments": "".join(f", {name}" for name in names),
        "signature": ", *, " + ", ".join(names) if names else "",
        "epsilon": epsilon,
        "weights": weights,
    }


def _constants(d: steps.Derivation) -> str:
    """``LABEL_SMOOTHING = p / q`` for a numeric ε, the exact rational of the derivation."""
    eps = d.options.label_smoothing
    if eps is None or d.options.symbolic_smoothing:
        return ""
    value = f"{eps.p}" if eps.q == 1 else f"{eps.p} / {eps.q}"
    return f"\nLABEL_SMOOTHING = {value}  # ε of the derivation, exactly {eps}"


def _classes_check(d: steps.Derivation) -> str:
    """Lines of ``_inputs`` that hold z to the explicit K of the derivation (none for a symbolic K)."""
    k = d.options.classes
    if k is None:
        return ""
    message = f"z must have {k} columns, the K = {k} classes of the derivation, not " + "{z.shape[1]}"
    return f'    if z.shape[1] != {k}:\n        raise ValueError(f"{message}")\n'


def _user_formula(d: steps.Derivation) -> bool:
    """Whether the loss or the activation of ``d`` is a user formula (not one of the catalog's)."""
    return not (catalog.built_in(d.loss_function) and catalog.built_in(d.activation_function))


def _source(d: steps.Derivation) -> str:
    """What the module was generated from: the command that shows it, or the user formulas."""
    if _user_formula(d):
        return f"of {d.loss} ∘ {d.activation} (a user formula)"
    return f"`derive show {d.loss} {d.activation}`"


def _stability(d: steps.Derivation) -> str:
    """The docstring's sentence on how far the forms are stable (a user formula is printed as written)."""
    if _user_formula(d):
        text = (
            "A user formula is printed as written: the catalog functions inside it (sigmoid, softplus, ...) "
            "take their stable forms, but the formula itself may overflow, underflow or cancel in far tails; "
            "`derive export --check` measures the error there."
        )
        return textwrap.fill(text, 80)
    return (
        "The forms above are the stable ones (E = exp(-|z|) never overflows), proven\n"
        "equal to the naive derived expressions for z > 0 and z < 0."
    )


def _options_doc(d: steps.Derivation) -> str:
    """The paragraph of the module docstring on ε, ω and K."""
    o, notes = d.options, []
    targets = "the targets ỹ = (1 − ε)·y + ε/K with K = z.shape[1] (labels y are one-hot first)"
    if o.symbolic_smoothing:
        notes.append(f"label_smoothing (a required keyword): ε in [0, 1) of {targets}.")
    elif o.label_smoothing is not None:
        notes.append(f"Label smoothing ε = {o.label_smoothing} is built in: {targets}.")
    if o.class_weights:
        notes.append(
            "class_weights (a required keyword): ω of shape (K,), finite and >= 0, in C = −Σ_k ω_k ỹ_k ln a_k; "
            'reduction="mean" divides by N (the (1/n) Σ_x of the derivation), not by a sum of weights.'
        )
    if o.classes is not None:
        notes.append(f"The derivation has K = {o.classes} classes: z must have {o.classes} columns.")
    return "".join("\n" + textwrap.fill(note, 88) + "\n" for note in notes)


def _forms_text(forms: steps.Trace) -> str:
    return "\n".join(f"    {name}: {sp.sstr(value)}" for name, value in forms.results.items())


# -- JAX backend ---------------------------------------------------------------------------------


def _jax_source(d: steps.Derivation, version: str) -> str:
    def header(title: str, forms: str, public: str = module_templates.JAX_PUBLIC, imports: str = "") -> str:
        fields = {"title": title, "version": version, "source": _source(d), "forms": forms, "gradients": gradients}
        doc = {"options_doc": _options_doc(d) + keywords.documentation(d.parameters), "constants": _constants(d)}
        return module_templates.JAX_HEADER.format(**fields, **doc, imports=imports) + public

    gradients = JAX_GRADIENTS["softmax" if d.activation_function.vector else "scalar"]
    if d.activation_function.vector:
        text = _forms_text(stable.softmax_forms_of(d))
        title = f"{d.loss} of softmax over K classes: loss and gradient (JAX)."
        check = _classes_check(d)
        if _has_options(d):
            parts = _option_code(d, "jax")
            functions = (parts.pop("validators") + option_templates.JAX_CE).format(**parts)
            return header(title, text, public="") + module_templates.JAX_SOFTMAX.format(
                functions=functions, classes_check=check, **_jax_probability_fields(d)
            )
        functions = JAX_SOFTMAX_FUNCTIONS[d.loss] + module_templates.JAX_BOTH
        return header(title, text) + module_templates.JAX_SOFTMAX.format(
            functions=functions, classes_check=check, **_jax_probability_fields(d)
        )
    forms = composed.stable_forms_of(d)
    params, legacy = d.parameters, composed.legacy(d)
    to_jax = lambda lines: textwrap.indent("\n".join(lines).replace("np.", "jnp."), "    ")  # noqa: E731
    body = lambda exprs, results: to_jax(_body(exprs, results, forms.definitions, not legacy, "jax"))  # noqa: E731
    text = f"    C(z, y) = {sp.sstr(forms.cost)}\n    dC/dz   = {sp.sstr(forms.grad)}\n{_definitions_doc(forms)}"
    text = text.rstrip("\n")
    title = f"{d.loss} of {d.activation}: loss and gradient, numerically stable (JAX)."
    public = module_templates.JAX_PUBLIC
    if params:
        fields = {"signature": keywords.signature(params), "arguments": keywords.arguments(params)}
        public = module_templates.JAX_PUBLIC_PARAMETERS.format(**fields)
    imports = keywords.JAX_ERFC if _uses_erfc(forms) else ""
    return header(title, text, public, imports) + module_templates.JAX_SCALAR.format(
        loss=d.loss,
        activation=d.activation,
        **keywords.jax_target_fields(d.loss_function.y_domain),
        helpers=keywords.helpers(params, "jax"),
        parameters="".join(f", {p.symbol.name}" for p in params),
        reduction_index=2 + len(params),
        loss_body=body([forms.cost], ["value"]),
        grad_body=body([forms.grad], ["out"]),
    )


# -- PyTorch backend -------------------------------------------------------------------------------


def _torch_source(d: steps.Derivation, version: str) -> str:
    """The PyTorch module of a pair (softmax with label smoothing or class weights: errors.InvalidOption)."""
    if d.activation_function.vector:
        return _torch_softmax_source(d, version)
    forms = composed.stable_forms_of(d)
    params, legacy = d.parameters, composed.legacy(d)
    indent = lambda lines, spaces: textwrap.indent("\n".join(lines), " " * spaces)  # noqa: E731
    body = lambda exprs, results: _body(exprs, results, forms.definitions, not legacy, "torch")  # noqa: E731
    names = [keywords.python_name(p.symbol.name) for p in params]
    return module_templates.TORCH_SCALAR.format(
        title=f"{d.loss} of {d.activation}: loss and gradient, numerically stable (PyTorch).",
        version=version,
        source=_source(d),
        cost=sp.sstr(forms.cost),
        grad=sp.sstr(forms.grad),
        definitions=_definitions_doc(forms),
        parameters_doc=keywords.documentation(params),
        target_check=keywords.target_check(d.loss_function.y_domain, "torch"),
        helpers=keywords.helpers(params, "torch"),
        parameters="".join(f", {name}" for name in names),
        parameters_tuple="".join(f"{name}, " for name in names),
        none_per_parameter=", None" * len(params),
        signature=keywords.signature(params),
        bind=keywords.bind(params),
        loss=d.loss,
        activation=d.activation,
        loss_body=indent(body([forms.cost], ["value"]), 4),
        grad_body=indent(body([forms.grad], ["out"]), 4),
        both_body=indent(body([forms.cost, forms.grad], ["value", "out"]), 4),
        graph_body=indent(_body([forms.grad], ["out"], forms.definitions, not legacy, "torch_graph"), 4),
    )


def _torch_softmax_source(d: steps.Derivation, version: str) -> str:
    if _has_options(d):
        raise errors.InvalidOption(
            "--backend torch does not write label smoothing or class weights yet (use numpy or jax for those)"
        )
    return module_templates.TORCH_SOFTMAX.format(
        title=f"{d.loss} of softmax over K classes: loss and gradient, numerically stable (PyTorch).",
        version=version,
        source=_source(d),
        forms=_forms_text(stable.softmax_forms_of(d)),
        classes_check=_classes_check(d),
        probability_check=_probability_check(d, "torch"),
        loss=d.loss,
        functions=TORCH_SOFTMAX_FUNCTIONS[d.loss],
    )


#: What ``jax.grad`` of code that calls an exported ``loss`` differentiates, by kind of module.
JAX_GRADIENTS = {
    "scalar": "jax.grad of code that calls loss takes derive's closed-form dC/dz (a jax.custom_vjp);\n"
    "y and the parameters get JAX's derivative of the stable form.",
    "softmax": "jax.grad of code that calls loss takes derive's closed-form dC/dz (a jax.custom_vjp; with\n"
    "label smoothing or class weights, JAX's autodiff of the stable form); probabilities y get JAX's\n"
    "derivative of the stable form.",
}


def to_numpy(d: steps.Derivation, backend: str = "numpy") -> tuple[Callable, Callable]:
    """(loss, grad) of a derivation: numerically stable functions ``f(z, y, reduction="mean")``.

    The same code ``derive export`` writes, with the derivation's options: for softmax the
    functions take z of shape (N, K), labels (N,) or probabilities (N, K); a numeric label
    smoothing ε is built in, a symbolic ε is the required keyword ``label_smoothing`` and class
    weights the required keyword ``class_weights`` (shape (K,)).

    >>> import numpy as np
    >>> from derive.derivations import pairs
    >>> loss, grad = to_numpy(pairs.derive("cross_entropy", "softmax", label_smoothing="1/10"))
    >>> grad(np.zeros((1, 2)), np.array([0]), reduction="none")   # a − ỹ = 1/2 − (9/10 + 1/20)
    array([[-0.45,  0.45]])
    """
    return functions(d, backend)
