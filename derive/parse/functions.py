r"""User formulas as catalog functions: ``derive.Loss.from_latex(...)``, ``derive.Activation.from_sympy(...)``.

A loss is written ``L(a, y) = …`` (or only its right side, in a and y), an activation
``g(z) = …`` (or only its right side, in z); LaTeX is read by derive's own parser
(:func:`derive.parse.formula.parse_latex`), never by ``eval`` or ``sympify``.  The result is a
new subclass of the catalog's :class:`~derive.catalog.losses.Loss` or
:class:`~derive.catalog.activations.Activation`, made with ``type(...)``, that
``derive.derive`` takes like a catalog name.  The same formula with the same options gives the
same class again (the last 256 are kept), so SymPy sees one function and ``derive.derive``'s
cache serves it:

>>> swish = Activation.from_latex(r"g(z) = z\sigma(z)", name="swish_user")
>>> swish.elementary(z)
z*sigmoid(z)
>>> ridge = Loss.from_latex(r"L(a, y) = \frac{1}{2}(a-y)^2 + \lambda a^2", name="ridge")
>>> [(p.symbol, p.keyword, p.default) for p in ridge.parameters]
[(lambda, 'lambda_', None)]
>>> Loss.from_latex(r"L(a, y) = \frac{1}{2}(a-y)^2 + \lambda a^2", name="ridge") is ridge
True

Every free symbol other than the variables is a parameter: it stays a symbol through the
derivation and becomes a keyword argument of the exported functions, named after the symbol,
with ``_`` appended to a Python keyword (``lambda`` → ``lambda_``) or to a name the exported
functions use (``z``, ``y``, ``reduction``).  A parameter whose name derive's notation uses
(``delta`` is δ = ∂C/∂z, ``b`` the bias, ``C`` the cost, ``n`` the batch size, ...) keeps its
keyword but is written ``delta_p`` in the formulas.  Domains of parameters come from a side
condition (``\tanh(\beta z) \quad (\beta > 0)``) or ``parameters={"beta": {"domain": "(0, oo)"}}``,
else all reals.  ``|u|`` is written ``max(u, -u)`` (``sympy.diff`` of Abs assumes complex numbers).
"""

from __future__ import annotations

import dataclasses
import functools
import keyword
from collections.abc import Mapping
from typing import Any, ClassVar

import sympy as sp
from sympy.core.function import AppliedUndef, FunctionClass

from derive import catalog, errors
from derive.parse import domains, formula, user_calculus, user_parameters

#: The variables of derive's notation (plain symbols: equal to those of derive.engine.notation).
a, y, z = sp.symbols("a y z")

#: Names on the left side that name nothing (``L(a, y) = …``): the function gets a default name.
GENERIC_HEADS = frozenset({"L", "C", "J", "ell", "l", "g", "f", "h", "phi", "varphi", "psi"})
#: What a formula may not hold: it must be the function itself, in closed form.
NOT_ALLOWED = {
    sp.Derivative: "a derivative",
    sp.Integral: "an integral",
    sp.Sum: "a sum",
    sp.Product: "a product over an index",
    sp.Limit: "a limit",
    sp.Indexed: "an indexed symbol",
    sp.IndexedBase: "an indexed symbol",
}


class _Kind:
    """What differs between a loss and an activation: the variables, the left side, the words."""

    def __init__(self, noun: str, variables: tuple[sp.Symbol, ...], head: str, base_name: str) -> None:
        self.noun, self.variables, self.head, self.base_name = noun, variables, head, base_name

    @property
    def left(self) -> str:
        return f"{self.head}({', '.join(map(str, self.variables))})"


quoted = user_parameters.quoted

LOSS = _Kind("loss", (a, y), "L", "user_loss")
ACTIVATION = _Kind("activation", (z,), "g", "user_activation")


# -- the bases derive.Loss and derive.Activation ---------------------------------------------------------

_REQUIRED = frozenset({"name", "latex_name", "pretty_name", "a_domain", "y_domain", "output_range", "description"})


class _NotAFunction(errors.InvalidOption, AttributeError):
    """derive.Loss / derive.Activation themselves were used as a loss or an activation."""


