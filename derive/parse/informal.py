"""Notation found in real documents: indicators, primes on expressions, ``\\over``, ``\\color`` switches.

* ``1\\{k = i\\}``, ``1_{i=j}``, ``\\mathbb{1}_{i=j}``: the indicator of ``k = i``, a ``KroneckerDelta``
  (``\\neq`` gives ``1 - KroneckerDelta``); ``\\mathbf{1}_i`` (the all-ones vector) is 1;
* ``(\\frac{1}{1+e^{-z}})'``, ``[\\sigma(x)^{-1}]'``: the derivative with respect to the single free
  variable of the expression (a ParseError if it has several); ``(1)'`` and ``1^\\prime`` are 0;
* ``{a \\over b}``: ``\\frac{a}{b}`` (a derivative too: ``{\\partial y \\over \\partial z}``);
* ``\\color{blue}`` (the switch form) colours what follows: it is dropped;
* ``\\mathrm{d}\\sigma/\\mathrm{d}z``: an inline derivative.

:class:`Informal` is one part of :class:`derive.parse.dialect.Reader` (a mixin, see :mod:`derive.parse.names`).
"""

from __future__ import annotations

import sympy as sp
from sympy.core.function import AppliedUndef

from derive.catalog import softmax as catalog_softmax
from derive.errors import ParseError
from derive.parse import scanner
from derive.parse import vocabulary as v

#: Bars that close differently from how they open.
CLOSING_BARS = {r"\lvert": r"\rvert", r"\lVert": r"\rVert"}
#: Fonts in which a ``1`` is an indicator or the all-ones vector.
ONE_FONTS = {r"\mathbb", r"\mathbf", r"\boldsymbol", r"\bm", r"\mathrm"}


