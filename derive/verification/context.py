"""What a step is checked against: the document's definitions and assumptions.

Definitions are patterns (:mod:`.patterns`): ``z^l_j = …`` applies to every layer l and
neuron j, ``\\sigma(A_i) = …`` rebinds σ for the document, ``a_1 = …`` applies to a_1 only.

A definition has a place in the document (:attr:`Definition.place`).  A step sees the definitions
given before it and, for a name nothing before it defines, a later one (``δ = a - y, \\quad a = σ(z)``,
a "where" row below, "recalling how z^{l+1}_i is …" further down): :meth:`Context.at`.  A display
that redefines a name (a row noted "definition" whose name is defined already) starts a new setting,
a worked example say: its definitions hold from there on and never reach back.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import sympy as sp
from sympy.core.function import AppliedUndef

from derive.verification import patterns


@dataclass(frozen=True)
class Definition:
    """``target = value``; target is a name pattern (:func:`.patterns.fit`).

    ``place`` is (row, display) of the row that gives it; (-1, -1) for a ``% define:`` line or an
    option, which hold for the whole document.
    """

    target: sp.Basic
    value: sp.Expr
    place: tuple[int, int] = (-1, -1)

    def with_value(self, target: sp.Basic, value: sp.Expr) -> Definition:
        """The same definition, in its place, written another way."""
        return replace(self, target=target, value=value)


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
    #: (row, display) of the row being read: where :meth:`define` places a definition
    here: tuple[int, int] = (-1, -1)
    #: the displays that redefine a name: new settings, whose definitions do not reach back
    settings: set[int] = field(default_factory=set)

    def define(self, target: sp.Basic, value: sp.Expr) -> Definition:
        """Add ``target = value``, given at :attr:`here`; a redefinition makes its display a new setting."""
        definition = Definition(target, value, self.here)
        if self.lookup(target) is not None:
            self.settings.add(self.here[1])
        self.definitions.append(definition)
        return definition

    def at(self, row: int, display: int) -> Context:
        """The definitions in force for a step of ``row`` in ``display`` (see the module's text).

        Those given at an earlier row (or by a directive), and the later ones whose name nothing earlier
        defines, unless they belong to a new setting further down.  The assumptions hold everywhere.
        """
        earlier = [d for d in self.definitions if d.place[0] <= row]
        defined = {patterns.head(d.target) for d in earlier}
        later = [
            d
            for d in self.definitions
            if d.place[0] > row
            and patterns.head(d.target) not in defined
            and (d.place[1] == display or d.place[1] not in self.settings)
        ]
        return Context([*earlier, *later], list(self.assumptions), self.here, set(self.settings))

    def lookup(self, node: sp.Basic) -> Match | None:
        """The most specific definition that applies to ``node`` (of equals, the latest given), or None."""
        best: Match | None = None
        key = patterns.head(node)
        if key is None:
            return None
        for definition in self.definitions:
            if patterns.head(definition.target) != key:
                continue
            binding = patterns.fit(definition.target, node)
            if binding is None:
                continue
            if best is None or (binding.fixed, definition.place[0]) > (best.binding.fixed, best.definition.place[0]):
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