class _UserFunctionClass(FunctionClass):
    """The metaclass of user functions: the bare bases say how to build one instead of an AttributeError."""

    def __getattr__(cls, attr: str) -> Any:
        if attr in _REQUIRED:
            raise _NotAFunction(
                f"derive.{cls.__name__} is the base of user formulas, not one: "
                f"build one with derive.{cls.__name__}.from_latex(...) or .from_sympy(...)"
            )
        raise AttributeError(attr)


class Loss(catalog.Loss, metaclass=_UserFunctionClass):
    """A user loss L(a, y): ``Loss.from_latex(text, ...)`` or ``Loss.from_sympy(expr, ...)`` builds one."""

    formula: ClassVar[sp.Expr]  # the right side, in a and y
    source: ClassVar[str] = ""  # the text it was read from
    written_gradient: ClassVar[sp.Expr]  # ∂L/∂a in a and y, over one denominator when that is shorter

    @classmethod
    def from_latex(
        cls,
        text: str,
        *,
        name: str | None = None,
        latex_name: str | None = None,
        domain: str | sp.Set | None = None,
        targets: str | sp.Set | None = None,
        parameters: Mapping[str, Mapping[str, Any]] | None = None,
        description: str | None = None,
    ) -> type[Loss]:
        r"""A new loss from LaTeX, ``L(a, y) = \frac{1}{2}(a-y)^2 + \lambda a^2`` or only its right side.

        ``domain`` is the set of a where L is defined (``"(0, 1)"``; default: inferred, where L is
        real and finite), ``targets`` the set of y (default: all reals), ``parameters`` the default,
        domain, keyword and description of each parameter by name (``{"lambda": {"default": 0.1,
        "domain": "[0, oo)"}}``; a parameter without a default is a required keyword of the
        exported functions).  Raises ParseError for text derive cannot read and InvalidOption for
        a formula that is no loss (in z, or constant in a), a name that is taken or not an
        identifier, a bad set, or a domain that cannot be inferred.
        """
        return _made(
            _read_latex, text, LOSS, name, latex_name, {"domain": domain, "targets": targets}, parameters, description
        )

    @classmethod
    def from_sympy(
        cls,
        expr: sp.Basic,
        *,
        name: str | None = None,
        latex_name: str | None = None,
        domain: str | sp.Set | None = None,
        targets: str | sp.Set | None = None,
        parameters: Mapping[str, Mapping[str, Any]] | None = None,
        description: str | None = None,
    ) -> type[Loss]:
        """A new loss from a SymPy expression in ``a`` and ``y``, ``Eq(L(a, y), …)`` or ``Lambda((a, y), …)``.

        The options are those of :meth:`from_latex`.  Symbols named a and y are the variables
        whatever their assumptions; a parameter declared ``positive=True`` has the domain (0, oo).
        Text is refused: never ``sympify`` of a user string (use :meth:`from_latex`).
        """
        return _made(
            _read_sympy, expr, LOSS, name, latex_name, {"domain": domain, "targets": targets}, parameters, description
        )

    @classmethod
    def elementary(cls, a_: sp.Expr, y_: sp.Expr) -> sp.Expr:
        return cls.formula.xreplace({a: a_, y: y_})

    @classmethod
    def gradient(cls, a_: sp.Expr, y_: sp.Expr) -> sp.Expr:
        return cls.written_gradient.xreplace({a: a_, y: y_})

    def _eval_rewrite_as_elementary(self, a_, y_, **kwargs) -> sp.Expr:
        return self.elementary(a_, y_).rewrite("elementary")


