"""What a step is checked against: the document's definitions and assumptions.

Definitions are patterns (:mod:`.patterns`): ``z^l_j = …`` applies to every layer l and
neuron j, ``\\sigma(A_i) = …`` rebinds σ for the document, ``a_1 = …`` applies to a_1 only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sympy as sp
from sympy.core.function import AppliedUndef

from derive.verification import patterns


@dataclass(frozen=True)
class Definition:
    """``target = value``; target is a name pattern (:func:`.patterns.fit`)."""

    target: sp.Basic
    value: sp.Expr


@dataclass(frozen=True)
class Match:
    """A definition that applies to a node, and how its pattern fits the node."""

    definition: Definition
    binding: patterns.Binding


@dataclass
class Context:
    """The definitions and assumptions in force for a step."""

    definitions: list[Definition] = field(default_factory=list)
    assumptions: list[sp.Basic] = field(default_factory=list)

    def lookup(self, node: sp.Basic) -> Match | None:
        """The most specific definition that applies to ``node`` (the first of equals), or None."""
        best: Match | None = None
        key = patterns.head(node)
        if key is None:
            return None
        for definition in self.definitions:
            if patterns.head(definition.target) != key:
                continue
            binding = patterns.fit(definition.target, node)
            if binding is not None and (best is None or binding.fixed > best.binding.fixed):
                best = Match(definition, binding)
        return best if best is not None or not isinstance(node, sp.Symbol) else self._called(node)

    def _called(self, name: sp.Symbol) -> Match | None:
        """A bare name whose only definition is as a call: J of ``J(\\hat y) = …``, h_θ of ``h_\\theta(x) = …``.

        ``\\frac{dJ}{d\\hat y_i}`` means that definition at its own arguments, when they are plain names
        (a definition of ``h_\\theta(x^{(i)})`` leaves open which x a bare h_θ is taken at).
        """
        found = [
            d
            for d in self.definitions
            if isinstance(d.target, AppliedUndef)
            and d.target.func.__name__ == name.name
            and d.target.args
            and all(isinstance(arg, sp.Symbol) for arg in d.target.args)  # h_θ(x^{(i)}): at which x?
        ]
        return Match(found[0], patterns.Binding()) if len(found) == 1 else None

    def heads(self) -> set:
        """What the definitions define: ('symbol', C), ('indexed', z), ('call', σ)."""
        return {patterns.head(d.target) for d in self.definitions} - {None}

    def recursive(self) -> set:
        """The heads whose definitions lead back to themselves (layer recursions)."""
        return patterns.recursive_heads(self.definitions)
