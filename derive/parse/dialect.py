"""The ML dialect of LaTeX: what names, indices, calls, sums and derivatives mean.

A LaTeX backend (latex2sympy2) reads arithmetic well and ML notation badly
(misreadings measured in the parser corpus, ``tests/data/parse/``).  So :class:`Reader` owns the notation: it walks the
bracket tree of :mod:`derive.parse.scanner`, turns every construct with a meaning of
its own (a symbol, ``y_i``, ``w^l_{jk}``, ``\\sigma'(z)``, ``\\sum_x``,
``\\frac{\\partial C}{\\partial w_j}``, ``\\nabla_a C``, cases, ...) into a
SymPy value kept in a side table, and leaves an opaque placeholder atom
``Q_{n}`` in the string it hands to the backend.  The backend then only sees
numbers, placeholders, ``+ - \\cdot / \\frac ^ \\sqrt`` and parentheses, so
its own precedence applies around the placeholders, and the values are put
back with ``xreplace``.  Nothing here evaluates user text as Python.

The reader is put together from one part per concern: :mod:`derive.parse.names` (names and indices),
:mod:`derive.parse.calls` (calls and primes), :mod:`derive.parse.derivatives`, :mod:`derive.parse.sums`
(sums, products, cases), :mod:`derive.parse.informal` (notation of real documents); this module holds
the expression loop and the two dispatch tables (:data:`OPERATORS` by operator token, :data:`COMMANDS`
by command) that send each node to its reader.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction

import sympy as sp

from derive.errors import ParseError
from derive.parse import calls, derivatives, informal, names, scanner, sums
from derive.parse import vocabulary as v

# The relation helpers live in vocabulary; these names are this module's public face for verify.
make_relation = v.make_relation
relation_ops = v.relation_ops
split_relation = v.split_relation
split_top = v.split_top


class _Out:
    """The backend string of an expression being built, and whether it ends with an operand."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.last_operand = False

    def operator(self, text: str) -> None:
        self.parts.append(text)
        self.last_operand = False