class Activation(catalog.Activation, metaclass=_UserFunctionClass):
    """A user activation g(z): ``Activation.from_latex(text, ...)`` or ``.from_sympy(expr, ...)`` builds one."""

    formula: ClassVar[sp.Expr]  # the right side, in z
    source: ClassVar[str] = ""
    through: ClassVar[sp.Expr | None] = None  # g(a) with g'(z) = g(g(z)), in a; None if not found
    limits: ClassVar[tuple[sp.Expr, sp.Expr] | None] = None  # (lim at −∞, lim at +∞)
    rising: ClassVar[bool] = False  # g′ ≥ 0 proven

    @classmethod
    def from_latex(
        cls,
        text: str,
        *,
        name: str | None = None,
        latex_name: str | None = None,
        range: str | sp.Set | None = None,
        parameters: Mapping[str, Mapping[str, Any]] | None = None,
        description: str | None = None,
    ) -> type[Activation]:
        r"""A new activation from LaTeX, ``g(z) = z\sigma(z)`` or only its right side.

        ``range`` is the set of values a = g(z) (``"(0, 1)"``; default: inferred with SymPy, and
        InvalidOption asking for it when that fails); the other options are those of
        :meth:`Loss.from_latex`.  An activation in a or y, or one constant in z, is InvalidOption.
        """
        return _made(_read_latex, text, ACTIVATION, name, latex_name, {"range": range}, parameters, description)

    @classmethod
    def from_sympy(
        cls,
        expr: sp.Basic,
        *,
        name: str | None = None,
        latex_name: str | None = None,
        range: str | sp.Set | None = None,
        parameters: Mapping[str, Mapping[str, Any]] | None = None,
        description: str | None = None,
    ) -> type[Activation]:
        """A new activation from a SymPy expression in ``z``, ``Eq(g(z), …)`` or ``Lambda(z, …)``; see from_latex."""
        return _made(_read_sympy, expr, ACTIVATION, name, latex_name, {"range": range}, parameters, description)

    @classmethod
    def elementary(cls, z_: sp.Expr) -> sp.Expr:
        return cls.formula.xreplace({z: z_})

    @classmethod
    def derivative_through_output(cls, a_: sp.Expr) -> sp.Expr | None:
        return None if cls.through is None else cls.through.xreplace({a: a_})

    @classmethod
    def ends(cls) -> tuple[sp.Expr, sp.Expr]:
        if cls.limits is None:
            raise NotImplementedError(f"the limits of {cls.name} at ±oo were not found")
        return cls.limits

    @classmethod
    def monotone(cls) -> bool:
        return cls.rising

    def derivative(self) -> sp.Expr:
        if self.through is not None:  # in the function's own output, as σ' = σ(1 − σ)
            return self.through.xreplace({a: self})
        return sp.diff(self.formula, z).xreplace({z: self.args[0]})

    def _eval_rewrite_as_elementary(self, z_, **kwargs) -> sp.Expr:
        return self.elementary(z_).rewrite("elementary")


# -- the same formula, the same class -------------------------------------------------------------------


class _FrozenMapping(tuple):
    """A mapping's items as a hashable tuple, told apart from a tuple the user gave."""


class _Leaf(tuple):
    """(type, value) of an option's plain value: 1, 1.0, True and sympy.Integer(1) are four keys, not one."""


#: The values an option may hold and still be kept (anything else: built every time).  SymPy's own equality
#: tells apart assumptions and a Float's precision.
_PLAIN = (type(None), bool, int, float, str, sp.Basic)


def _frozen(value: object) -> object:
    """A hashable stand-in for an option that tells apart what builds different classes; TypeError if
    there is none (a list, an object of some other type)."""
    if isinstance(value, Mapping):
        return _FrozenMapping((_frozen(key), _frozen(item)) for key, item in value.items())
    if isinstance(value, tuple):
        return tuple(_frozen(item) for item in value)
    if isinstance(value, _PLAIN):
        return _Leaf((type(value), value))
    raise TypeError(type(value).__name__)


def _thawed(value: object) -> object:
    if isinstance(value, _Leaf):
        return value[1]
    if isinstance(value, _FrozenMapping):
        return {_thawed(key): _thawed(item) for key, item in value}
    if isinstance(value, tuple):
        return tuple(_thawed(item) for item in value)
    return value


