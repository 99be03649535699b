"""Definitions as patterns: whether ``z^l_j = …`` applies to ``z^{3}_{2}``, and with which binding.

The left side of a definition is a *pattern*:

* a symbol (``C``, ``\\Sigma``) stands for itself;
* an indexed name is a pattern over its symbol indices: ``z^l_j`` (read as ``z[l, j]``)
  applies to ``z[3, 2]`` with l = 3, j = 2; an integer index must match exactly
  (``a_1``), and ``a^{l+1}_k`` binds l to the node's index minus one;
* a call is a pattern over its arguments: ``\\sigma(A_i)`` applies to ``\\sigma(A_3)``
  with i = 3, ``L(\\hat y, y)`` to any call of L with two arguments.  A user
  function whose argument does not fit (``h_\\theta(x^i)`` called as
  ``h_\\theta(x^{(1)})``) takes the argument as its formal parameter instead.

When several definitions apply, the most specific one (most fixed indices) wins.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sympy as sp
from sympy.core.function import AppliedUndef


@dataclass(frozen=True)
class Binding:
    """How a definition's pattern fits a node."""

    symbols: dict = field(default_factory=dict)  # pattern symbol -> the node's expression
    replace: dict = field(default_factory=dict)  # formal argument -> actual argument (xreplace)
    fixed: int = 0  # how many positions of the pattern are fixed (its specificity)


def is_call(expr: sp.Basic) -> bool:
    """A function applied to arguments: a user's ``h(x)`` or a catalog ``\\sigma(z)``, ``\\tanh(z)``."""
    return isinstance(expr, sp.Function) and not isinstance(expr, sp.Indexed)


def head(expr: sp.Basic) -> tuple | None:
    """What a definition of ``expr`` defines: ('symbol', C), ('indexed', z) or ('call', σ)."""
    if isinstance(expr, sp.Symbol):
        return ("symbol", expr)
    if isinstance(expr, sp.Indexed):
        return ("indexed", expr.base.label)
    if is_call(expr):
        return ("call", expr.func)
    return None


def name_parts(expr: sp.Basic) -> tuple[sp.Symbol, tuple] | None:
    """A name's label and indices: ``C`` is (C, ()), ``z^l_j`` is (z, (l, j)); None for anything else."""
    if isinstance(expr, sp.Symbol):
        return expr, ()
    if isinstance(expr, sp.Indexed):
        return expr.base.label, tuple(expr.indices)
    return None


def fit(target: sp.Basic, node: sp.Basic) -> Binding | None:
    """The binding under which the pattern ``target`` is ``node``, or None."""
    if isinstance(target, sp.Symbol):
        return Binding() if node == target else None
    if isinstance(target, sp.Indexed):
        if not isinstance(node, sp.Indexed) or node.base != target.base or len(node.indices) != len(target.indices):
            return None
        symbols: dict = {}
        for pattern, index in zip(target.indices, node.indices, strict=True):
            if not _index(pattern, index, symbols):
                return None
        return Binding(symbols, fixed=sum(1 for p in target.indices if not p.free_symbols))
    if is_call(target):
        if not is_call(node) or node.func != target.func or len(node.args) != len(target.args):
            return None
        symbols = {}
        if all(_unify(p, n, symbols) for p, n in zip(target.args, node.args, strict=True)):
            return Binding(symbols, fixed=_fixed(target))
        if isinstance(target, AppliedUndef):  # h_θ(x^i) called as h_θ(x^{(1)}): x^i is the formal parameter
            return Binding(replace=dict(zip(target.args, node.args, strict=True)))
    return None


def _fixed(target: sp.Basic) -> int:
    return sum(1 for ix in target.atoms(sp.Indexed) for i in ix.indices if not i.free_symbols)


def _index(pattern: sp.Basic, index: sp.Basic, symbols: dict) -> bool:
    """Whether an index pattern (``j``, ``1``, ``l+1``) fits ``index``; binds its symbol."""
    if isinstance(pattern, sp.Symbol):
        return _bind(pattern, index, symbols)
    if not pattern.free_symbols:
        return pattern == index
    variables = pattern.free_symbols
    if len(variables) == 1:
        (variable,) = variables
        offset = pattern - variable
        if offset.is_Integer:  # l + 1 → l = index − 1
            return _bind(variable, index - offset, symbols)
    return pattern == index


