"""Sums, products and cases: ``\\sum_{k=1}^{K} f``, ``\\sum_x f``, ``\\sum_{i \\neq j} f``, ``\\prod``, ``cases``,
and elided sums ``y_1 + y_2 + \\dots + y_n``.

:class:`Sums` is one part of :class:`derive.parse.dialect.Reader` (a mixin, see :mod:`derive.parse.names`).
"""

from __future__ import annotations

from typing import NamedTuple

import sympy as sp
from sympy.concrete.expr_with_limits import ExprWithLimits

from derive.catalog import softmax as catalog_softmax
from derive.parse import scanner
from derive.parse import vocabulary as v

#: Words of a case that holds whatever the index.
OTHERWISE = ("otherwise", "else", "sonst")
#: Words that introduce a condition.
IF_WORDS = ("if", "for", "when", "where", "if:", "for all")


class Extremum(ExprWithLimits):
    """``\\max_k z_k`` (:class:`MaxOver`), ``\\min_k z_k`` (:class:`MinOver`): the extremum of the body
    over an index range.

    Like a Sum it stays unevaluated while its bounds are symbols; :meth:`doit` with integer bounds
    gives ``Max``/``Min`` of the terms (how verify's instantiation reads it).
    """

    is_commutative = True
    is_real = True
    name = ""

    def reduce(self, terms: list) -> sp.Expr:
        """The extremum of explicit terms."""
        raise NotImplementedError

    def doit(self, **hints) -> sp.Expr:
        var, lower, upper = self.limits[-1]
        if not (lower.is_Integer and upper.is_Integer):
            return self
        return self.reduce([self.function.xreplace({var: sp.Integer(v)}) for v in range(int(lower), int(upper) + 1)])

    def _latex(self, printer) -> str:
        var = self.limits[-1][0]
        return rf"\{self.name}_{{{printer._print(var)}}} {printer.parenthesize(self.function, 1000)}"

    def _sympystr(self, printer) -> str:
        return f"{self.name}_{printer._print(self.limits[-1][0])}({printer._print(self.function)})"


class MaxOver(Extremum):
    """``\\max_k z_k``."""

    name = "max"

    def reduce(self, terms: list) -> sp.Expr:
        return sp.Max(*terms)


class MinOver(Extremum):
    """``\\min_k z_k``."""

    name = "min"

    def reduce(self, terms: list) -> sp.Expr:
        return sp.Min(*terms)


class Limits(NamedTuple):
    """The scripts of a sum: its index, bounds and an excluded value (``\\sum_{i \\neq j}``) or None."""

    index: sp.Symbol
    lower: sp.Expr
    upper: sp.Expr
    excluded: sp.Expr | None


