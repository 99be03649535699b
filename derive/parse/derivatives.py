"""Derivatives: ``\\frac{\\partial C}{\\partial w_j}``, ``\\frac{d}{dz} X``, ``d\\sigma/dz``, ``\\nabla_a C``.

:class:`Derivatives` is one part of :class:`derive.parse.dialect.Reader` (a mixin, see
:mod:`derive.parse.names`).  A derivative of a quantity with no definition stays an unevaluated
``Derivative``: it must never become 0.
"""

from __future__ import annotations

from typing import NamedTuple

import sympy as sp
from sympy.core.function import AppliedUndef

from derive.errors import ParseError
from derive.parse import scanner
from derive.parse import vocabulary as v


class DerivativeParts(NamedTuple):
    """A fraction read as a derivative: the numerator after its ∂ (empty for an operator) and the variables."""

    top: list
    variables: list[tuple[sp.Expr, int]]  # (variable, order)


class Derivatives:
    """Reading the notations of a derivative."""

    def d_at(self, nodes: list, k: int) -> int | None:
        """If a differential 'd' (d or \\mathrm{d}) starts at ``k``, the index after it."""
        if k >= len(nodes):
            return None
        node = nodes[k]
        if v.is_tok(node, "letter", "d"):
            return k + 1
        if v.is_tok(node, "cmd", r"\mathrm", r"\text", r"\operatorname") and k + 1 < len(nodes):
            arg = nodes[k + 1]
            if v.is_group(arg) and scanner.text_of(arg.children).strip() == "d":
                return k + 2
        return None

    def fraction(self, nodes: list, i: int) -> v.Piece:
        """``\\frac{a}{b}``, or a derivative written as one (also the operator form ``\\frac{d}{dz}`` X)."""
        num, j = self.argument(nodes, i + 1)
        den, j = self.argument(nodes, j)
        return self.quotient(nodes, i, unbrace(num), unbrace(den), j)

    def quotient(self, nodes: list, i: int, num: list, den: list, j: int) -> v.Piece:
        """``num/den`` of a fraction at ``nodes[i]`` whose arguments end at ``j``."""
        derivative = self.derivative_parts(num, den)
        if derivative is None:
            return v.Piece(rf"\frac{{{self.expression(num)}}}{{{self.expression(den)}}}", j)
        if not derivative.top:  # operator form d/dz applied to the following term
            end = self.term_end(nodes, j)
            if end == j:
                raise self.error("a derivative operator with nothing to act on", nodes[i])
            expr = self.value(nodes[j:end], "operand of the derivative")
            j = end
        else:
            expr = self.value(derivative.top, "numerator of the derivative")
        return v.Piece(self.hold(by_variables(expr, derivative.variables)), j)

    def derivative_parts(self, num: list, den: list) -> DerivativeParts | None:
        """The parts of ``num/den`` if it is a derivative, else None."""
        partial = bool(num) and v.is_tok(num[0], "cmd", r"\partial")
        if partial:
            if not den or not v.is_tok(den[0], "cmd", r"\partial"):
                return self.bare_denominator(num, den)
            start = 1
        else:
            start = self.d_at(num, 0)
            if start is None or self.d_at(den, 0) is None or len(den) < 2:
                return None
            if start < len(num) and v.is_tok(num[start], "op", "/"):
                return None
        order = 1
        if start < len(num) and v.is_tok(num[start], "op", "^"):
            script, start = self.script(num, start + 1, num[start])
            order = self.small_integer(script, num[0])
        variables = self.differentials(den, partial)
        if sum(variable[1] for variable in variables) != order:
            raise self.error("the orders of the numerator and denominator of a derivative differ", num[0])
        return DerivativeParts(num[start:], variables)

    def bare_denominator(self, num: list, den: list) -> DerivativeParts | None:
        """``\\frac{\\partial}{o_k}``, ``\\frac{\\partial C}{z^{l+1}_j}``: the ∂ of the denominator left out.

        ∂ over a single name can only mean the derivative by that name; anything else is None.
        """
        try:
            atom = self.atom(den, 0) if den else None
        except ParseError:
            return None
        if atom is None or atom.end != len(den) or atom.primes or atom.power is not None:
            return None
        if not isinstance(atom.value, (sp.Symbol, sp.Indexed)) or len(num) > 1 and v.is_tok(num[1], "op", "^"):
            return None  # a higher order needs its ∂x^n written
        return DerivativeParts(num[1:], [(atom.value, 1)])

    def differentials(self, den: list, partial: bool) -> list[tuple[sp.Expr, int]]:
        """The variables of a derivative's denominator ``∂w ∂b``, ``dx^2``: [(variable, order)]."""
        variables = []
        k = 0
        while k < len(den):
            nxt = (
                (k + 1)
                if partial and v.is_tok(den[k], "cmd", r"\partial")
                else (None if partial else self.d_at(den, k))
            )
            if nxt is None or nxt >= len(den):
                raise self.error("the denominator of a derivative must be ∂x or dx", den[min(k, len(den) - 1)])
            atom = self.atom(den, nxt)
            if atom.primes:
                raise self.error("a prime on a differentiation variable", den[nxt])
            called = self.called_variable(den, nxt, atom)
            if called is not None:  # ∂σ(A_i): by the value of a function
                variables.append((self.held[called.text], 1))
                k = called.end
                continue
            if not isinstance(atom.value, (sp.Symbol, sp.Indexed)):
                raise self.error(f"cannot differentiate with respect to {atom.value}", den[nxt])
            variables.append((atom.value, self.small_integer(atom.power, den[nxt]) if atom.power else 1))
            k = atom.end
        return variables

    def called_variable(self, den: list, k: int, atom) -> v.Piece | None:
        """``\\partial \\sigma(A_i)`` in a denominator: the call read (held), or None if no call follows the name."""
        if atom.power is not None or atom.end >= len(den) or not v.is_group(den[atom.end], "("):
            return None
        if atom.name not in v.FUNCTIONS and atom.name not in v.CALL_HEADS and not atom.word:
            return None
        piece = self.operand(den, k)
        value = self.held.get(piece.text)
        if value is None or isinstance(value, (sp.Symbol, sp.Indexed)) or not isinstance(value, sp.Function):
            raise self.error(
                f"cannot differentiate with respect to {scanner.source(self.text, den[k : piece.end])}", den[k]
            )
        return piece

    def small_integer(self, script: list, at) -> int:
        """A derivative order 1-9."""
        text = scanner.text_of(script).strip()
        if not text.isdigit() or not 1 <= int(text) <= 9:
            raise self.error(f"expected a derivative order 1-9, found {text!r}", at)
        return int(text)

    def inline_derivative(self, nodes: list, i: int) -> v.Piece | None:
        """``dA/dB`` inline (``d\\sigma/dz``, ``\\mathrm{d}\\sigma/\\mathrm{d}z``), or None when the d is a symbol."""
        start = self.d_at(nodes, i)
        try:
            if start is None or start >= len(nodes):
                return None
            if v.is_tok(nodes[i], "letter") and not v.adjacent(nodes[i], nodes[start]):
                return None
            top = self.atom(nodes, start)
            j = top.end
            if j + 2 >= len(nodes) or not v.is_tok(nodes[j], "op", "/"):
                return None
            below = self.d_at(nodes, j + 1)
            if below is None or below >= len(nodes):
                return None
            var = self.atom(nodes, below)
        except ParseError:
            return None
        if not isinstance(var.value, (sp.Symbol, sp.Indexed)):
            return None
        after = nodes[var.end] if var.end < len(nodes) else None
        if v.is_group(after, "(", "[") or v.is_tok(after, "number"):
            written = scanner.source(self.text, nodes[i : var.end + 1])
            raise self.error(
                f"'{written}' is ambiguous: the derivative times what follows, or the derivative of it? "
                "write \\frac{d}{dx}(…) for the derivative of an expression, or put \\cdot before a factor",
                nodes[i],
            )
        return v.Piece(self.hold(sp.Derivative(top.value, var.value)), var.end)

    def partial(self, nodes: list, i: int) -> v.Piece:
        """``\\partial_{o_j} l`` (an operator on the term that follows) or ``\\partial z_i / \\partial x_k``."""
        if i + 2 < len(nodes) and v.is_tok(nodes[i + 1], "op", "_"):
            sub, j = self.script(nodes, i + 2, nodes[i + 1])
            var = self.value(sub, "differentiation variable")
            if not isinstance(var, (sp.Symbol, sp.Indexed)):
                raise self.error(f"cannot differentiate with respect to {var}", nodes[i])
            end = self.term_end(nodes, j)
            if end == j:
                raise self.error("a derivative operator with nothing to act on", nodes[i])
            return v.Piece(self.hold(sp.Derivative(self.value(nodes[j:end], "operand of the derivative"), var)), end)
        slash = self.slash_partial(nodes, i)
        if slash is not None:
            return slash
        raise self.error(r"\partial outside a \frac{\partial …}{\partial …}", nodes[i])

    def slash_partial(self, nodes: list, i: int) -> v.Piece | None:
        """``\\partial z_i / \\partial x_k``: the derivative, or None if the nodes are not of that form."""
        try:
            if i + 1 >= len(nodes):
                return None
            top = self.atom(nodes, i + 1)
            j = top.end
            if j + 2 >= len(nodes) or not v.is_tok(nodes[j], "op", "/"):
                return None
            if not v.is_tok(nodes[j + 1], "cmd", r"\partial"):
                return None
            var = self.atom(nodes, j + 2)
        except ParseError:
            return None
        if not isinstance(var.value, (sp.Symbol, sp.Indexed)) or top.primes or var.primes or var.power is not None:
            return None
        value = top.value if top.power is None else None
        if value is None:
            return None
        return v.Piece(self.hold(sp.Derivative(value, var.value)), var.end)

    def gradient(self, nodes: list, i: int) -> v.Piece:
        """``\\nabla_a C``: the derivative of C with respect to a, read per component."""
        if i + 2 >= len(nodes) or not v.is_tok(nodes[i + 1], "op", "_"):
            raise self.error(r"\nabla needs a subscript variable, as in \nabla_a C", nodes[i])
        sub, j = self.script(nodes, i + 2, nodes[i + 1])
        var = self.value(sub, "gradient variable")
        if not isinstance(var, (sp.Symbol, sp.Indexed)):
            raise self.error(r"the subscript of \nabla must be a variable", nodes[i])
        if j >= len(nodes):
            raise self.error(r"\nabla_x needs something to differentiate", nodes[i])
        end = self.operand(nodes, j).end
        expr = self.value(nodes[j:end], "operand of the gradient")
        return v.Piece(self.hold(sp.Derivative(expr, var)), end)


