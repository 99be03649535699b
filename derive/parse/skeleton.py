r"""The skeleton of a formula, read without the LaTeX backend: held atoms joined by arithmetic.

derive's dialect reader (:mod:`derive.parse.dialect`) holds every name, call, derivative and sum
as an atom ``Q_{n}`` and hands the backend only what joins them:

    ((\frac{Q_{13} - Q_{16}}{Q_{19} \cdot (Q_{20} - Q_{23})}) \cdot Q_{27})

Measured over the verify and real-world corpora (782 distinct skeletons), these hold nothing but
``Q_{n}``, whole numbers, ``+ - \cdot / ^``, ``\frac``, parentheses and braces (and the pieces of
derive's own GELU fragments add ``\sqrt``).  latex2sympy2
spends 50–300 ms on each (ANTLR's full-context prediction in pure Python); this recursive-descent
reader takes microseconds and builds the same SymPy tree, unevaluated as the backend leaves it
(the same ``srepr`` on every one of those skeletons, checked in the tests).  Anything else, such
as a decimal point or two superscripts in a row, is :class:`NotSkeleton`, and the backend reads
the text as before.

The precedence is the backend's (latex2sympy2's PS grammar): ``+ -`` below ``\cdot * /`` (left to
right) below a sign below juxtaposition below ``^``; ``-Q^{2}`` is ``-(Q^2)``.

>>> sp.srepr(read(r"-Q_{10}^{2} + \frac{Q_{11}}{3}"))
"Add(Mul(Integer(-1), Pow(Symbol('Q_{10}'), Integer(2))), Mul(Pow(Integer(3), Integer(-1)), Symbol('Q_{11}')))"
"""

from __future__ import annotations

import re

import sympy as sp

_TOKEN = re.compile(r"\s*(?:(Q_\{\d+\})|(\d+)(?![.\d])|(\\frac|\\sqrt|\\cdot|\\times)(?![a-zA-Z])|([-+*/^(){}]))")


class NotSkeleton(Exception):
    """The text holds something outside the skeleton language: the backend must read it."""


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            raise NotSkeleton(text[pos:])
        atom, number, command, op = match.groups()
        if atom:
            out.append(("atom", atom))
        elif number:
            out.append(("number", number))
        else:
            out.append(("op", command or op))
        pos = match.end()
    return out


def _atom(text: str) -> sp.Symbol:
    """``Q_{26}`` as the backend names it: ``Q_{26}``, but ``Q_1`` for one digit (the dialect's start at 10)."""
    digits = text[3:-1]
    return sp.Symbol(f"Q_{digits}" if len(digits) == 1 else text)


def _add_flat(lh: sp.Expr, rh: sp.Expr) -> sp.Expr:
    args = [*(lh.args if lh.is_Add else (lh,)), *(rh.args if rh.is_Add else (rh,))]
    return sp.Add(*args, evaluate=False)


def _mul_flat(lh: sp.Expr, rh: sp.Expr) -> sp.Expr:
    args = [*(lh.args if lh.is_Mul else (lh,)), *(rh.args if rh.is_Mul else (rh,))]
    return sp.Mul(*args, evaluate=False)


def _quotient(lh: sp.Expr, rh: sp.Expr) -> sp.Expr:
    return sp.Mul(lh, sp.Pow(rh, -1, evaluate=False), evaluate=False)


class _Reader:
    """Recursive descent over the tokens, building the tree latex2sympy2 builds (unevaluated, flattened
    the same way), so that the dialect's ``restore`` gives exactly what it gives for the backend's tree."""

    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens, self.i = tokens, 0

    def peek(self) -> str | None:
        return self.tokens[self.i][1] if self.i < len(self.tokens) else None

    def take(self, expected: str | None = None) -> tuple[str, str]:
        if self.i >= len(self.tokens):
            raise NotSkeleton("the text ends early")
        token = self.tokens[self.i]
        if expected is not None and token[1] != expected:
            raise NotSkeleton(f"expected {expected}, found {token[1]}")
        self.i += 1
        return token

    def additive(self) -> sp.Expr:
        value = self.multiplicative()
        while self.peek() in ("+", "-"):
            sign = self.take()[1]
            right = self.multiplicative()
            if sign == "-":
                right = -right if right.func.is_Number else _mul_flat(sp.S.NegativeOne, right)
            value = _add_flat(value, right)
        return value

    def multiplicative(self) -> sp.Expr:
        value = self.unary()
        while self.peek() in (r"\cdot", r"\times", "*", "/"):
            op = self.take()[1]
            right = self.unary()
            value = _quotient(value, right) if op == "/" else _mul_flat(value, right)
        return value

    def unary(self) -> sp.Expr:
        if self.peek() in ("+", "-"):
            sign = self.take()[1]
            operand = self.unary()
            if sign == "+":
                return operand
            return -operand if operand.func.is_Number else _mul_flat(sp.S.NegativeOne, operand)
        factors = [self.power()]
        while self.i < len(self.tokens) and self.starts_operand():
            if self.peek() == r"\sqrt":  # the grammar takes no function after the first factor of a product
                raise NotSkeleton("a square root after a factor without an operator")
            factors.append(self.power())
        value = factors[-1]
        for factor in reversed(factors[:-1]):  # a b c is a·(b·c), as the backend nests it
            value = _mul_flat(factor, value)
        return value

    def starts_operand(self) -> bool:
        kind, text = self.tokens[self.i]
        return kind in ("atom", "number") or text in ("(", "{", r"\frac", r"\sqrt")

    def power(self) -> sp.Expr:
        base = self.operand()
        if self.peek() != "^":
            return base
        self.take("^")
        kind, text = self.take()
        if kind == "number" and len(text) > 1:  # x^23 is x^2 times 3 in TeX
            raise NotSkeleton("a bare exponent of more than one digit")
        if kind == "atom":
            exponent = _atom(text)
        elif kind == "number":
            exponent = sp.Rational(text)
        elif text == "{":
            exponent = self.additive()
            self.take("}")
        else:  # x^(…) and x^-1 are syntax errors of the backend: let it say so
            raise NotSkeleton("an exponent that is neither an atom nor braced")
        if self.peek() == "^":
            raise NotSkeleton("a power of a power")
        return sp.Pow(base, exponent, evaluate=False)

    def operand(self) -> sp.Expr:
        kind, text = self.take()
        if kind == "atom":
            return _atom(text)
        if kind == "number":
            return sp.Rational(text)
        if text in ("(", "{"):
            inner = self.additive()
            self.take(")" if text == "(" else "}")
            return inner
        if text == r"\frac":
            numerator, denominator = self.braced(), self.braced()
            return _quotient(numerator, denominator)
        if text == r"\sqrt":  # \sqrt[n]{x} (a root index) is the backend's
            return sp.Pow(self.braced(), sp.S.Half, evaluate=False)
        raise NotSkeleton(f"unexpected {text}")

    def braced(self) -> sp.Expr:
        self.take("{")
        inner = self.additive()
        self.take("}")
        return inner


def read(text: str) -> sp.Expr:
    """The SymPy value of a skeleton; :class:`NotSkeleton` for any text outside its language."""
    tokens = _tokens(text)
    if not tokens:
        raise NotSkeleton("nothing to read")
    reader = _Reader(tokens)
    value = reader.additive()
    if reader.i != len(tokens):
        raise NotSkeleton(f"unexpected {tokens[reader.i][1]}")
    return value