class Reader(names.Names, calls.Calls, derivatives.Derivatives, sums.Sums, informal.Informal):
    """Reads the nodes of one formula into SymPy, with ``backend`` doing the arithmetic.

    ``backend(text)`` parses plain arithmetic LaTeX over ``Q_{n}`` atoms.
    """

    def __init__(self, text: str, backend: Callable[[str], sp.Basic], nodes: list) -> None:
        self.text = text
        self.backend = backend
        self.held: dict[str, sp.Basic] = {}
        self.bare_heads: set[str] = set()
        self.conditions: list[sp.Basic] = []  # conditions written in subscripts (y_{k \neq i}): the row's
        self.find_bare_heads(nodes)

    def find_bare_heads(self, nodes: list) -> None:
        """Greek function heads used without an argument anywhere: σ(1 − σ) is then a product.

        The numerator of a derivative (``d\\sigma/dz``, ``\\frac{\\partial \\sigma}{\\partial z}``) names the
        function as people write it: it does not make ``\\sigma(z)`` elsewhere a product.
        """
        nodes = scanner.strip_spaces(nodes)
        for k, node in enumerate(nodes):
            if isinstance(node, scanner.Group):
                self.find_bare_heads(node.children)
            elif k and (v.is_tok(nodes[k - 1], "letter", "d") or v.is_tok(nodes[k - 1], "cmd", r"\partial")):
                continue  # a differential dσ, ∂σ
            elif v.is_tok(node, "cmd") and node.text[1:] in v.CALL_HEADS | {"sigma", "varsigma", "theta"}:
                j = k + 1
                while j < len(nodes) and (v.is_tok(nodes[j], "op", "'", "^", "_") or v.is_tok(nodes[j], "space")):
                    j += 2 if v.is_tok(nodes[j], "op", "^", "_") else 1
                following = self.unwrap_call_parens(nodes, j)
                if not (j < len(following) and v.is_group(following[j], "(")):
                    self.bare_heads.add(node.text[1:])

    # ---- errors and placeholders ---------------------------------------------------------
    def error(self, reason: str, node=None) -> ParseError:
        """A ParseError at ``node`` (or without a position)."""
        pos = node.pos if node is not None and hasattr(node, "pos") else None
        return ParseError(reason, pos, self.text)

    def hold(self, value: sp.Basic) -> str:
        """Keep ``value`` in the side table; the placeholder atom that stands for it."""
        name = f"Q_{{{len(self.held) + 10}}}"
        self.held[name] = value
        return name

    # ---- whole expressions ---------------------------------------------------------------
    def value(self, nodes: list, what: str = "expression") -> sp.Expr:
        """The SymPy value of ``nodes`` (an expression without relations)."""
        nodes = [n for n in scanner.strip_spaces(nodes) if not v.is_tok(n, "cmd", r"\quad", r"\qquad", "~")]
        if not nodes:
            raise self.error(f"empty {what}")
        source = self.expression(nodes)
        try:
            parsed = self.backend(source)
        except ParseError:
            raise
        except Exception as exc:  # the backend raises bare Exception
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise self.error(f"cannot read the arithmetic of {scanner.text_of(nodes)!r} ({first})", nodes[0]) from None
        if not isinstance(parsed, sp.Expr):
            raise self.error(f"cannot read {scanner.text_of(nodes)!r} as an expression", nodes[0])
        return self.restore(parsed)

    def restore(self, expr: sp.Basic) -> sp.Basic:
        """Rebuild the backend's tree evaluated, with the placeholders' values put back."""
        if isinstance(expr, sp.Symbol):
            if expr.name in self.held:
                return self.held[expr.name]
            raise self.error(f"unexpected symbol {expr.name!r} from the LaTeX backend")
        if isinstance(expr, sp.Float):
            return sp.Rational(str(expr))
        if not expr.args:
            return expr
        args = [self.restore(arg) for arg in expr.args]
        if expr.func is sp.log and len(args) == 2 and args[1] == sp.E:
            return sp.log(args[0])
        return expr.func(*args)

    def relations(self, nodes: list) -> list[sp.Basic] | None:
        """``a = b``, ``0 < a < 1``: the list of relations, or None without a relation."""
        ops = v.relation_ops(nodes)
        if not ops:
            return None
        values = [self.value(part, "side of a relation") for part in v.split_relation(nodes, ops)]
        return [
            v.make_relation("=" if op.symbol == ":=" else op.symbol, lhs, rhs)
            for op, lhs, rhs in zip(ops, values, values[1:], strict=False)
        ]

    def expression(self, nodes: list) -> str:
        """The backend string of an expression: operators kept, operands held."""
        if any(v.is_tok(n, "cmd", r"\over") for n in nodes):
            return self.over(nodes)
        elided = self.elided_sum(nodes)
        if elided is not None:
            return elided
        out = _Out()
        i = 0
        while i < len(nodes):
            node = nodes[i]
            is_operator = isinstance(node, scanner.Tok) and node.kind in ("op", "cmd")
            handler = OPERATORS.get(node.text) if is_operator else None
            if _signed_cancel(nodes, i):  # y \cancel{- y h} - h: the crossed-out term stays a term of the sum
                nodes = nodes[:i] + scanner.strip_spaces(nodes[i + 1].children) + nodes[i + 2 :]
                continue
            if handler is None and v.is_tok(node, "cmd", *v.PRODUCTS):
                handler = Reader.product_sign
            if handler is not None:
                i = handler(self, nodes, i, out)
                continue
            piece = self.operand(nodes, i)
            text, end = piece
            primes, after = self.prime_count(nodes, end)
            if primes:
                text, end = self.primed(nodes, i, end, primes), after
            if out.last_operand:
                out.parts.append(r" \cdot ")
            out.parts.append(text)
            out.last_operand = True
            i = end
        if not out.last_operand:
            raise self.error("the expression ends with an operator", nodes[-1])
        return " ".join(out.parts)

    # ---- operators: each reads the operator at nodes[i] into ``out`` and returns the next index
    def sign(self, nodes: list, i: int, out: _Out) -> int:
        out.operator(nodes[i].text)
        return i + 1

    def product_sign(self, nodes: list, i: int, out: _Out) -> int:
        if not out.last_operand:
            raise self.error(f"'{nodes[i].text}' needs something on its left", nodes[i])
        out.operator(r" \cdot ")
        return i + 1

    def superscript(self, nodes: list, i: int, out: _Out) -> int:
        if not out.last_operand:
            raise self.error("a superscript needs something to attach to", nodes[i])
        script, j = self.script(nodes, i + 1, nodes[i])
        if self.is_transpose(script):
            return j
        if self.primes(script):
            raise self.error("a prime needs a function: write f'(x)", nodes[i])
        out.parts.append("^{" + self.expression(script) + "}")
        return j

    def stray_subscript(self, nodes: list, i: int, out: _Out) -> int:
        if i and v.is_group(nodes[i - 1], "(", "[", "{"):  # [\frac{\partial l}{\partial A}]_{pq}, (a + b)_i
            raise self.error(
                "an element of a bracketed expression ([…]_i) is not read: write the element itself "
                "(as in \\frac{\\partial l}{\\partial a_{pq}}), or a function call f(x)_i",
                nodes[i],
            )
        raise self.error("a subscript needs something to attach to", nodes[i])

    def stray_prime(self, nodes: list, i: int, out: _Out) -> int:
        raise self.error("a prime needs a function: write f'(x)", nodes[i])

    def punctuation(self, nodes: list, i: int, out: _Out) -> int:
        if i != len(nodes) - 1:
            return self.operand(nodes, i).end  # not trailing: the operand reader refuses it
        return i + 1  # trailing punctuation

    def term_end(self, nodes: list, start: int) -> int:
        """Where the product term starting at ``start`` ends: the next top-level + or - (or evaluation bar)."""
        i = start
        while i < len(nodes) and v.is_tok(nodes[i], "op", "+", "-"):
            i += 1
        while i < len(nodes) and not v.is_tok(nodes[i], "op", "+", "-") and not v.is_tok(nodes[i], "cmd", r"\evalat"):
            i += 1
        return i

    # ---- operands ------------------------------------------------------------------------
    def operand(self, nodes: list, i: int) -> v.Piece:
        """One operand at ``i``: a group, a number, a name, a call, a derivative, a sum…"""
        node = nodes[i]
        if isinstance(node, scanner.Group):
            return self.group(nodes, i)
        if node.kind == "number":  # held too: the backend never sees a character of the user's text
            indicator = self.number_one(nodes, i) if node.text == "1" else None
            if indicator is not None:
                return indicator
            value = Fraction(node.text)
            return v.Piece(self.hold(sp.Rational(value.numerator, value.denominator)), i + 1)
        if node.kind == "op" and node.text == "|":
            return self.bars(nodes, i)
        if node.kind == "op":
            raise self.error(f"unexpected '{node.text}'", node)
        if node.kind == "letter" and node.text == "d":
            derivative = self.inline_derivative(nodes, i)
            if derivative is not None:
                return derivative
        if node.kind == "cmd":
            return self.command(nodes, i)
        return self.atom_operand(nodes, i)

    def group(self, nodes: list, i: int) -> v.Piece:
        """``{…}``, ``(…)``, ``[…]`` or an environment."""
        node = nodes[i]
        if node.open.startswith("env:"):
            return self.environment(nodes, i)
        if node.open == "\\{":
            raise self.error(r"set braces \{ \} are not supported (an indicator is written 1\{k = i\})", node)
        if node.braces and self.has_scripts(nodes, i + 1) and self.single_atom(node.children):
            return self.atom_operand(nodes, i)
        component = self.bracketed_component(nodes, i)
        if component is not None:
            return component
        if node.braces and len(scanner.strip_spaces(node.children)) == 0:
            raise self.error("empty group {}", node)
        return v.Piece("(" + self.expression(scanner.strip_spaces(node.children)) + ")", i + 1)

    def command(self, nodes: list, i: int) -> v.Piece:
        """A command: its reader from :data:`COMMANDS`, else by kind (function, Greek, font)."""
        node = nodes[i]
        name = node.text[1:]
        handler = COMMANDS.get(name)
        if handler is not None and (name != "Sigma" or self.read_scripts(nodes, i + 1).sub is not None):
            return handler(self, nodes, i)
        if name in v.FUNCTIONS and name not in v.GREEK:
            return self.call(nodes, i, name, i + 1)
        if name in v.GREEK or name in v.DECORATIONS or name in v.FONTS:
            return self.atom_operand(nodes, i)
        raise self.error(f"unknown command {node.text}", node)

    def wrapper(self, nodes: list, i: int) -> v.Piece:
        """\\underbrace{X}_{note}, \\boxed{X}, \\cancel{X}: just X."""
        j = i + 1
        if nodes[i].text in (r"\cancelto", r"\underset"):
            j += 1  # the first argument is the note
        if j >= len(nodes) or not isinstance(nodes[j], scanner.Group):
            raise self.error(f"{nodes[i].text} needs an argument in braces", nodes[i])
        inner = nodes[j]
        j += 1
        while (
            j + 1 < len(nodes)
            and v.is_tok(nodes[j], "op", "_", "^")
            and nodes[i].text in (r"\underbrace", r"\overbrace")
        ):
            j += 2
        return v.Piece("(" + self.expression(scanner.strip_spaces(inner.children)) + ")", j)

    def colored(self, nodes: list, i: int) -> v.Piece:
        """``\\textcolor{red}{X}``, ``\\colorbox{…}{X}``: just X."""
        j = i + 2  # the colour
        if j > len(nodes) or not isinstance(nodes[i + 1], scanner.Group):
            raise self.error(f"{nodes[i].text} needs a colour in braces", nodes[i])
        if j >= len(nodes) or not isinstance(nodes[j], scanner.Group):
            raise self.error(f"{nodes[i].text} needs its text in braces", nodes[i])
        return v.Piece("(" + self.expression(scanner.strip_spaces(nodes[j].children)) + ")", j + 1)

    def sqrt(self, nodes: list, i: int) -> v.Piece:
        """``\\sqrt{x}``, ``\\sqrt[n]{x}``."""
        j = i + 1
        index = None
        if j < len(nodes) and v.is_group(nodes[j], "["):
            index = self.expression(scanner.strip_spaces(nodes[j].children))
            j += 1
        if j >= len(nodes):
            raise self.error(r"\sqrt needs an argument", nodes[i])
        arg, j = self.argument(nodes, j)
        body = self.expression(arg)
        return v.Piece((rf"\sqrt[{index}]{{{body}}}" if index else rf"\sqrt{{{body}}}"), j)

    def ellipsis(self, nodes: list, i: int) -> v.Piece:
        """``p_1 + \\dots + p_n``: terms left out cannot be checked."""
        raise self.error(
            f"{nodes[i].text} leaves terms out (an elided sum such as y_1 + \\dots + y_n cannot be checked): "
            "write it with \\sum_j",
            nodes[i],
        )

    def infinity(self, nodes: list, i: int) -> v.Piece:
        return v.Piece(self.hold(sp.oo), i + 1)

    def vertical_bar(self, nodes: list, i: int) -> v.Piece:
        return v.Piece("|", i + 1)

    def argument(self, nodes: list, j: int) -> v.Span:
        """One TeX argument: a braced group's content or a single token.

        As in TeX, spaces before it are skipped and a digit is one token: ``\\frac 12 x`` is x/2.
        """
        while j < len(nodes) and v.is_tok(nodes[j], "space"):
            j += 1
        if j >= len(nodes):
            raise self.error("a command is missing its argument", nodes[-1])
        node = nodes[j]
        if v.is_group(node, "{"):
            return v.Span(scanner.strip_spaces(node.children), j + 1)
        if isinstance(node, scanner.Tok) and node.kind == "number" and len(node.text) > 1 and node.text.isdigit():
            first = scanner.Tok("number", node.text[0], node.pos, node.width)
            nodes[j : j + 1] = [first, scanner.Tok("number", node.text[1:], node.pos + 1, node.width)]
            return v.Span([first], j + 1)
        return v.Span([node], j + 1)