def _bind(symbol: sp.Symbol, value: sp.Basic, symbols: dict) -> bool:
    if symbol in symbols:
        return symbols[symbol] == value
    symbols[symbol] = value
    return True


def _unify(pattern: sp.Basic, node: sp.Basic, symbols: dict) -> bool:
    """Whether an argument pattern fits ``node``: symbols bind, indexed names bind their indices."""
    if isinstance(pattern, sp.Symbol):
        return _bind(pattern, node, symbols)
    if isinstance(pattern, sp.Indexed):
        if not isinstance(node, sp.Indexed) or node.base != pattern.base or len(node.indices) != len(pattern.indices):
            return False
        return all(_index(p, n, symbols) for p, n in zip(pattern.indices, node.indices, strict=True))
    if not pattern.args:
        return pattern == node
    if type(pattern) is not type(node) or len(pattern.args) != len(node.args):
        return False
    return all(_unify(p, n, symbols) for p, n in zip(pattern.args, node.args, strict=True))


def mentioned_heads(expr: sp.Basic) -> set:
    """The heads (see :func:`head`) that ``expr`` mentions (the indices of an indexed name are no names)."""
    found: set = set()
    seen: set = set()
    todo = [expr]
    while todo:
        node = todo.pop()
        if node in seen:
            continue
        seen.add(node)
        if isinstance(node, sp.Indexed):
            found.add(("indexed", node.base.label))
            continue
        if isinstance(node, sp.Symbol):
            found.add(("symbol", node))
        elif is_call(node):
            found.add(("call", node.func))
        todo.extend(arg for arg in node.args if isinstance(arg, sp.Basic) and not isinstance(arg, sp.IndexedBase))
    return found


def recursive_heads(definitions: list) -> set:
    """The heads whose definitions lead back to themselves (``z^l`` → ``a^{l-1}`` → ``z^{l-1}``)."""
    graph: dict = {}
    for definition in definitions:
        key = head(definition.target)
        if key is not None:
            graph.setdefault(key, set()).update(mentioned_heads(definition.value))
    recursive = set()
    for start in graph:
        seen: set = set()
        todo = list(graph[start])
        while todo:
            current = todo.pop()
            if current == start:
                recursive.add(start)
                break
            if current in seen or current not in graph:
                continue
            seen.add(current)
            todo.extend(graph[current])
    return recursive


def layer_positions(definitions: list) -> dict:
    """Indexed base label → the index positions that count layers (or time steps).

    A layer index is one that a recursive definition shifts: l in ``z^l_j = … a^{l-1}_k …``.
    Every position that holds it, in any definition, counts layers too (the l of ``w^l_{jk}``,
    ``b^l_j``, and of ``\\delta^l_j = \\partial C/\\partial z^l_j``).
    """
    recursive = recursive_heads(definitions)
    entries = []
    layer_symbols: list[set] = []
    for definition in definitions:
        atoms = [definition.target] if isinstance(definition.target, sp.Indexed) else []
        atoms += sorted(definition.value.atoms(sp.Indexed), key=str)
        occurrences = [(atom.base.label, p, ix) for atom in atoms for p, ix in enumerate(atom.indices)]
        entries.append(occurrences)
        seeds = set()
        if isinstance(definition.target, sp.Indexed) and head(definition.target) in recursive:
            targets = {s for ix in definition.target.indices for s in ix.free_symbols}
            seeds = {
                s for _, _, ix in occurrences for s in ix.free_symbols & targets if ix != s and (ix - s).is_Integer
            }
        layer_symbols.append(seeds)
    positions: set = set()
    while True:
        found = {
            (label, p)
            for occurrences, symbols in zip(entries, layer_symbols, strict=True)
            for label, p, ix in occurrences
            if ix.free_symbols & symbols
        }
        grown = False
        for occurrences, symbols in zip(entries, layer_symbols, strict=True):
            extra = {s for label, p, ix in occurrences if (label, p) in found for s in ix.free_symbols} - symbols
            if extra:
                symbols.update(extra)
                grown = True
        positions = found
        if not grown:
            break
    out: dict = {}
    for label, p in positions:
        out.setdefault(label, set()).add(p)
    return out
