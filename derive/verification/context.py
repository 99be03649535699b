"""What a step is checked against: the document's definitions and assumptions.

Definitions are patterns (:mod:`.patterns`): ``z^l_j = …`` applies to every layer l and
neuron j, ``\\sigma(A_i) = …`` rebinds σ for the document, ``a_1 = …`` applies to a_1 only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sympy as sp

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
        return best

    def heads(self) -> set:
        """What the definitions define: ('symbol', C), ('indexed', z), ('call', σ)."""
        return {patterns.head(d.target) for d in self.definitions} - {None}

    def recursive(self) -> set:
        """The heads whose definitions lead back to themselves (layer recursions)."""
        return patterns.recursive_heads(self.definitions)