class Informal:
    """Reading the informal notation listed in the module's docstring."""

    # ---- indicators ------------------------------------------------------------------------------
    def number_one(self, nodes: list, i: int) -> v.Piece | None:
        """``1\\{k = i\\}`` or ``1_{i=j}`` at ``i`` (a number 1), or None if the 1 is just a number."""
        after = nodes[i + 1] if i + 1 < len(nodes) else None
        if v.is_group(after, "\\{"):
            return v.Piece(self.hold(self.indicator(scanner.strip_spaces(after.children), after)), i + 2)
        if v.is_tok(after, "op", "_") and v.adjacent(nodes[i], after):
            sub, j = self.script(nodes, i + 2, after)
            if v.relation_ops(sub):
                return v.Piece(self.hold(self.indicator(sub, after)), j)
        return None

    def bold_one(self, nodes: list, i: int) -> v.Piece | None:
        """``\\mathbb{1}_{i=j}`` (an indicator) or ``\\mathbf{1}_i`` (the all-ones vector, 1), else None."""
        if nodes[i].text not in ONE_FONTS or i + 1 >= len(nodes):
            return None
        if scanner.text_of(self.argument(nodes, i + 1).nodes).strip() != "1":
            return None
        j = i + 2
        if j + 1 < len(nodes) and v.is_tok(nodes[j], "op", "_"):
            sub, end = self.script(nodes, j + 1, nodes[j])
            if v.relation_ops(sub):
                return v.Piece(self.hold(self.indicator(sub, nodes[j])), end)
            return v.Piece(self.hold(sp.S.One), end)  # a component of the all-ones vector
        return v.Piece(self.hold(sp.S.One), j)

    def indicator(self, nodes: list, at) -> sp.Expr:
        """The indicator of ``k = i`` (KroneckerDelta) or of ``k \\neq i`` (1 − KroneckerDelta)."""
        relations = self.relations(nodes)
        if not relations or len(relations) != 1 or not isinstance(relations[0], (sp.Eq, sp.Ne)):
            raise self.error("an indicator needs one relation k = i or k \\neq i", at)
        relation = relations[0]
        delta = sp.KroneckerDelta(relation.lhs, relation.rhs)
        return delta if isinstance(relation, sp.Eq) else 1 - delta

    def bracketed_component(self, nodes: list, i: int) -> v.Piece | None:
        """``[\\sigma(\\mathbf{a})]_i``: component i of a call written in brackets, as ``\\sigma(\\mathbf{a})_i``.

        σ and softmax give the catalog's softmax component; another function f gives ``f(a, i)``.  None when
        the brackets hold something other than one call.
        """
        if not (v.is_group(nodes[i], "(", "[") and i + 2 < len(nodes) and v.is_tok(nodes[i + 1], "op", "_")):
            return None
        inner = scanner.strip_spaces(nodes[i].children)
        if len(inner) < 2 or not v.is_group(inner[-1], "(") or not isinstance(inner[0], scanner.Tok):
            return None
        if inner[0].kind != "cmd" and not self.is_one_call(inner):
            return None  # [a(1-a)]_j: a product in brackets, not a call
        written = [*inner, nodes[i + 1], nodes[i + 2]]  # [f(a)]_i read as f(a)_i
        try:
            piece = self.operand(written, 0)
        except ParseError:
            return None
        value = self.held.get(piece.text)
        if piece.end != len(written) or not isinstance(value, (catalog_softmax.softmax, AppliedUndef)):
            return None
        return v.Piece(piece.text, i + 3)

    def is_one_call(self, nodes: list) -> bool:
        """Whether ``nodes`` read as one call of an undefined function (``f(x)``, ``s(\\mathbf x)``)."""
        try:
            piece = self.operand(nodes, 0)
        except ParseError:
            return False
        return piece.end == len(nodes) and isinstance(self.held.get(piece.text), AppliedUndef)

    # ---- primes on an expression ---------------------------------------------------------------
    def prime_count(self, nodes: list, j: int) -> tuple[int, int]:
        """Primes written after an operand ending at ``j`` (``'``, ``^\\prime``, ``^{'}``): (count, next index)."""
        count = 0
        while j < len(nodes):
            if v.is_tok(nodes[j], "op", "'"):
                count, j = count + 1, j + 1
                continue
            if v.is_tok(nodes[j], "op", "^") and j + 1 < len(nodes):
                script = self.argument(nodes, j + 1)
                if self.primes(script.nodes):
                    count, j = count + self.primes(script.nodes), script.end
                    continue
            break
        return count, j

    def primed(self, nodes: list, i: int, end: int, primes: int) -> str:
        """The operand ``nodes[i:end]`` differentiated ``primes`` times by its single free variable."""
        expr = self.value(nodes[i:end], "primed expression")
        if not expr.free_symbols:  # (1)', 1^\prime: a constant
            return self.hold(sp.S.Zero)
        variables = free_variables(expr)
        if len(variables) != 1:
            found = ", ".join(sorted(str(x) for x in variables)) or "none"
            raise self.error(
                f"a prime on an expression needs exactly one free variable to differentiate by (found {found})",
                nodes[i],
            )
        return self.hold(sp.Derivative(expr, (variables.pop(), primes)))

    # ---- norms and absolute values ----------------------------------------------------------------
    def bars(self, nodes: list, i: int) -> v.Piece:
        """``|x|``, ``\\|x\\|``, ``\\lvert x \\rvert``: the absolute value (a norm in the scalar view)."""
        opener = nodes[i]
        closer = CLOSING_BARS.get(opener.text, opener.text)
        closers = (closer, r"\evalat") if closer == "|" else (closer,)  # \left| x \right| closes with \right|
        k = next(
            (k for k in range(i + 1, len(nodes)) if isinstance(nodes[k], scanner.Tok) and nodes[k].text in closers),
            None,
        )
        if k is None:
            raise self.error(f"'{opener.text}' is never closed", opener)
        if k == i + 1:
            raise self.error(f"nothing between '{opener.text}' and '{closer}'", opener)
        return v.Piece(self.hold(sp.Abs(self.value(nodes[i + 1 : k], "absolute value"))), k + 1)

    # ---- evaluation bars -------------------------------------------------------------------------
    def evaluated(self, nodes: list, i: int, out) -> int:
        """``\\left. f \\right|_{x=a}``: f at x = a (``Subs``), f being everything before the bar.

        With limits, ``\\left. F \\right|_{x=a}^{b}`` (either order) is F at b minus F at a.
        """
        j, scripts = i + 1, {}
        while j + 1 < len(nodes) and v.is_tok(nodes[j], "op", "_", "^") and nodes[j].text not in scripts:
            scripts[nodes[j].text], j = self.script(nodes, j + 1, nodes[j])
        if "_" not in scripts:
            if "^" in scripts:
                raise self.error("an evaluation bar needs x = a below it", nodes[i])
            return j
        relations = self.relations(scripts["_"])
        if not relations or len(relations) != 1 or not isinstance(relations[0], sp.Eq):
            raise self.error("an evaluation bar needs x = a below it", nodes[i])
        if not i:
            raise self.error("an evaluation bar with nothing before it", nodes[i])
        at = relations[0]
        expr = self.value(nodes[:i], "evaluated expression")
        value = sp.Subs(expr, at.lhs, at.rhs)
        if "^" in scripts:
            top = self.relations(scripts["^"])
            if top is not None and (len(top) != 1 or not isinstance(top[0], sp.Eq) or top[0].lhs != at.lhs):
                raise self.error(f"the upper limit of an evaluation bar is {at.lhs} = b or b", nodes[i])
            upper = top[0].rhs if top else self.value(scripts["^"], "upper limit")
            value = sp.Subs(expr, at.lhs, upper) - value
        out.parts[:] = [self.hold(value)]
        out.last_operand = True
        return j

    # ---- \over and \color ---------------------------------------------------------------------------
    def over(self, nodes: list) -> str:
        """``a \\over b`` (the whole of ``nodes``): the backend string of the fraction."""
        parts = v.split_top(nodes, lambda n: v.is_tok(n, "cmd", r"\over"))
        if len(parts) != 2 or not parts[0] or not parts[1]:
            raise self.error(r"\over needs one numerator and one denominator", nodes[0])
        derivative = self.derivative_parts(parts[0], parts[1])
        if derivative is None:
            return rf"\frac{{{self.expression(parts[0])}}}{{{self.expression(parts[1])}}}"
        if not derivative.top:
            raise self.error(r"write the operator form as \frac{\partial}{\partial x}, not with \over", nodes[0])
        return self.hold(sp.Derivative(self.value(derivative.top, "numerator"), *derivative.variables))

    def color_switch(self, nodes: list, i: int, out) -> int:
        """``\\color{blue}``: the colour of what follows; it carries no meaning."""
        if i + 1 >= len(nodes) or not v.is_group(nodes[i + 1], "{"):
            raise self.error(r"\color needs a colour in braces", nodes[i])
        return i + 2

    # ---- fonts that may hold notation ----------------------------------------------------------------
    def font(self, nodes: list, i: int) -> v.Piece:
        """``\\mathrm{d}\\sigma/\\mathrm{d}z``, ``\\mathbb{1}_{i=j}``, or a name in a font."""
        piece = self.inline_derivative(nodes, i) if self.d_at(nodes, i) is not None else None
        if piece is None:
            piece = self.bold_one(nodes, i)
        return piece if piece is not None else self.atom_operand(nodes, i)


def free_variables(expr: sp.Expr) -> set:
    """The variables of ``expr``: its Indexed atoms and its free symbols outside them and outside sum bounds."""
    indexed = expr.atoms(sp.Indexed)
    bounds = set()
    for limits in (s.limits for s in expr.atoms(sp.Sum, sp.Product)):
        for _, lower, upper in limits:
            bounds |= lower.free_symbols | upper.free_symbols
    plain = expr.xreplace({x: sp.Dummy() for x in indexed}).free_symbols - bounds
    return set(indexed) | {s for s in plain if not isinstance(s, sp.Dummy)}
