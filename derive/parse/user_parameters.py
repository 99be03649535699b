"""The parameters of a user formula: every symbol but its variables, with a keyword, a default and a domain.

A parameter's domain comes from a side condition of the formula (``\\quad (\\beta > 0)``), from the
assumptions of a SymPy symbol (``positive=True``), or from ``parameters={"beta": {"domain": "(0, oo)"}}``;
else it is all reals.  Its keyword (the argument of the exported functions) is its name, with ``_``
after a Python keyword (``lambda`` → ``lambda_``).  A name derive's notation uses (``delta`` is
δ = ∂C/∂z, ``b`` the bias) is written NAME_p in the formulas; its keyword stays NAME.
"""

from __future__ import annotations

import keyword
from collections.abc import Iterable, Mapping
from typing import Any

import sympy as sp

from derive import catalog, errors
from derive.catalog.parameters import Parameter
from derive.parse import domains

#: Symbols of the derivation a parameter may not be: it is written NAME_p (its keyword stays NAME).
NOTATION = frozenset({"b", "n", "C", "Cbar", "delta", "x", "x_j", "w_j", "u", "L", "m", "j", "k"})
#: Argument names of the exported functions: a parameter's keyword gets a ``_`` instead.
EXPORT_ARGUMENTS = frozenset({"z", "y", "a", "reduction", "label_smoothing", "class_weights"})
#: The settings of one parameter.
PARAMETER_KEYS = ("default", "domain", "keyword", "description")


def quoted(text: str) -> str:
    """``text`` in quotes on one line, as written (no doubled backslashes, as repr would give)."""
    return "'" + " ".join(text.split()) + "'"


def keyword_of(name: str) -> str:
    """The keyword argument of a parameter: its name made an identifier, ``_`` after a Python keyword."""
    word = "".join(c if (c.isalnum() or c == "_") else "_" for c in name).strip("_") or "parameter"
    if word[0].isdigit():
        word = "p" + word
    return word + "_" if keyword.iskeyword(word) or word in EXPORT_ARGUMENTS else word


def collect(
    rhs: sp.Expr,
    variables: Iterable[sp.Symbol],
    conditions: Mapping[sp.Symbol, sp.Set],
    given: Mapping[str, Any] | None,
    owner: str,
) -> tuple[sp.Expr, tuple[Parameter, ...]]:
    """The formula with notation names moved aside (delta → delta_p), and its parameters."""
    if given is not None and not isinstance(given, Mapping):
        raise errors.InvalidOption(
            f"parameters is a dict by name, like {{'lambda': {{'default': 0.1}}}}, not {given!r}"
        )
    given = dict(given or {})
    found = sorted(rhs.free_symbols - set(variables), key=str)
    renamed = {s: sp.Symbol(f"{s.name}_p") for s in found if s.name in NOTATION}
    out = []
    for symbol in found:
        names = {symbol.name, keyword_of(symbol.name)}
        settings = next((given.pop(n) for n in list(given) if n in names), {})
        out.append(_parameter(renamed.get(symbol, symbol), symbol.name, conditions.get(symbol), settings, owner))
    if given:
        have = ", ".join(s.name for s in found) or "none"
        raise errors.InvalidOption(f"parameters: {sorted(given)[0]!r} is not a parameter of {owner} (it has: {have})")
    keywords = [p.keyword for p in out]
    if len(set(keywords)) != len(keywords):
        raise errors.InvalidOption(f"two parameters of {owner} have one keyword: {', '.join(keywords)}")
    return rhs.xreplace(renamed), tuple(out)