class Sums:
    """Reading big operators and case distinctions."""

    def big_operator(self, nodes: list, i: int) -> v.Piece:
        """``\\sum_{k=1}^{K} body``: the body is the product term that follows."""
        sub, sup, primes, j = self.read_scripts(nodes, i + 1)
        if primes:
            raise self.error("a prime on a sum", nodes[i])
        end = self.term_end(nodes, j)
        if end == j:
            raise self.error(f"{nodes[i].text} has nothing to sum", nodes[i])
        body = self.value(nodes[j:end], "summand")
        maker = sp.Product if nodes[i].text == r"\prod" else sp.Sum
        several = self.several_limits(sub, sup) if sub is not None else None
        if several is not None:  # \sum_{i,k}: one sum over each index
            return v.Piece(self.hold(maker(body, *several)), end)
        limits = self.limits(sub, sup, nodes[i]) if sub is not None else self.implicit_limits(body, sup, nodes[i])
        var = limits.index
        value = maker(body, (var, limits.lower, limits.upper))
        if limits.excluded is not None:
            left_out = body.xreplace({var: limits.excluded})
            value = value - left_out if maker is sp.Sum else value / left_out
        return v.Piece(self.hold(value), end)

    def extremum(self, nodes: list, i: int, name: str, sub: list, sup: list | None, j: int) -> v.Piece:
        """``\\max_k z_k``, ``\\min_{k} (z_k)``, ``\\max_{k=1}^{K} z_k``: over the index, its body one factor."""
        if j >= len(nodes) or v.is_tok(nodes[j], "op"):
            raise self.error(f"\\{name}_{{…}} needs a value to take the {name} of", nodes[i])
        end = self.operand(nodes, j).end
        while end + 1 < len(nodes) and v.is_tok(nodes[end], "op", "^", "_"):
            end += 2
        body = self.value(nodes[j:end], f"argument of \\{name}")
        limits = self.limits(sub, sup, nodes[i])
        if limits.excluded is not None:
            raise self.error(f"\\{name} over all but one index is not supported", nodes[i])
        maker = MaxOver if name == "max" else MinOver
        return v.Piece(self.hold(maker(body, (limits.index, limits.lower, limits.upper))), end)

    def several_limits(self, sub: list, sup: list | None) -> list[tuple] | None:
        """``\\sum_{i,k}``, ``\\sum_{kl}``, ``\\sum_{i,k=1}^{n}``: the limits of each index.

        Every index gets the same bounds; None when the scripts name one index.
        """
        sides = v.split_top(sub, lambda n: v.is_tok(n, "op", "="))
        names = v.split_top(sides[0], lambda n: v.is_tok(n, "op", ","))
        if len(names) == 1 and len(sides) == 1 and len(names[0]) > 1 and all(v.is_tok(n, "letter") for n in names[0]):
            names = [[n] for n in names[0]]  # \sum_{kl} q_{kl}: over k and l (no index is named "kl")
        if len(names) < 2 or len(sides) > 2 or not all(len(n) == 1 and v.is_tok(n[0], "letter") for n in names):
            return None
        lower = self.value(sides[1], "lower limit") if len(sides) == 2 else sp.S.One
        symbols = [sp.Symbol(n[0].text) for n in names]
        upper = [self.value(sup, "upper limit") if sup is not None else sp.Symbol(f"N_{s.name}") for s in symbols]
        return [(s, lower, top) for s, top in zip(symbols, upper, strict=True)]

    def limits(self, sub: list, sup: list | None, at) -> Limits:
        """The index, bounds and excluded value of a sum's scripts."""
        parts = v.split_top(sub, lambda n: v.is_tok(n, "op", "="))
        excluded = None
        if len(parts) == 2:
            var = self.value(parts[0], "summation index")
            lower = self.value(parts[1], "lower limit")
        elif len(parts) == 1:
            rel = v.split_top(sub, lambda n: v.is_tok(n, "cmd", r"\neq", r"\ne", r"\in"))
            var = self.value(rel[0], "summation index")
            lower = sp.S.One
            if len(rel) == 2 and any(v.is_tok(n, "cmd", r"\neq", r"\ne") for n in sub):
                excluded = self.value(rel[1], "excluded index")
        else:
            raise self.error("cannot read the limits of this sum", at)
        if not isinstance(var, sp.Symbol):
            raise self.error(f"the summation index must be a letter, not {var}", at)
        upper = self.value(sup, "upper limit") if sup is not None else sp.Symbol(f"N_{var.name}")
        return Limits(var, lower, upper, excluded)

    def implicit_limits(self, body: sp.Expr, sup: list | None, at) -> Limits:
        """The limits of a sum written without an index (``\\sum e^{x_j}``, ``\\frac{1}{n}\\sum[…]``).

        It runs over the only free index of the summand (the indices of its ``Indexed`` atoms and
        Kronecker deltas), from 1 to the superscript or to ``N_<index>``; a summand without an index
        is summed over the training samples x, as ``\\sum_x``; a summand with several indices is
        ambiguous and raises a ParseError at the sum.
        """
        found = sorted(summand_indices(body), key=str)
        if len(found) > 1:
            names = ", ".join(str(ix) for ix in found)
            raise self.error(
                f"{at.text} without an index over a summand with the indices {names} is ambiguous: "
                f"write {at.text}_{found[0]}",
                at,
            )
        var = found[0] if found else sp.Symbol("x")
        upper = self.value(sup, "upper limit") if sup is not None else sp.Symbol(f"N_{var.name}")
        return Limits(var, sp.S.One, upper, None)

    def environment(self, nodes: list, i: int) -> v.Piece:
        """``\\begin{cases} value & condition \\\\ … \\end{cases}``: a Piecewise."""
        env = nodes[i].open[4:]
        if env != "cases":
            raise self.error(f"the environment {env} is not supported inside a formula", nodes[i])
        rows = [
            r for r in v.split_top(nodes[i].children, lambda n: v.is_tok(n, "cmd", r"\\")) if scanner.strip_spaces(r)
        ]
        pieces = []
        for row in rows:
            cells = v.split_top(row, lambda n: v.is_tok(n, "op", "&"))
            if len(cells) != 2:
                raise self.error("each row of cases needs 'value & condition'", nodes[i])
            pieces.append((self.value(cells[0], "case value"), self.condition(cells[1], nodes[i])))
        return v.Piece(self.hold(sp.Piecewise(*pieces)), i + 1)

    def condition(self, cell: list, at) -> sp.Basic:
        """A case or side condition: ``i = j``, ``\\text{if } i \\neq j``, ``\\text{otherwise}``."""
        words = [n for n in scanner.strip_spaces(cell) if not (v.is_tok(n, "op", ",", "."))]
        if words and v.is_tok(words[0], "cmd", r"\text", r"\mathrm", r"\textrm", r"\mbox") and len(words) > 1:
            said = scanner.text_of(words[1].children).strip().lower() if v.is_group(words[1]) else ""
            if said in OTHERWISE:
                return sp.true
            if said in IF_WORDS:
                words = words[2:]
        relations = self.relations(words)
        if relations is None or len(relations) != 1:
            raise self.error("a condition must be one relation, as in i = j", at)
        return relations[0]

    def elided_sum(self, nodes: list) -> str | None:
        """``T_1 + T_2 + \\dots + T_n`` among ``nodes`` as one sum, when its terms show the pattern; else None.

        The two terms before the dots must be the pattern at 1 and 2 (or 0 and 1) and the term after it the
        pattern at the upper bound: ``y_1 + y_2 + \\dots + y_n`` is ``\\sum_{j=1}^{n} y_j``.  Anything else
        with dots (two of them, a special term between, a sign that changes) is left to :meth:`ellipsis`.
        """
        dots = [k for k, n in enumerate(nodes) if v.is_tok(n, "cmd", *(rf"\{d}" for d in v.ELLIPSES))]
        if len(dots) != 1:
            return None
        k = dots[0]
        if not (0 < k < len(nodes) - 2 and v.is_tok(nodes[k - 1], "op", "+") and v.is_tok(nodes[k + 1], "op", "+")):
            return None
        left, right = nodes[: k - 1], nodes[k + 2 :]
        signs = [i for i, n in enumerate(left) if v.is_tok(n, "op", "+", "-")]
        end = next((i for i, n in enumerate(right) if i and v.is_tok(n, "op", "+", "-")), len(right))
        if not signs or not v.is_tok(left[signs[-1]], "op", "+"):
            return None
        start = signs[-2] + 1 if len(signs) > 1 else 0
        if start and not v.is_tok(left[start - 1], "op", "+"):
            return None
        first, second, last = left[start : signs[-1]], left[signs[-1] + 1 :], right[:end]
        if not first or not second or not last:
            return None
        total = _elided(self.value(first), self.value(second), self.value(last))
        if total is None:
            return None
        head = f"{self.expression(left[: start - 1])} + " if start else ""
        tail = self.expression(right[end:]) if end < len(right) else ""
        return f"{head} {self.hold(total)} {tail}"