#: Operator token (or command used as an operator) → its reader.
#: Called as ``handler(reader, nodes, i, out)``; returns the next index.
OPERATORS: dict[str, Callable] = {
    "+": Reader.sign,
    "-": Reader.sign,
    "/": Reader.sign,
    "*": Reader.product_sign,
    "^": Reader.superscript,
    "_": Reader.stray_subscript,
    "'": Reader.stray_prime,
    ",": Reader.punctuation,
    ".": Reader.punctuation,
    ";": Reader.punctuation,
    r"\evalat": Reader.evaluated,
    r"\color": Reader.color_switch,
}
#: Command name (without the backslash) → its operand reader (called as ``handler(reader, nodes, i)``).
COMMANDS: dict[str, Callable] = {
    "frac": Reader.fraction,
    "dfrac": Reader.fraction,
    "tfrac": Reader.fraction,
    "cfrac": Reader.fraction,
    "sqrt": Reader.sqrt,
    "sum": Reader.big_operator,
    "prod": Reader.big_operator,
    "Sigma": Reader.big_operator,  # only with a subscript: \Sigma and \Sigma^2 are a name
    "nabla": Reader.gradient,
    "partial": Reader.partial,
    "textcolor": Reader.colored,
    "colorbox": Reader.colored,
    "infty": Reader.infinity,
    **{dots: Reader.ellipsis for dots in v.ELLIPSES},
    "|": Reader.bars,  # a norm \|x\| reads as |x| in the scalar view
    "lvert": Reader.bars,
    "lVert": Reader.bars,
    "mid": Reader.vertical_bar,
    "vert": Reader.vertical_bar,
    **{wrapper[1:]: Reader.wrapper for wrapper in v.WRAPPERS},
    **{font: Reader.font for font in ("mathrm", "text", "operatorname", "mathbb", "mathbf", "boldsymbol", "bm")},
}


def read_relations(nodes: list, reader: Reader) -> list[sp.Basic] | None:
    """``a = b``, ``0 < a < 1``: the list of relations, or None without a relation."""
    return reader.relations(nodes)


def _signed_cancel(nodes: list, i: int) -> bool:
    """Whether ``nodes[i]`` is ``\\cancel{± …}``: a struck-out term written with its sign, read as that term."""
    if not v.is_tok(nodes[i], "cmd", r"\cancel", r"\bcancel", r"\xcancel") or i + 1 >= len(nodes):
        return False
    group = nodes[i + 1]
    if not isinstance(group, scanner.Group) or not group.braces:
        return False
    inner = scanner.strip_spaces(group.children)
    return bool(inner) and v.is_tok(inner[0], "op", "+", "-")