def _parameter(symbol: sp.Symbol, written: str, condition: sp.Set | None, settings: object, owner: str) -> Parameter:
    if not isinstance(settings, Mapping):
        raise errors.InvalidOption(
            f"parameters[{written!r}] is a dict of {', '.join(PARAMETER_KEYS)}, not {settings!r}"
        )
    unknown = sorted(set(settings) - set(PARAMETER_KEYS))
    if unknown:
        raise errors.InvalidOption(
            f"parameters[{written!r}]: unknown setting {unknown[0]!r} (use {', '.join(PARAMETER_KEYS)})"
        )
    if condition is not None and settings.get("domain") is not None:
        raise errors.InvalidOption(
            f"the domain of {written} is given twice: in the formula's condition and in parameters"
        )
    domain = condition if condition is not None else sp.S.Reals
    if settings.get("domain") is not None:
        domain = domains.read_set(settings["domain"], f"the domain of the parameter {written}")
    default = settings.get("default")
    if default is not None:
        default = domains.read_number(default, f"the default of {written}")
        if domain.contains(sp.Rational(str(default))) is not sp.true:
            raise errors.InvalidOption(
                f"the default {default} of {written} is outside its domain {catalog.interval(domain)}"
            )
    word = settings.get("keyword", keyword_of(written))
    if not isinstance(word, str) or not word.isidentifier() or keyword.iskeyword(word) or word in EXPORT_ARGUMENTS:
        raise errors.InvalidOption(
            f"the keyword of {written} must be a Python identifier other than z, y, reduction, not {word!r}"
        )
    description = settings.get("description") or f"the parameter {written} of {owner}"
    return Parameter(symbol, word, default, domain, str(description))


def conditions(condition: sp.Basic | None, source: str) -> dict[sp.Symbol, sp.Set]:
    """The sets a side condition gives its symbols: ``(p \\ge 1)``, ``(\\beta, c > 0)``, ``(\\beta \\neq 0)``."""
    if condition is None:
        return {}
    out: dict[sp.Symbol, sp.Set] = {}
    parts = condition.args if isinstance(condition, sp.And) else (condition,)
    for part in parts:
        symbol, found = _condition_set(part, source)
        out[symbol] = out.get(symbol, sp.S.Reals) & found
        if out[symbol].is_empty:
            raise errors.InvalidOption(f"the conditions of {quoted(source)} leave no value of {symbol}")
    return out


_RELATION_SETS = {
    sp.StrictGreaterThan: lambda c: sp.Interval.open(c, sp.oo),
    sp.GreaterThan: lambda c: sp.Interval(c, sp.oo),
    sp.StrictLessThan: lambda c: sp.Interval.open(-sp.oo, c),
    sp.LessThan: lambda c: sp.Interval(-sp.oo, c),
    sp.Ne: lambda c: sp.S.Reals - sp.FiniteSet(c),
}
_FLIPPED = {sp.StrictGreaterThan: sp.StrictLessThan, sp.GreaterThan: sp.LessThan, sp.Ne: sp.Ne}
_FLIPPED.update({v: k for k, v in _FLIPPED.items()})


def _condition_set(part: sp.Basic, source: str) -> tuple[sp.Symbol, sp.Set]:
    relation = type(part)
    if relation in _RELATION_SETS:
        lhs, rhs = part.args
        if isinstance(rhs, sp.Symbol) and lhs.is_number:
            lhs, rhs, relation = rhs, lhs, _FLIPPED[relation]
        if isinstance(lhs, sp.Symbol) and rhs.is_number and rhs.is_real:
            return lhs, _RELATION_SETS[relation](rhs)
    raise errors.InvalidOption(
        f"cannot use the condition {part} of {quoted(source)}: "
        "write a parameter against a number, like p > 0, p \\ge 1, p \\neq 0"
    )


_SIGNS = (("positive", sp.StrictGreaterThan), ("nonnegative", sp.GreaterThan))
_SIGNS += (("negative", sp.StrictLessThan), ("nonpositive", sp.LessThan))


def plain(symbols: set[sp.Basic]) -> tuple[dict[sp.Symbol, sp.Symbol], sp.Basic | None]:
    """Plain symbols for parameters with assumptions, and their signs as a condition (positive: p > 0)."""
    plain, relations = {}, []
    for symbol in symbols:
        if not isinstance(symbol, sp.Symbol) or symbol == sp.Symbol(symbol.name):
            continue
        plain[symbol] = sp.Symbol(symbol.name)
        relation = next((rel for word, rel in _SIGNS if symbol.assumptions0.get(word)), None)
        if relation is not None:
            relations.append(relation(plain[symbol], 0))
    return plain, (sp.And(*relations) if relations else None)