def _made(
    reader: Any,
    source: object,
    kind: _Kind,
    name: object,
    latex_name: object,
    sets: Mapping[str, object],
    parameters: Mapping[str, Any] | None,
    description: object,
) -> type:
    """The class of a formula, built once for each formula and options (options that cannot be hashed:
    built every time).  A mistake raises every time; nothing is kept of it."""
    options = (source, name, latex_name, sets, parameters, description)
    try:
        key = (reader, kind.noun, *(_frozen(option) for option in options))
    except TypeError:  # a list in the parameters, a source of another type (refused by the reader), ...
        return _build(kind, reader(source, kind), name, latex_name, sets, parameters, description)
    return _build_once(*key)


@functools.lru_cache(maxsize=256)
def _build_once(
    reader: Any,
    noun: str,
    source: object,
    name: object,
    latex_name: object,
    sets: object,
    parameters: object,
    description: object,
) -> type:
    kind = LOSS if noun == LOSS.noun else ACTIVATION
    spec = reader(_thawed(source), kind)
    options = (_thawed(name), _thawed(latex_name), _thawed(sets), _thawed(parameters), _thawed(description))
    return _build(kind, spec, *options)  # type: ignore[arg-type]


# -- reading the formula -------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Spec:
    """A formula read: its right side, the name on its left side, its side condition, its text."""

    rhs: sp.Expr
    head: str | None
    condition: sp.Basic | None
    source: str


def _read_latex(text: object, kind: _Kind) -> _Spec:
    if not isinstance(text, str):
        raise errors.InvalidOption(f"the {kind.noun} formula is LaTeX text, not {type(text).__name__}")
    try:
        parsed = formula.parse_latex(text)
    except errors.ParseError as exc:
        raise errors.ParseError(
            f"cannot read the {kind.noun} formula {quoted(text)}: {exc.reason}", exc.position, text
        ) from None
    except RecursionError:
        raise errors.ParseError(f"the {kind.noun} formula {quoted(text)} is nested too deeply") from None
    condition = None
    if isinstance(parsed, tuple):
        parsed, condition = parsed
    if isinstance(parsed, list):
        raise errors.ParseError(f"the {kind.noun} formula {quoted(text)} is a chain: write one {kind.left} = ...")
    return _spec(parsed, kind, condition, text.strip())


def _read_sympy(expr: object, kind: _Kind) -> _Spec:
    if isinstance(expr, str):
        raise errors.InvalidOption(f"from_sympy takes a SymPy expression, not text: use from_latex({expr!r})")
    if isinstance(expr, sp.Lambda):
        if len(expr.variables) != len(kind.variables):
            raise errors.InvalidOption(f"a {kind.noun} is a Lambda of {len(kind.variables)} variable(s) {kind.left}")
        renamed = expr.expr.xreplace(dict(zip(expr.variables, kind.variables, strict=True)))
        return _spec(renamed, kind, None, str(expr))
    if not isinstance(expr, sp.Basic) or isinstance(expr, sp.Set):
        raise errors.InvalidOption(
            f"a {kind.noun} formula is a SymPy expression in {', '.join(map(str, kind.variables))}, "
            f"Eq({kind.left}, ...) or a Lambda, not {type(expr).__name__}"
        )
    by_name = {s: v for s in expr.free_symbols for v in (a, y, z) if isinstance(s, sp.Symbol) and s.name == v.name}
    plain, signs = user_parameters.plain(expr.free_symbols - set(by_name))
    return _spec(expr.xreplace({**by_name, **plain}), kind, signs, sp.sstr(expr))


def _spec(parsed: sp.Basic, kind: _Kind, condition: sp.Basic | None, source: str) -> _Spec:
    """The right side and the name of the left side of ``L(a, y) = …``, or a bare right side."""
    if isinstance(parsed, sp.Eq):
        return _Spec(parsed.rhs, _head(parsed.lhs, kind, source), condition, source)
    if not isinstance(parsed, sp.Expr):  # an inequality, a set, ...
        raise errors.ParseError(f"the {kind.noun} formula {quoted(source)} is no formula: write {kind.left} = ...")
    return _Spec(parsed, None, condition, source)


