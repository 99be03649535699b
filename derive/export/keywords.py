"""The run-time checks of an exported scalar module, as source text: its targets and its parameters.

Targets follow the loss's ``y_domain``: an interval becomes a range check ("y must lie in [0, 1]",
"y must be >= 0"), a finite set a membership check ("y must be -1 or 1"), all reals no check.

Parameters (α of leaky_relu, κ of huber, ...) become keyword-only arguments named by
``Parameter.keyword`` with ``Parameter.default`` as default (none for a user formula's parameter:
then Python itself raises TypeError when it is missing).  ``_parameters`` turns them into numbers
of z's dtype bound to the symbols' names (``alpha``, ``kappa``, ...), each checked against its
``Parameter.domain`` (ValueError naming the keyword and the rule).
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Sequence

import sympy as sp

from derive import errors
from derive.catalog import parameters as catalog_parameters
from derive.catalog.parameters import Parameter

#: Names the generated functions use themselves: no parameter may take them.
RESERVED = {"z", "y", "reduction", "np", "jnp", "jax", "value", "out", "residual", "margin", "one_minus_y"}
RESERVED |= {"one_plus_y", "one_minus_alpha", "functools", "math"}


def target_check(y_domain: sp.Set, backend: str = "numpy") -> str:
    """The lines of ``_inputs`` that hold y to ``y_domain`` (none for all reals): NumPy or torch (the JAX
    module compiles its checks with the result, :func:`jax_target_fields`)."""
    rule = _target_rule(y_domain)
    if rule is None:
        return ""
    bad, message = rule
    test = {"numpy": f"np.any({bad})", "torch": f"bool(torch.any({bad}))"}[backend]
    if isinstance(y_domain, sp.Interval):  # from y's min and max: no mask array
        torch = backend == "torch"
        minimum, maximum, size = ("y.amin()", "y.amax()", "y.numel()") if torch else ("y.min()", "y.max()", "y.size")
        test = f"{size} and bool({_outside_interval(y_domain, minimum, maximum)})"
    return f'    if {test}:\n        raise ValueError("{message}")\n'


def _outside_interval(domain: sp.Interval, minimum: str, maximum: str) -> str:
    """The test that y leaves ``domain``, from the texts of y's ``minimum`` and ``maximum``."""
    tests = []
    if domain.start.is_finite:
        tests.append(f"({minimum} {'<=' if domain.left_open else '<'} {domain.start})")
    if domain.end.is_finite:
        tests.append(f"({maximum} {'>=' if domain.right_open else '>'} {domain.end})")
    return " | ".join(tests)


def jax_target_fields(y_domain: sp.Set) -> dict[str, str]:
    """``target_failed`` and ``target_message`` of a JAX module: y's domain as one more value check."""
    rule = _target_rule(y_domain)
    if rule is None:
        return {"target_failed": "", "target_message": ""}
    bad, message = rule
    if isinstance(y_domain, sp.Interval):  # from y's min and max (NaN fails both), cheaper than any()
        low, high = y_domain.start, y_domain.end
        inside = (low + high) / 2 if low.is_finite and high.is_finite else low + 1 if low.is_finite else high - 1
        start = float(inside)  # (a point of the domain: an empty y passes)
        test = _outside_interval(y_domain, f"y.min(initial={start!r})", f"y.max(initial={start!r})")
        return {"target_failed": ", " + test, "target_message": f', "{message}"'}
    return {"target_failed": f", jnp.any({bad})", "target_message": f', "{message}"'}


