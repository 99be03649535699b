"""The chain rule for a quantity no definition determines: ``∂C/∂z^l_j`` through what uses z^l_j.

A cost C that is never written down (Nielsen's "an arbitrary cost") still depends on
z^l_j in one way only: through the quantities *defined* from z^l_j, here a^l_j, which
in turn is used by every z^{l+1}_k, and so on up to the quantities nothing uses (the
last layer's activations).  So, for one instantiation,

    ∂C/∂v = Σ_u ∂C/∂u · ∂u/∂v     over the defined u whose definition uses v directly,

with ``∂u/∂v`` the derivative of u's own definition (one level), and ``∂C/∂u`` opaque
for a u that nothing uses.  An identity that holds whatever those opaque values are is
then a consequence of the chain rule alone (BP1–BP4); one that does not is undecided,
never "not equal", since it fails only through them.

Only definitions of symbols and indexed names count, and not those whose value holds a
derivative (``\\delta^l_j = \\partial C / \\partial z^l_j`` is *about* C, not an input of it).
"""

from __future__ import annotations

import itertools

import sympy as sp

from derive.verification import instances, patterns

MAX_FREE = 3  # unsolved pattern indices enumerated per definition


class Graph:
    """Who uses what, under the instantiation of one Resolver (``resolver.values``)."""

    def __init__(self, resolver) -> None:
        self.resolver = resolver
        self._users: dict = {}
        self._cost: dict = {}

    def cost_derivative(self, cost: sp.Basic, variable: sp.Basic) -> sp.Expr | None:
        """``∂cost/∂variable`` by the chain rule, or None when no definition uses the variable."""
        users = self.users(variable, cost)
        if not users:
            return None
        return sp.Add(*[self._through(cost, u) * sp.diff(value, variable) for u, value in users])

    def _through(self, cost: sp.Basic, node: sp.Basic) -> sp.Expr:
        """``∂cost/∂node``: by the chain rule again, or opaque where nothing uses the node."""
        key = (cost, node)
        if key not in self._cost:
            users = self.users(node, cost)
            if users:
                self._cost[key] = sp.Add(*[self._through(cost, u) * sp.diff(value, node) for u, value in users])
            else:
                self._cost[key] = self.resolver.opaque_symbol(sp.Derivative(cost, node, evaluate=False))
        return self._cost[key]

    def users(self, variable: sp.Basic, cost: sp.Basic) -> list[tuple[sp.Basic, sp.Expr]]:
        """The defined quantities whose definition uses ``variable`` directly, with that value.

        A definition that mentions the cost itself is not one of its inputs.
        """
        if variable not in self._users:
            self._users[variable] = self._find(variable)
        cost_head = patterns.head(cost)
        return [(u, value) for u, value in self._users[variable] if cost_head not in patterns.mentioned_heads(value)]

    def _find(self, variable: sp.Basic) -> list[tuple[sp.Basic, sp.Expr]]:
        if not isinstance(variable, (sp.Symbol, sp.Indexed)):
            return []
        found = []
        seen = set()
        for definition in self.resolver.context.definitions:
            if not isinstance(definition.target, (sp.Symbol, sp.Indexed)) or definition.value.has(sp.Derivative):
                continue
            for node in self._candidates(definition, variable):
                if node in seen or node == variable:
                    continue
                seen.add(node)
                match = self.resolver.lookup(node)
                if match is None or match.definition is not definition:
                    continue
                value = self._one_level(match)
                if value.has(variable):
                    found.append((node, value))
        return found

    def _one_level(self, match) -> sp.Expr:
        """The definition's value for its node, calls of defined functions expanded, names kept."""
        value = self.resolver.value(match, resolved=False)
        calls = [c for c in value.atoms(sp.Function) if patterns.is_call(c) and self.resolver.lookup(c) is not None]
        for _ in range(10):
            if not calls:
                break
            value = value.xreplace({c: self.resolver.value(self.resolver.lookup(c), resolved=False) for c in calls})
            calls = [c for c in value.atoms(sp.Function) if patterns.is_call(c) and self.resolver.lookup(c) is not None]
        return value

    def _candidates(self, definition, variable: sp.Basic) -> set:
        """Instances of the definition's target whose value may use ``variable``."""
        target = definition.target
        if isinstance(target, sp.Symbol):
            return {target}
        variables = sorted({s for ix in target.indices for s in ix.free_symbols}, key=str)
        partials = [{}]
        if isinstance(variable, sp.Indexed):
            partials = [
                p
                for atom in definition.value.atoms(sp.Indexed)
                if atom.base == variable.base and len(atom.indices) == len(variable.indices)
                for p in [_solve(atom.indices, variable.indices, set(variables))]
                if p is not None
            ]
        size = int(self.resolver.values.get(instances.SIZE, 3))
        nodes = set()
        for partial in partials:
            free = [s for s in variables if s not in partial]
            if len(free) > MAX_FREE:
                continue
            for combo in itertools.product(range(1, size + 1), repeat=len(free)):
                binding = {**partial, **{s: sp.Integer(v) for s, v in zip(free, combo, strict=True)}}
                nodes.add(target.xreplace(binding))
        return nodes


def _solve(pattern_indices: tuple, indices: tuple, variables: set) -> dict | None:
    """Values of the pattern's variables that make ``a^{l-1}_k`` the node ``a^{2}_{1}`` (k left free)."""
    solved: dict = {}
    for pattern, index in zip(pattern_indices, indices, strict=True):
        own = pattern.free_symbols & variables
        if len(own) != 1:
            continue
        (symbol,) = own
        offset = pattern - symbol
        if not offset.is_Integer:
            continue
        value = index - offset
        if solved.get(symbol, value) != value:
            return None
        solved[symbol] = value
    return solved