def _head(lhs: sp.Basic, kind: _Kind, source: str) -> str | None:
    """The name on the left side: None for a generic one (L, g), the word of ``\\operatorname{mish}(z)``."""
    func = getattr(lhs, "func", None)
    if isinstance(func, type) and issubclass(func, (catalog.Loss, catalog.Activation)):
        raise errors.InvalidOption(
            f"{func.name} is a catalog name: the {kind.noun} formula {quoted(source)} cannot redefine it"
        )
    if not isinstance(lhs, AppliedUndef) or tuple(lhs.args) != kind.variables:
        raise errors.ParseError(
            f"the left side of the {kind.noun} formula {quoted(source)} must be {kind.left}, not {lhs}"
        )
    word = str(lhs.func)
    return None if word in GENERIC_HEADS else word


# -- checking it ----------------------------------------------------------------------------------------


def _check_formula(rhs: sp.Expr, kind: _Kind, source: str) -> sp.Expr:
    """The right side, with |u| as max(u, −u); InvalidOption for what is no function of the variables."""
    what = f"the {kind.noun} formula {quoted(source)}"
    for cls, words in NOT_ALLOWED.items():
        if rhs.has(cls):
            raise errors.InvalidOption(f"{what} holds {words}: write the function itself, in closed form")
    unknown = sorted({str(f.func) for f in rhs.atoms(AppliedUndef)})
    if unknown:
        raise errors.InvalidOption(
            f"{what} calls the unknown function {unknown[0]}: use a catalog function (\\sigma, \\tanh, "
            "\\operatorname{softplus}, ... as in `derive list`) or write it out"
        )
    if any(getattr(f.func, "vector", False) for f in rhs.atoms(sp.Function)):
        raise errors.InvalidOption(f"{what} calls softmax: a user {kind.noun} has one output")
    if rhs.has(sp.I, sp.zoo, sp.nan, sp.oo, -sp.oo):
        raise errors.InvalidOption(f"{what} holds a complex or infinite number: a {kind.noun} is real")
    symbols = rhs.free_symbols
    if kind is LOSS:
        if z in symbols:
            raise errors.InvalidOption(f"{what} is in z: a loss is L(a, y), of the output a and the target y")
        if a not in symbols or sp.diff(rhs, a) == 0:
            raise errors.InvalidOption(f"{what} does not depend on the output a: there is nothing to differentiate")
    else:
        wrong = sorted(str(s) for s in symbols & {a, y})
        if wrong:
            raise errors.InvalidOption(f"{what} is in {wrong[0]}: an activation is g(z), of the weighted input z alone")
        if z not in symbols or sp.diff(rhs, z) == 0:
            raise errors.InvalidOption(f"{what} is constant in z: an activation must depend on z")
    return rhs.replace(sp.Abs, lambda u: sp.Max(u, -u))


def check_name(name: object, noun: str) -> str:
    """``name`` if it is a Python identifier that is no catalog name; InvalidOption otherwise."""
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
        raise errors.InvalidOption(f"the name of a {noun} is a Python identifier (like my_{noun}), not {name!r}")
    key = name.lower()
    taken = {**catalog.LOSSES, **catalog.ALIASES, **catalog.ACTIVATIONS, **catalog.ACTIVATION_ALIASES}
    if key in taken:
        raise errors.InvalidOption(f"the name {name!r} is taken by the catalog's {key}: choose another name")
    return name


def _latex_name(name: str, given: object) -> str:
    if given is None:
        return r"\operatorname{" + name.replace("_", r"\_") + "}"
    if not isinstance(given, str) or not given.strip():
        raise errors.InvalidOption(f"latex_name is LaTeX text such as \\operatorname{{{name}}}, not {given!r}")
    return given.strip()


# -- building the class ---------------------------------------------------------------------------------