def _target_rule(domain: sp.Set) -> tuple[str, str] | None:
    """(the test of a wrong y, the message), None for the reals."""
    if domain == sp.S.Reals:
        return None
    if isinstance(domain, sp.FiniteSet):
        values = [str(v) for v in sorted(domain)]
        listed = " or ".join(values) if len(values) <= 2 else ", ".join(values[:-1]) + f" or {values[-1]}"
        return " & ".join(f"(y != {v})" for v in values), f"y must be {listed}"
    if isinstance(domain, sp.Interval):
        low, high = domain.start, domain.end
        tests = []
        if low.is_finite:
            tests.append(f"y {'<=' if domain.left_open else '<'} {low}")
        if high.is_finite:
            tests.append(f"y {'>=' if domain.right_open else '>'} {high}")
        if len(tests) == 2:
            return f"({tests[0]}) | ({tests[1]})", f"y must lie in {catalog_parameters.interval(domain)}"
        if low.is_finite:
            return tests[0], f"y must be {'>' if domain.left_open else '>='} {low}"
        return tests[0], f"y must be {'<' if domain.right_open else '<='} {high}"
    raise errors.InvalidOption(f"cannot check targets y in {domain} at run time: use an interval or a finite set")


# -- parameters -----------------------------------------------------------------------------------


def python_name(name: str) -> str:
    """A symbol's name in generated code: ``lambda`` (a Python keyword) is ``lambda_``."""
    return name + "_" if keyword.iskeyword(name) else name


def check_names(params: Sequence[Parameter]) -> None:
    """errors.InvalidOption for a keyword or symbol name the generated code cannot use."""
    for p in params:
        for name in (p.keyword, python_name(p.symbol.name)):
            if not name.isidentifier() or keyword.iskeyword(name) or name in RESERVED or re.fullmatch(r"t\d+", name):
                raise errors.InvalidOption(
                    f"the parameter {p.symbol} (keyword {p.keyword!r}) cannot be exported: "
                    f"{name!r} is not a free Python name in the generated code"
                )


def signature(params: Sequence[Parameter]) -> str:
    """``, *, negative_slope=0.01, delta=1.0``: keyword-only, a parameter without default required."""
    if not params:
        return ""
    return ", *, " + ", ".join(p.keyword if p.default is None else f"{p.keyword}={p.default!r}" for p in params)


def arguments(params: Sequence[Parameter]) -> str:
    """``, negative_slope, delta``: the keywords passed on."""
    return "".join(f", {p.keyword}" for p in params)


def symbols(params: Sequence[Parameter]) -> str:
    """``alpha, kappa``: the names the forms use (``lambda_`` for ``lambda``)."""
    return ", ".join(python_name(p.symbol.name) for p in params)


def bind(params: Sequence[Parameter]) -> str:
    """The line that binds the symbols from the keywords, in z's dtype (nothing without parameters)."""
    if not params:
        return ""
    names = symbols(params) if len(params) > 1 else f"({symbols(params)},)"
    return f"    {names} = _parameters(z.dtype{arguments(params)})\n"


def rule(domain: sp.Set, x: str = "x") -> tuple[str, str] | None:
    """(a test of the number ``x`` in ``domain`` as Python, the rule in words), None for all reals."""
    if domain == sp.S.Reals:
        return None
    if isinstance(domain, sp.FiniteSet):
        values = ", ".join(str(v) for v in sorted(domain))
        return f"{x} in ({values},)", f"one of {values}"
    if isinstance(domain, sp.Interval):
        parts, words = [], []
        if domain.start.is_finite:
            op = ">" if domain.left_open else ">="
            parts.append(f"{x} {op} {domain.start}")
            words.append(f"{op} {domain.start}")
        if domain.end.is_finite:
            op = "<" if domain.right_open else "<="
            parts.append(f"{x} {op} {domain.end}")
            words.append(f"{op} {domain.end}")
        said = words[0] if len(words) == 1 else f"in {catalog_parameters.interval(domain)}"
        return " and ".join(parts), said
    raise errors.InvalidOption(f"cannot check a parameter in {domain} at run time: use an interval or a finite set")


