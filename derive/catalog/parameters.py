"""Parameters of catalog functions: the slope of leaky ReLU, Huber's threshold, focal loss's γ, ...

A parameter stays a SymPy symbol through the derivation (the steps hold for every value
of it) and becomes a keyword argument of the exported functions, named as PyTorch names
it where PyTorch has the function (``negative_slope``, ``delta``, ``gamma``).
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp


@dataclass(frozen=True)
class Parameter:
    """One parameter: its symbol in the formulas, its keyword in exported code, its default and domain.

    ``default`` is None for a parameter the caller must give (every parameter of a user formula).
    """

    symbol: sp.Symbol
    keyword: str
    default: float | None
    domain: sp.Set
    description: str

    def as_dict(self) -> dict[str, object]:
        """JSON-ready: the symbol and domain as text."""
        return {
            "symbol": str(self.symbol),
            "keyword": self.keyword,
            "default": self.default,
            "domain": interval(self.domain),
            "description": self.description,
        }


def symbols(parameters: tuple[Parameter, ...]) -> set[sp.Symbol]:
    """The symbols of ``parameters``."""
    return {p.symbol for p in parameters}


def interval(s: sp.Set) -> str:
    """A set as a person writes it: (0, 1), [0, oo), all reals, {-1, 1}."""
    if s == sp.S.Reals:
        return "(-oo, oo)"
    if isinstance(s, sp.Interval):
        left = "(" if s.left_open else "["
        right = ")" if s.right_open else "]"
        return f"{left}{s.start}, {s.end}{right}"
    if isinstance(s, sp.FiniteSet):
        return "{" + ", ".join(str(v) for v in s) + "}"
    return str(s)