def _build(
    kind: _Kind,
    spec: _Spec,
    name: object,
    latex_name: object,
    sets: Mapping[str, object],
    parameters: Mapping[str, Any] | None,
    description: object,
) -> type:
    name = check_name(name if name is not None else (spec.head or kind.base_name), kind.noun)
    rhs = _check_formula(spec.rhs, kind, spec.source)
    conditions = user_parameters.conditions(spec.condition, spec.source)
    if kind is ACTIVATION and z in conditions:
        raise errors.InvalidOption(
            f"the condition of {quoted(spec.source)} is on z: an activation is defined for every real z"
        )
    rhs, params = user_parameters.collect(
        rhs, kind.variables, {s: d for s, d in conditions.items() if s not in (a, y)}, parameters, name
    )
    if description is not None and not isinstance(description, str):
        raise errors.InvalidOption(f"the description of {name} is text, not {description!r}")
    attributes: dict[str, Any] = {
        "name": name,
        "latex_name": _latex_name(name, latex_name),
        "pretty_name": name,
        "formula": rhs,
        "source": spec.source,
        "parameters": params,
        "description": description or f"{kind.left} = {sp.sstr(rhs)}",
        "__module__": __name__,
        "__doc__": f"The user {kind.noun} {name}: {kind.left} = {sp.sstr(rhs)}.",
    }
    if sp.diff(rhs.rewrite("elementary"), kind.variables[0]).has(sp.Heaviside):
        attributes["subgradient"] = (
            f"{name} has a kink (max, min, |.| or a step), where its derivative jumps; derive takes H(0) = 1/2 there, "
            "the midpoint of the two slopes"
        )
    domains_of = {p.symbol: p.domain for p in params}
    if kind is LOSS:
        attributes.update(_loss_sets(rhs, name, sets, conditions, domains_of))
        attributes["written_gradient"] = user_calculus.written(sp.diff(rhs, a))
        return type(name, (Loss,), attributes)
    attributes.update(_activation_facts(rhs, name, sets.get("range"), domains_of))
    return type(name, (Activation,), attributes)


def _loss_sets(
    rhs: sp.Expr,
    name: str,
    sets: Mapping[str, object],
    conditions: Mapping[sp.Symbol, sp.Set],
    params: Mapping[sp.Symbol, sp.Set],
) -> dict[str, sp.Set]:
    """a_domain (declared, from a condition on a, or inferred) and y_domain (declared or the reals)."""
    declared = {}
    for key, variable in (("domain", a), ("targets", y)):
        value = sets.get(key)
        if value is not None and variable in conditions:
            raise errors.InvalidOption(f"the {key} of {name} is given twice: in the formula's condition and as {key}=")
        if value is not None:
            declared[key] = domains.read_set(value, f"the {key} of {name}")
        elif variable in conditions:
            declared[key] = conditions[variable]
    y_domain = declared.get("targets", sp.S.Reals)
    a_domain = declared.get("domain")
    if a_domain is None:
        a_domain = domains.infer_domain(rhs.rewrite("elementary"), a, y, y_domain, params)
        if a_domain is None:
            raise errors.InvalidOption(
                f'cannot infer where {name} is defined in a: declare it, e.g. domain="(0, 1)" '
                '(domain = "(0, 1)" in a --catalog file)'
            )
    return {"a_domain": a_domain, "y_domain": y_domain}


def _activation_facts(rhs: sp.Expr, name: str, declared: object, params: Mapping[sp.Symbol, sp.Set]) -> dict[str, Any]:
    """output_range (declared or inferred), the derivative through a, the ends, monotone."""
    elementary = rhs.rewrite("elementary")
    where = domains.defined_for(elementary, z, params)
    if where is not None and where != sp.S.Reals:
        raise errors.InvalidOption(
            f"{name}(z) = {sp.sstr(rhs)} is defined only for z in {catalog.interval(where)}: "
            "an activation takes every real z"
        )
    if declared is not None:
        output_range = domains.read_set(declared, f"the range of {name}")
    else:
        output_range = domains.infer_range(elementary, z, params)
        if output_range is None:
            raise errors.InvalidOption(
                f'cannot infer the range of {name}(z) = {sp.sstr(rhs)}: declare it, e.g. range="(0, 1)" '
                '(range = "(0, 1)" in a --catalog file)'
            )
    through = user_calculus.through_output(rhs, params)
    reason = (
        "" if through is not None else (f"derive found no g with {name}'(z) = g({name}(z)), so {name}'(z) stays in z")
    )
    return {
        "output_range": output_range,
        "through": through,
        "not_through_output": reason,
        "limits": domains.ends(elementary, z, params),
        "rising": domains.monotone(elementary, z, params),
    }
