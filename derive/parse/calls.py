"""Calls and primes: ``\\sigma(z)``, ``\\ln a``, ``\\log_{10} x``, ``L(\\hat y, y)``, ``f'(u)``, ``\\tanh^2(z)``.

:class:`Calls` is one part of :class:`derive.parse.dialect.Reader` (a mixin, see :mod:`derive.parse.names`).
"""

from __future__ import annotations

from collections.abc import Callable

import sympy as sp

from derive.catalog import softmax as catalog_softmax
from derive.parse import scanner
from derive.parse import vocabulary as v

#: Function names that are vector functions when a component is taken: σ(z)_i is softmax.
VECTOR = {"sigma", "varsigma", "softmax"}
#: The number of classes of a softmax read from notation that does not name it.
CLASSES = sp.Symbol("K")


class Calls:
    """Reading a function applied to its arguments, and the derivative that a prime asks for."""

    def call(
        self,
        nodes: list,
        i: int,
        name: str,
        j: int,
        head: sp.Basic | None = None,
        primes: int = 0,
        power: list | None = None,
    ) -> v.Piece:
        """A function applied to arguments: ``\\sigma(z)``, ``\\ln a``, ``L(\\hat y, y)``, ``f'(u)``."""
        base = None
        if head is None:  # a command such as \ln, \log_{10}, \tanh^2, \sigma'
            sub, sup, primes, j = self.read_scripts(nodes, j)
            if sub is not None and name in ("max", "min") and not primes:
                return self.extremum(nodes, i, name, sub, sup, j)  # \max_k z_k, \max_{k=1}^{K} z_k
            if sub is not None:
                if name != "log":
                    raise self.error(f"\\{name} with a subscript", nodes[i])
                base = self.value(sub, "logarithm base")
            power = sup
        if power is not None and scanner.text_of(power).replace(" ", "") in ("-1", "{-1}"):
            raise self.error(f"inverse-function notation {name}^{{-1}} is not supported", nodes[i])
        nodes = self.unwrap_call_parens(nodes, j)
        if j < len(nodes) and v.is_group(nodes[j], "(", "["):
            args = self.arguments(nodes[j])
            j += 1
        elif name in v.SYMBOL_HEADS and head is None and not primes:
            return self.atom_operand(nodes, i)  # a bare Greek letter is a symbol
        elif j < len(nodes) and not self.has_scripts(nodes, j):
            arg_nodes, j = self.bare_argument(nodes, j)
            args = [self.value(arg_nodes, f"argument of {name}")]
        else:
            raise self.error(f"{name} needs an argument", nodes[i])
        more, j = self.prime_count(nodes, j)  # f(u)', \\sigma(x)^\\prime
        primes += more
        component = None
        if j + 1 < len(nodes) and v.is_tok(nodes[j], "op", "_") and (name not in v.FUNCTIONS or name in VECTOR):
            sub, j = self.script(nodes, j + 1, nodes[j])
            component = self.indices(sub)
        if component:
            if primes:
                raise self.error("a component of a derivative is not supported", nodes[i])
            value = self.component(str(head) if head is not None else name, args, component)
        else:
            value = self.apply(name, args, base, primes, nodes[i])
        piece = self.hold(value)
        if power is not None:
            piece = "(" + piece + ")^{" + self.expression(power) + "}"
        return v.Piece(piece, j)

    def component(self, name: str, args: list, component: list) -> sp.Expr:
        """``\\sigma(z)_i``, ``\\mathrm{softmax}(\\mathbf{o})_j``: component i of a vector function.

        σ and softmax of a vector are the catalog's softmax ``softmax(z, i, K)`` over K classes (the
        symbol K); other functions, and softmax of a compound argument, stay ``Function(name)(args, i)``.
        """
        if name in VECTOR and len(args) == 1 and len(component) == 1 and isinstance(args[0], sp.Symbol):
            return catalog_softmax.softmax(sp.IndexedBase(args[0]), component[0], CLASSES)
        return sp.Function("softmax" if name in VECTOR else name)(*args, *component)

    def arguments(self, paren: scanner.Group) -> list[sp.Expr]:
        """The arguments in a parenthesis, split at ``,``, ``\\mid``, a lone ``|``, ``\\|``, ``||`` (``KL(P||Q)``)."""
        inner = scanner.strip_spaces(paren.children)
        bars = [n for n in inner if v.is_tok(n, "op", "|")]
        single_bar = len(bars) == 1  # p(y|x): a lone bar separates, like \mid (|x| comes in pairs)
        parts: list[list] = [[]]
        k = 0
        while k < len(inner):
            node = inner[k]
            if v.is_tok(node, "op", "|") and k + 1 < len(inner) and v.is_tok(inner[k + 1], "op", "|"):
                parts.append([])
                k += 2
                continue
            if v.is_tok(node, "op", ",") or v.is_tok(node, "cmd", r"\mid", r"\|") or single_bar and node is bars[0]:
                parts.append([])
            else:
                parts[-1].append(node)
            k += 1
        return [self.value(p, "argument") for p in parts]

    def bare_argument(self, nodes: list, j: int) -> v.Span:
        """The argument of ``\\ln a``: one factor, with its superscript (``\\ln x^2`` = ln(x²))."""
        if v.is_tok(nodes[j], "op"):
            raise self.error("a function name is followed by an operator, not its argument", nodes[j])
        end = self.operand(nodes, j).end
        while end < len(nodes) and v.is_tok(nodes[end], "op", "^"):
            end += 2
        return v.Span(nodes[j:end], end)

    def apply(self, name: str, args: list, base, primes: int, at) -> sp.Expr:
        """``name`` applied to ``args`` (a known function or an undefined one), differentiated ``primes`` times."""
        known = v.FUNCTIONS.get(name)
        if known is not None:
            if name in ("max", "min"):
                if len(args) < 2:
                    raise self.error(f"\\{name} needs two or more arguments", at)
            elif len(args) != 1:
                raise self.error(f"{name} takes one argument, got {len(args)}", at)
            if base is not None:
                return sp.log(args[0], base)
            if primes:
                return self.derivative_at(lambda t: known(t), args[0], primes, at)
            return known(*args)
        function = sp.Function(name)
        if primes:
            if len(args) != 1:
                raise self.error(f"{name}' of several arguments is ambiguous", at)
            return self.derivative_at(function, args[0], primes, at)
        return function(*args)

    def derivative_at(self, function: Callable, arg: sp.Expr, order: int, at) -> sp.Expr:
        """f^(order) evaluated at ``arg``: Derivative(f(u), u) or Subs for a compound u."""
        if isinstance(arg, (sp.Symbol, sp.Indexed)):
            return sp.Derivative(function(arg), (arg, order))
        t = sp.Dummy("t")
        return sp.Subs(sp.Derivative(function(t), (t, order)), t, arg)