def summand_indices(body: sp.Expr) -> set[sp.Symbol]:
    """The free index symbols of ``body``: in the indices of its Indexed atoms and its Kronecker deltas."""
    found: set = set()
    for atom in body.atoms(sp.Indexed):
        for index in atom.indices:
            found |= index.free_symbols
    for delta in body.atoms(sp.KroneckerDelta):
        found |= delta.free_symbols
    for component in body.atoms(catalog_softmax.softmax):
        found |= component.args[1].free_symbols
    return {ix for ix in found if isinstance(ix, sp.Symbol)} & body.free_symbols


def _elided(first: sp.Expr, second: sp.Expr, last: sp.Expr) -> sp.Expr | None:
    """The sum whose terms are ``first``, ``second``, …, ``last``: the pattern in an integer subscript.

    The subscript that is 1 in ``first`` (or 0) runs over a new index j; ``second`` must be the pattern at
    the next value and ``last`` at some upper bound n, found where ``last`` has that subscript.
    """
    used = {s.name for s in (first + second + last).free_symbols}
    j = sp.Symbol(next(name for name in ("j", "k", "m", "r", "s", "t", "u") if name not in used))
    for low in (sp.S.One, sp.S.Zero):

        def marked(node: sp.Basic, low: sp.Basic = low) -> bool:
            return isinstance(node, sp.Indexed) and low in node.indices

        found = sorted(first.atoms(sp.Indexed), key=str)
        where = [(a.base, a.indices.index(low), len(a.indices)) for a in found if low in a.indices]
        if not where:
            continue
        pattern = first.replace(marked, lambda a, low=low: a.func(a.base, *[j if i == low else i for i in a.indices]))
        if sp.expand(pattern.xreplace({j: low + 1}) - second) != 0:
            continue
        base, position, size = where[0]
        tops = {a.indices[position] for a in last.atoms(sp.Indexed) if a.base == base and len(a.indices) == size}
        for top in sorted(tops, key=str):
            if not top.is_Integer and sp.expand(pattern.xreplace({j: top}) - last) == 0:
                return sp.Sum(pattern, (j, low, top))
    return None