def helpers(params: Sequence[Parameter], backend: str) -> str:
    """``_number`` and ``_parameters`` of the module (nothing without parameters)."""
    if not params:
        return ""
    check_names(params)
    numpy = backend in ("numpy", "torch")  # the torch module's parameters: 0-d tensors, tested like NumPy's
    keywords = ", ".join(p.keyword for p in params)
    names = symbols(params) + ("," if len(params) == 1 else "")
    lines = [
        "",
        "",
        "",
        f"def _parameters(dtype{arguments(params)}):",
        f'    """({names}) from {keywords}: numbers of dtype, each in its domain."""',
        "    numbers = []",
    ]
    for p in params:
        lines.append(f'    number = _number({p.keyword}, "{p.keyword}", dtype)')
        checked = rule(p.domain, "number")
        if checked is not None:
            test, said = checked
            lines.append(f"    if not ({test}):" if numpy else f"    if _fails(~({test})):")
            message = f"{p.keyword} must be {said} ({p.description}), not {{{p.keyword}!r}}"
            lines.append(f'        raise ValueError(f"{message}")')
        lines.append("    numbers.append(number)")
    lines.append("    return tuple(numbers)")
    number = {"numpy": NUMPY_NUMBER, "torch": TORCH_NUMBER}.get(backend, JAX_NUMBER)
    return number + "\n".join(lines) + "\n"


def documentation(params: Sequence[Parameter]) -> str:
    """The paragraph of the module docstring on the keyword-only parameters."""
    if not params:
        return ""
    rows = []
    for p in params:
        default = "required" if p.default is None else f"default {p.default!r}"
        domain = catalog_parameters.interval(p.domain)
        rows.append(f"    {p.keyword} ({p.symbol}): {p.description}; in {domain}, {default}")
    title = "Parameters, keyword-only and checked at run time (ValueError outside the domain):"
    return f"\n{title}\n" + "\n".join(rows) + "\n"


NUMPY_NUMBER = '''

def _number(value, keyword, dtype):
    """value as one finite real number of dtype (ValueError otherwise)."""
    number = np.asarray(value)
    if number.ndim != 0 or number.dtype.kind not in "iuf" or not np.isfinite(number):
        raise ValueError(f"{keyword} must be one finite real number, not {value!r}")
    return dtype.type(number)'''

TORCH_NUMBER = '''

def _number(value, keyword, dtype):
    """value as one finite real number, a 0-d tensor of dtype (ValueError otherwise)."""
    try:
        number = float(value)
    except (TypeError, ValueError, RuntimeError):  # None, text, complex, a tensor of several numbers
        number = None
    if number is None or isinstance(value, bool) or not math.isfinite(number):
        raise ValueError(f"{keyword} must be one finite real number, not {value!r}")
    return torch.tensor(number, dtype=dtype)'''

JAX_NUMBER = '''

def _number(value, keyword, dtype):
    """value as one finite real number of dtype (ValueError otherwise)."""
    try:
        number = jnp.asarray(value)
    except (TypeError, ValueError):  # jnp.asarray refuses None and strings
        number = None
    if number is None or number.ndim != 0 or number.dtype.kind not in "iuf" or _fails(~jnp.isfinite(number)):
        raise ValueError(f"{keyword} must be one finite real number, not {value!r}")
    return number.astype(dtype)'''

#: erfc for the NumPy module (GELU): SciPy's when it can be imported, else math.erfc elementwise.
NUMPY_ERFC = """
try:  # erfc of GELU's Phi(z) = erfc(-z/sqrt(2))/2: scipy.special.erfc when scipy is installed
    from scipy.special import erfc as _erfc

    ERFC = "scipy.special.erfc"
except ImportError:  # math.erfc elementwise: as accurate, slower
    import math

    ERFC = "math.erfc"

    def _erfc(x):
        x = np.asarray(x)
        return np.frompyfunc(math.erfc, 1, 1)(x).astype(x.dtype)

"""

JAX_ERFC = "from jax.scipy.special import erfc as _erfc\n"

ERFC_DOC = (
    "Depends on numpy, and on scipy for erfc (GELU) when scipy is\n"
    "importable: ERFC names the erfc used, scipy.special.erfc or else math.erfc\n"
    "applied elementwise (as accurate, slower)."
)