def by_variables(expr: sp.Expr, variables: list[tuple[sp.Expr, int]]) -> sp.Expr:
    """``expr`` differentiated by ``variables``; by the value of a function (∂ log σ(a) / ∂σ(a)) through a stand-in.

    The value f(a) is replaced by a variable t, the derivative taken by t, and f(a) put back (``Subs``):
    what ∂/∂σ(a) means when a person writes it.
    """
    if all(isinstance(var, (sp.Symbol, sp.Indexed)) for var, _ in variables):
        return sp.Derivative(expr, *variables)
    if len(variables) != 1:
        raise ParseError("a derivative by the value of a function and by another variable at once is not supported")
    ((var, order),) = variables
    t = sp.Dummy("t")
    stand_in = expr.xreplace({var: t})
    hidden = stand_in.atoms(AppliedUndef, sp.Derivative, sp.Subs) or stand_in.free_symbols - {t} - var.free_symbols
    if hidden:  # ∂C/∂σ(a): C may depend on σ(a) through its definition, which is not known here
        raise ParseError(
            f"a derivative by {var} of an expression with other names ({', '.join(sorted(map(str, hidden)))}) "
            "cannot be read: they may depend on it through their definitions"
        )
    return sp.Subs(sp.Derivative(stand_in, (t, order)), t, var)


def unbrace(nodes: list) -> list:
    """``{{dx}}``: the content of braces that hold nothing else (doubled braces mean nothing)."""
    while len(nodes) == 1 and v.is_group(nodes[0], "{"):
        nodes = scanner.strip_spaces(nodes[0].children)
    return nodes
