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
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction

import sympy as sp

from derive.catalog import activations
from derive.errors import ParseError
from derive.parse.scanner import Group, Tok, strip_spaces, text_of

GREEK = {
    "alpha",
    "beta",
    "gamma",
    "delta",
    "epsilon",
    "varepsilon",
    "zeta",
    "eta",
    "theta",
    "vartheta",
    "iota",
    "kappa",
    "lambda",
    "mu",
    "nu",
    "xi",
    "pi",
    "rho",
    "varrho",
    "sigma",
    "varsigma",
    "tau",
    "upsilon",
    "phi",
    "varphi",
    "chi",
    "psi",
    "omega",
    "Gamma",
    "Delta",
    "Theta",
    "Lambda",
    "Xi",
    "Pi",
    "Sigma",
    "Upsilon",
    "Phi",
    "Psi",
    "Omega",
    "ell",
}
DECORATIONS = {
    "hat": "hat",
    "widehat": "hat",
    "bar": "bar",
    "overline": "bar",
    "tilde": "tilde",
    "widetilde": "tilde",
    "vec": "vec",
    "dot": "dot",
    "check": "check",
    "breve": "breve",
}
FONTS = {
    "mathbf",
    "boldsymbol",
    "bm",
    "mathcal",
    "mathrm",
    "mathit",
    "mathsf",
    "mathbb",
    "mathtt",
    "mathscr",
    "mathfrak",
    "text",
    "textrm",
    "textit",
    "textbf",
    "operatorname",
    "mbox",
}
#: Function names and what they are.  \log without a base is the natural log.
FUNCTIONS: dict[str, Callable] = {
    "sigma": activations.sigmoid,
    "varsigma": activations.sigmoid,
    "sigmoid": activations.sigmoid,
    "tanh": sp.tanh,
    "exp": sp.exp,
    "ln": sp.log,
    "log": sp.log,
    "max": sp.Max,
    "min": sp.Min,
    "sin": sp.sin,
    "cos": sp.cos,
    "tan": sp.tan,
    "sinh": sp.sinh,
    "cosh": sp.cosh,
    "arctan": sp.atan,
    "softplus": activations.softplus,
    "relu": activations.relu,
    "ReLU": activations.relu,
    "theta": sp.Heaviside,
    "Heaviside": sp.Heaviside,
    "sqrt": sp.sqrt,
    "abs": sp.Abs,
    "id": sp.Id,
    "identity": sp.Id,
}
#: Heads that are always calls when followed by parentheses.
CALL_HEADS = {"f", "g", "h", "phi", "varphi", "ell"}
TRANSPOSE = {"T", r"\top", r"\intercal", "\\mathsf{T}", "\\mathrm{T}"}
RELATIONS = {
    "=": "=",
    "<": "<",
    ">": ">",
    r"\neq": r"\neq",
    r"\ne": r"\neq",
    r"\le": r"\le",
    r"\leq": r"\le",
    r"\leqslant": r"\le",
    r"\ge": r"\ge",
    r"\geq": r"\ge",
    r"\geqslant": r"\ge",
}
DEFINES = {r"\coloneqq", r"\equiv", r"\triangleq", r"\doteq", r"\stackrel", r"\overset", r"\eqqcolon"}
PRODUCTS = {r"\cdot", r"\times", r"\odot", r"\ast", r"\circ"}
WRAPPERS = {
    r"\underbrace",
    r"\overbrace",
    r"\boxed",
    r"\cancel",
    r"\bcancel",
    r"\xcancel",
    r"\cancelto",
    r"\underset",
    r"\phantom",
}
RELATION_MAKERS = {"=": sp.Eq, r"\neq": sp.Ne, "<": sp.Lt, ">": sp.Gt, r"\le": sp.Le, r"\ge": sp.Ge}


def make_relation(op: str, lhs: sp.Basic, rhs: sp.Basic) -> sp.Basic:
    """The unevaluated relation ``lhs op rhs`` (``Eq(a, a)`` stays an equation)."""
    return RELATION_MAKERS[op](lhs, rhs, evaluate=False)


def _is(node, kind: str, *texts: str) -> bool:
    return isinstance(node, Tok) and node.kind == kind and (not texts or node.text in texts)


def _adjacent(first: Tok, second) -> bool:
    return isinstance(second, Tok) and second.pos == first.pos + len(first.text)


def split_top(nodes: list, is_separator: Callable) -> list[list]:
    """``nodes`` cut at the top-level nodes for which ``is_separator`` holds."""
    parts: list[list] = [[]]
    for node in nodes:
        if is_separator(node):
            parts.append([])
        else:
            parts[-1].append(node)
    return parts


class Reader:
    """Reads the nodes of one formula into SymPy, with ``backend`` doing the arithmetic.

    ``backend(text)`` parses plain arithmetic LaTeX over ``Q_{n}`` atoms.
    """

    def __init__(self, text: str, backend: Callable[[str], sp.Basic], nodes: list) -> None:
        self.text = text
        self.backend = backend
        self.held: dict[str, sp.Basic] = {}
        self.bare_heads: set[str] = set()
        self.find_bare_heads(nodes)

    def find_bare_heads(self, nodes: list) -> None:
        """Greek function heads used without an argument anywhere: σ(1 − σ) is then a product."""
        for k, node in enumerate(nodes):
            if isinstance(node, Group):
                self.find_bare_heads(node.children)
            elif _is(node, "cmd") and node.text[1:] in CALL_HEADS | {"sigma", "varsigma", "theta"}:
                j = k + 1
                while j < len(nodes) and (_is(nodes[j], "op", "'", "^", "_") or _is(nodes[j], "space")):
                    j += 2 if _is(nodes[j], "op", "^", "_") else 1
                following = self.unwrap_call_parens(nodes, j)
                if not (j < len(following) and isinstance(following[j], Group) and following[j].open == "("):
                    self.bare_heads.add(node.text[1:])

    # ---- errors and placeholders ---------------------------------------------------------
    def error(self, reason: str, node=None) -> ParseError:
        pos = node.pos if node is not None and hasattr(node, "pos") else None
        return ParseError(reason, pos, self.text)

    def hold(self, value: sp.Basic) -> str:
        name = f"Q_{{{len(self.held) + 10}}}"
        self.held[name] = value
        return name

    # ---- whole expressions ---------------------------------------------------------------
    def value(self, nodes: list, what: str = "expression") -> sp.Expr:
        """The SymPy value of ``nodes`` (an expression without relations)."""
        nodes = [n for n in strip_spaces(nodes) if not _is(n, "cmd", r"\quad", r"\qquad", "~")]
        if not nodes:
            raise self.error(f"empty {what}")
        source = self.expression(nodes)
        try:
            parsed = self.backend(source)
        except ParseError:
            raise
        except Exception as exc:  # the backend raises bare Exception
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise self.error(f"cannot read the arithmetic of {text_of(nodes)!r} ({first})", nodes[0]) from None
        if not isinstance(parsed, sp.Expr):
            raise self.error(f"cannot read {text_of(nodes)!r} as an expression", nodes[0])
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

    def expression(self, nodes: list) -> str:
        """The backend string of an expression: operators kept, operands held."""
        out: list[str] = []
        last_operand = False
        i = 0
        while i < len(nodes):
            node = nodes[i]
            if _is(node, "op", "+", "-"):
                out.append(node.text)
                last_operand = False
                i += 1
            elif _is(node, "op", "/"):
                out.append("/")
                last_operand = False
                i += 1
            elif _is(node, "op", "*") or _is(node, "cmd", *PRODUCTS):
                if not last_operand:
                    raise self.error(f"'{node.text}' needs something on its left", node)
                out.append(r" \cdot ")
                last_operand = False
                i += 1
            elif _is(node, "op", "^"):
                if not last_operand:
                    raise self.error("a superscript needs something to attach to", node)
                script, i = self.script(nodes, i + 1, node)
                if self.is_transpose(script):
                    continue
                if self.primes(script):
                    raise self.error("a prime needs a function: write f'(x)", node)
                out.append("^{" + self.expression(script) + "}")
            elif _is(node, "op", "_"):
                raise self.error("a subscript needs something to attach to", node)
            elif _is(node, "op", "'"):
                raise self.error("a prime needs a function: write f'(x)", node)
            elif _is(node, "op", ",", ".", ";") and i == len(nodes) - 1:
                i += 1  # trailing punctuation
            elif _is(node, "op", "|"):
                out.append("|")
                last_operand = not last_operand
                i += 1
            else:
                piece, i = self.operand(nodes, i)
                if last_operand:
                    out.append(r" \cdot ")
                out.append(piece)
                last_operand = True
        if not last_operand:
            raise self.error("the expression ends with an operator", nodes[-1])
        return " ".join(out)

    def term_end(self, nodes: list, start: int) -> int:
        """Where the product term starting at ``start`` ends: the next top-level + or -."""
        i = start
        while i < len(nodes) and _is(nodes[i], "op", "+", "-"):
            i += 1
        while i < len(nodes) and not _is(nodes[i], "op", "+", "-"):
            i += 1
        return i

    # ---- operands ------------------------------------------------------------------------
    def operand(self, nodes: list, i: int) -> tuple[str, int]:
        node = nodes[i]
        if isinstance(node, Group) and node.open.startswith("env:"):
            return self.environment(nodes, i)
        if isinstance(node, Group):
            if node.braces and self.has_scripts(nodes, i + 1) and self.single_atom(node.children):
                return self.atom_operand(nodes, i)
            if node.braces and len(strip_spaces(node.children)) == 0:
                raise self.error("empty group {}", node)
            return "(" + self.expression(strip_spaces(node.children)) + ")", i + 1
        if node.kind == "number":  # held too: the backend never sees a character of the user's text
            value = Fraction(node.text)
            return self.hold(sp.Rational(value.numerator, value.denominator)), i + 1
        if node.kind == "op":
            raise self.error(f"unexpected '{node.text}'", node)
        if node.kind == "letter" and node.text == "d":
            derivative = self.inline_derivative(nodes, i)
            if derivative is not None:
                return derivative
        if node.kind == "cmd":
            name = node.text[1:]
            if name in ("frac", "dfrac", "tfrac", "cfrac"):
                return self.fraction(nodes, i)
            if name == "sqrt":
                return self.sqrt(nodes, i)
            if name in ("sum", "prod") or (name == "Sigma" and self.has_scripts(nodes, i + 1)):
                return self.big_operator(nodes, i)
            if name == "nabla":
                return self.gradient(nodes, i)
            if name == "partial":
                raise self.error(r"\partial outside a \frac{\partial …}{\partial …}", node)
            if node.text in WRAPPERS:
                return self.wrapper(nodes, i)
            if name in ("textcolor", "color", "colorbox"):
                return self.colored(nodes, i)
            if name == "infty":
                return self.hold(sp.oo), i + 1
            if name in ("mid", "vert"):
                return "|", i + 1
            if name in FUNCTIONS and name not in GREEK:
                return self.call(nodes, i, name, i + 1)
            if name in GREEK or name in DECORATIONS or name in FONTS:
                return self.atom_operand(nodes, i)
            raise self.error(f"unknown command {node.text}", node)
        return self.atom_operand(nodes, i)

    def wrapper(self, nodes: list, i: int) -> tuple[str, int]:
        """\\underbrace{X}_{note}, \\boxed{X}, \\cancel{X}: just X."""
        j = i + 1
        if nodes[i].text in (r"\cancelto", r"\underset"):
            j += 1  # the first argument is the note
        if j >= len(nodes) or not isinstance(nodes[j], Group):
            raise self.error(f"{nodes[i].text} needs an argument in braces", nodes[i])
        inner = nodes[j]
        j += 1
        while j + 1 < len(nodes) and _is(nodes[j], "op", "_", "^") and nodes[i].text in (r"\underbrace", r"\overbrace"):
            j += 2
        return "(" + self.expression(strip_spaces(inner.children)) + ")", j

    def colored(self, nodes: list, i: int) -> tuple[str, int]:
        j = i + 2  # the colour
        if j > len(nodes) or not isinstance(nodes[i + 1], Group):
            raise self.error(f"{nodes[i].text} needs a colour in braces", nodes[i])
        if nodes[i].text == r"\color":
            raise self.error(r"\color changes the rest of the group; use \textcolor{…}{…}", nodes[i])
        if j >= len(nodes) or not isinstance(nodes[j], Group):
            raise self.error(f"{nodes[i].text} needs its text in braces", nodes[i])
        return "(" + self.expression(strip_spaces(nodes[j].children)) + ")", j + 1

    def sqrt(self, nodes: list, i: int) -> tuple[str, int]:
        j = i + 1
        index = None
        if j < len(nodes) and isinstance(nodes[j], Group) and nodes[j].open == "[":
            index = self.expression(strip_spaces(nodes[j].children))
            j += 1
        if j >= len(nodes):
            raise self.error(r"\sqrt needs an argument", nodes[i])
        arg, j = self.argument(nodes, j)
        body = self.expression(arg)
        return (rf"\sqrt[{index}]{{{body}}}" if index else rf"\sqrt{{{body}}}"), j

    def argument(self, nodes: list, j: int) -> tuple[list, int]:
        """One TeX argument: a braced group's content or a single token."""
        if j >= len(nodes):
            raise self.error("a command is missing its argument", nodes[-1])
        node = nodes[j]
        if isinstance(node, Group) and node.braces:
            return strip_spaces(node.children), j + 1
        return [node], j + 1

    # ---- atoms: names with indices -------------------------------------------------------
    def has_scripts(self, nodes: list, j: int) -> bool:
        return j < len(nodes) and _is(nodes[j], "op", "_", "^", "'")

    def single_atom(self, children: list) -> bool:
        try:
            children = strip_spaces(children)
            if not children:
                return False
            _, _, end = self.read_name(children, 0)
            if end < len(children):
                _, _, _, end = self.read_scripts(children, end)
            return end == len(children)
        except ParseError:
            return False

    def read_name(self, nodes: list, i: int) -> tuple[str, bool, int]:
        """The base name at ``i``: (name, is_word, next index)."""
        node = nodes[i]
        if isinstance(node, Group) and node.braces:
            inner = strip_spaces(node.children)
            name, word, end = self.read_name(inner, 0)
            if end != len(inner):
                raise self.error("a braced group used as a name holds more than a name", node)
            return name, word, i + 1
        if not isinstance(node, Tok):
            raise self.error("expected a name", node)
        if node.kind == "letter":
            run = [node]
            while (
                i + len(run) < len(nodes)
                and _is(nodes[i + len(run)], "letter")
                and _adjacent(run[-1], nodes[i + len(run)])
            ):
                run.append(nodes[i + len(run)])
            if len(run) >= 3:
                return "".join(t.text for t in run), True, i + len(run)
            return node.text, False, i + 1
        if node.kind == "cmd":
            name = node.text[1:]
            if name in GREEK:
                return {"varepsilon": "epsilon", "vartheta": "theta", "varrho": "rho"}.get(name, name), False, i + 1
            if name in DECORATIONS:
                arg, j = self.argument(nodes, i + 1)
                inner, word, end = self.read_name(arg, 0)
                if end != len(arg):
                    raise self.error(f"{node.text} over more than a name", node)
                return inner + DECORATIONS[name], word, j
            if name in FONTS:
                arg, j = self.argument(nodes, i + 1)
                word = "".join(t.text for t in arg if isinstance(t, Tok) and t.kind in ("letter", "number"))
                if len(arg) == 1 and isinstance(arg[0], Tok) and arg[0].kind == "cmd":
                    return self.read_name(arg, 0)[0], False, j
                if not word or len(word) != len([t for t in arg if isinstance(t, Tok)]) or not word[0].isalpha():
                    raise self.error(f"{node.text}{{{text_of(arg)}}} is not a name", node)
                return word, len(word) > 1, j
            if name in FUNCTIONS:
                return name, True, i + 1
        raise self.error(f"expected a name, found {text_of([node])!r}", node)

    def script(self, nodes: list, j: int, at) -> tuple[list, int]:
        if j >= len(nodes):
            raise self.error("a script is missing its argument", at)
        return self.argument(nodes, j)

    def read_scripts(self, nodes: list, j: int) -> tuple[list | None, list | None, int, int]:
        """Subscript, superscript and primes after a name: (sub, sup, primes, next index)."""
        sub = sup = None
        primes = 0
        while j < len(nodes):
            node = nodes[j]
            if _is(node, "op", "'"):
                primes += 1
                j += 1
            elif _is(node, "op", "_") and sub is None:
                sub, j = self.script(nodes, j + 1, node)
            elif _is(node, "op", "^") and sup is None:
                script, k = self.script(nodes, j + 1, node)
                if self.primes(script):
                    primes += self.primes(script)
                    j = k
                else:
                    sup, j = script, k
            else:
                break
        return sub, sup, primes, j

    @staticmethod
    def primes(script: list) -> int:
        if script and all(_is(t, "cmd", r"\prime") or _is(t, "op", "'") for t in script):
            return len(script)
        return 0

    @staticmethod
    def is_transpose(script: list) -> bool:
        return text_of(script).replace(" ", "") in TRANSPOSE

    def layer_index(self, sup: list) -> sp.Expr | None:
        """A layer or sample superscript (l, L, l-1, (i), [l]) as an index, else None."""
        if len(sup) == 1 and isinstance(sup[0], Group) and sup[0].open in "([":
            return self.value(strip_spaces(sup[0].children), "index")
        flat = text_of(sup).replace(" ", "")
        if flat in ("l", "L") or (len(flat) >= 3 and flat[0] in "lL" and flat[1] in "+-" and flat[2:].isdigit()):
            return self.value(sup, "layer index")
        return None

    def indices(self, sub: list) -> list[sp.Expr]:
        parts = split_top(sub, lambda n: _is(n, "op", ","))
        if len(parts) > 1:
            return [self.value(p, "index") for p in parts]
        if sub and all(_is(t, "letter") for t in sub) and len(sub) <= 3:
            return [sp.Symbol(t.text) for t in sub]
        return [self.value(sub, "index")]

    def name_subscript(self, sub: list) -> str | None:
        """A subscript that belongs to the name (y_{pred}, L_{MSE}, h_\\theta), else None."""
        if len(sub) == 1 and _is(sub[0], "cmd") and sub[0].text[1:] in GREEK:
            return sub[0].text[1:]
        if len(sub) == 1 and _is(sub[0], "cmd") and sub[0].text[1:] in FONTS | {"text"}:
            return None
        if sub and all(_is(t, "letter") for t in sub):
            word = "".join(t.text for t in sub)
            if len(word) >= 3 or any(c.isupper() for c in word):
                return word
        if len(sub) == 2 and _is(sub[0], "cmd") and sub[0].text[1:] in FONTS and isinstance(sub[1], Group):
            word = text_of(sub[1].children).replace(" ", "")
            if word.isalpha() and len(word) > 1:
                return word
        return None

    def atom(self, nodes: list, i: int) -> tuple[sp.Expr, list | None, int, str, bool, int]:
        """(value, power script, primes, name, is_word, next) of the name at ``i``."""
        if isinstance(nodes[i], Group) and nodes[i].braces:  # {a^{L}}_{j}: scripts inside and outside
            inner = strip_spaces(nodes[i].children)
            name, word, k = self.read_name(inner, 0)
            sub, sup, primes, k = self.read_scripts(inner, k)
            if k != len(inner):
                raise self.error("a braced group used as a name holds more than a name", nodes[i])
            sub2, sup2, primes2, j = self.read_scripts(nodes, i + 1)
            if (sub is not None and sub2 is not None) or (sup is not None and sup2 is not None):
                raise self.error("a name with two subscripts or two superscripts", nodes[i])
            if sup is not None and sub is None and sub2 is not None and self.layer_index(sup) is None:
                sup = [Group("(", sup, nodes[i].pos)]  # {W^{2}}_{j,k}: the inner superscript is a layer
            sub, sup, primes = sub if sub is not None else sub2, sup if sup is not None else sup2, primes + primes2
        else:
            name, word, j = self.read_name(nodes, i)
            sub, sup, primes, j = self.read_scripts(nodes, j)
        power = None
        index_list: list[sp.Expr] = []
        if sup is not None:
            if self.is_transpose(sup):
                sup = None
            else:
                layer = self.layer_index(sup)
                if layer is not None:
                    index_list.append(layer)
                else:
                    power = sup
        if sub is not None:
            extra = self.name_subscript(sub)
            if extra is not None:
                name = f"{name}_{extra}"
            else:
                index_list.extend(self.indices(sub))
        kronecker = name == "delta" and sup is None and len(index_list) == 2 and not word
        if kronecker and all(isinstance(ix, (sp.Symbol, sp.Integer)) for ix in index_list):
            return sp.KroneckerDelta(*index_list), power, primes, name, word, j
        if index_list:
            return sp.IndexedBase(sp.Symbol(name))[tuple(index_list)], power, primes, name, word, j
        if name == "e" and not word:
            return sp.E, power, primes, name, word, j
        if name in ("pi",):
            return sp.pi, power, primes, name, word, j
        return sp.Symbol(name), power, primes, name, word, j

    @staticmethod
    def unwrap_call_parens(nodes: list, j: int) -> list:
        r"""``f{\left(z\right)}`` (as SymPy prints calls) read as ``f(z)``."""
        if j < len(nodes) and isinstance(nodes[j], Group) and nodes[j].braces:
            inner = strip_spaces(nodes[j].children)
            if len(inner) == 1 and isinstance(inner[0], Group) and inner[0].open == "(":
                return [*nodes[:j], inner[0], *nodes[j + 1 :]]
        return nodes

    def atom_operand(self, nodes: list, i: int) -> tuple[str, int]:
        value, power, primes, name, word, j = self.atom(nodes, i)
        if name in FUNCTIONS or name in CALL_HEADS or word:
            nodes = self.unwrap_call_parens(nodes, j)
        is_plain = isinstance(value, sp.Symbol) or name in FUNCTIONS
        parens = j < len(nodes) and isinstance(nodes[j], Group) and nodes[j].open == "("
        if parens and is_plain and self.is_call(name, word, value, nodes[j], primes):
            return self.call(nodes, i, name, j, head=value, primes=primes, power=power)
        if primes:
            raise self.error(f"{name}' is a derivative of a function: write {name}'(x)", nodes[i])
        if isinstance(value, sp.Symbol) and value.name in FUNCTIONS and value.name not in GREEK:
            return self.call(nodes, i, value.name, j)
        piece = self.hold(value)
        if power is not None:
            piece += "^{" + self.expression(power) + "}"
        return piece, j

    def is_call(self, name: str, word: bool, value: sp.Basic, paren: Group, primes: int) -> bool:
        """Whether ``name(…)`` is a function call (else a product)."""
        if name in self.bare_heads:
            return False
        if name in FUNCTIONS or name in CALL_HEADS or word or primes:
            return True
        if "_" in str(value) and str(value).split("_")[0] in CALL_HEADS:
            return True  # h_theta(x)
        inner = strip_spaces(paren.children)
        if any(_is(n, "op", ",") or _is(n, "cmd", r"\mid") for n in inner):
            return True
        return len(name) == 1 and self.single_atom(inner) and not (len(inner) == 1 and _is(inner[0], "number"))

    # ---- calls ---------------------------------------------------------------------------
    def call(
        self,
        nodes: list,
        i: int,
        name: str,
        j: int,
        head: sp.Basic | None = None,
        primes: int = 0,
        power: list | None = None,
    ) -> tuple[str, int]:
        """A function applied to arguments: ``\\sigma(z)``, ``\\ln a``, ``L(\\hat y, y)``, ``f'(u)``."""
        base = None
        if head is None:  # a command such as \ln, \log_{10}, \tanh^2, \sigma'
            sub, sup, primes, j = self.read_scripts(nodes, j)
            if sub is not None:
                if name != "log":
                    raise self.error(f"\\{name} with a subscript", nodes[i])
                base = self.value(sub, "logarithm base")
            power = sup
        if power is not None and text_of(power).replace(" ", "") in ("-1", "{-1}"):
            raise self.error(f"inverse-function notation {name}^{{-1}} is not supported", nodes[i])
        nodes = self.unwrap_call_parens(nodes, j)
        if j < len(nodes) and isinstance(nodes[j], Group) and nodes[j].open in "([":
            args = self.arguments(nodes[j])
            j += 1
        elif name in ("sigma", "varsigma", "phi", "varphi", "ell", "theta") and head is None and not primes:
            return self.atom_operand(nodes, i)  # a bare Greek letter is a symbol
        elif j < len(nodes) and not self.has_scripts(nodes, j):
            arg_nodes, j = self.bare_argument(nodes, j)
            args = [self.value(arg_nodes, f"argument of {name}")]
        else:
            raise self.error(f"{name} needs an argument", nodes[i])
        while j < len(nodes) and _is(nodes[j], "op", "'"):
            primes += 1
            j += 1
        component = None
        if j + 1 < len(nodes) and _is(nodes[j], "op", "_") and name not in FUNCTIONS:
            sub, j = self.script(nodes, j + 1, nodes[j])
            component = self.indices(sub)
        value = self.apply(name, args, base, primes, nodes[i])
        if component:
            if primes:
                raise self.error("a component of a derivative is not supported", nodes[i])
            value = sp.Function(str(head) if head is not None else name)(*args, *component)
        piece = self.hold(value)
        if power is not None:
            piece = "(" + piece + ")^{" + self.expression(power) + "}"
        return piece, j

    def arguments(self, paren: Group) -> list[sp.Expr]:
        inner = strip_spaces(paren.children)
        parts = split_top(inner, lambda n: _is(n, "op", ",") or _is(n, "cmd", r"\mid"))
        return [self.value(p, "argument") for p in parts]

    def bare_argument(self, nodes: list, j: int) -> tuple[list, int]:
        """The argument of ``\\ln a``: one factor, with its superscript (``\\ln x^2`` = ln(x²))."""
        if isinstance(nodes[j], Tok) and nodes[j].kind == "op":
            raise self.error("a function name is followed by an operator, not its argument", nodes[j])
        _, end = self.operand(nodes, j)
        while end < len(nodes) and _is(nodes[end], "op", "^"):
            end += 2
        return nodes[j:end], end

    def apply(self, name: str, args: list, base, primes: int, at) -> sp.Expr:
        known = FUNCTIONS.get(name)
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

    # ---- derivatives ---------------------------------------------------------------------
    def d_at(self, nodes: list, k: int) -> int | None:
        """If a differential 'd' (d or \\mathrm{d}) starts at ``k``, the index after it."""
        if k >= len(nodes):
            return None
        node = nodes[k]
        if _is(node, "letter", "d"):
            return k + 1
        if _is(node, "cmd", r"\mathrm", r"\text", r"\operatorname") and k + 1 < len(nodes):
            arg = nodes[k + 1]
            if isinstance(arg, Group) and text_of(arg.children).strip() == "d":
                return k + 2
        return None

    def fraction(self, nodes: list, i: int) -> tuple[str, int]:
        num, j = self.argument(nodes, i + 1)
        den, j = self.argument(nodes, j)
        derivative = self.derivative_parts(num, den)
        if derivative is None:
            return rf"\frac{{{self.expression(num)}}}{{{self.expression(den)}}}", j
        top, variables = derivative
        if not top:  # operator form d/dz applied to the following term
            end = self.term_end(nodes, j)
            if end == j:
                raise self.error("a derivative operator with nothing to act on", nodes[i])
            expr = self.value(nodes[j:end], "operand of the derivative")
            j = end
        else:
            expr = self.value(top, "numerator of the derivative")
        return self.hold(sp.Derivative(expr, *variables)), j

    def derivative_parts(self, num: list, den: list):
        """(numerator after ∂, [(variable, order)]) if ``num/den`` is a derivative, else None."""
        partial = bool(num) and _is(num[0], "cmd", r"\partial")
        if partial:
            if not den or not _is(den[0], "cmd", r"\partial"):
                return None
            start = 1
        else:
            start = self.d_at(num, 0)
            if start is None or self.d_at(den, 0) is None or len(den) < 2:
                return None
            if start < len(num) and _is(num[start], "op", "/"):
                return None
        order = 1
        if start < len(num) and _is(num[start], "op", "^"):
            script, start = self.script(num, start + 1, num[start])
            order = self.small_integer(script, num[0])
        top = num[start:]
        variables = []
        k = 0
        while k < len(den):
            nxt = (k + 1) if partial and _is(den[k], "cmd", r"\partial") else (None if partial else self.d_at(den, k))
            if nxt is None or nxt >= len(den):
                raise self.error("the denominator of a derivative must be ∂x or dx", den[min(k, len(den) - 1)])
            value, power, primes, _, _, k = self.atom(den, nxt)
            if primes:
                raise self.error("a prime on a differentiation variable", den[nxt])
            if not isinstance(value, (sp.Symbol, sp.Indexed)):
                raise self.error(f"cannot differentiate with respect to {value}", den[nxt])
            variables.append((value, self.small_integer(power, den[nxt]) if power else 1))
        if sum(v[1] for v in variables) != order:
            raise self.error("the orders of the numerator and denominator of a derivative differ", num[0])
        return top, variables

    def small_integer(self, script: list, at) -> int:
        text = text_of(script).strip()
        if not text.isdigit() or not 1 <= int(text) <= 9:
            raise self.error(f"expected a derivative order 1-9, found {text!r}", at)
        return int(text)

    def inline_derivative(self, nodes: list, i: int):
        """``dA/dB`` written inline (``d\\sigma/dz``), or None when the d is a symbol."""
        try:
            if i + 1 >= len(nodes) or not _adjacent(nodes[i], nodes[i + 1]):
                return None
            value, _, _, _, _, j = self.atom(nodes, i + 1)
            if j + 2 >= len(nodes) or not _is(nodes[j], "op", "/") or not _is(nodes[j + 1], "letter", "d"):
                return None
            var, _, _, _, _, end = self.atom(nodes, j + 2)
        except ParseError:
            return None
        if not isinstance(var, (sp.Symbol, sp.Indexed)):
            return None
        return self.hold(sp.Derivative(value, var)), end

    def gradient(self, nodes: list, i: int) -> tuple[str, int]:
        """``\\nabla_a C``: the derivative of C with respect to a, read per component."""
        if i + 2 >= len(nodes) or not _is(nodes[i + 1], "op", "_"):
            raise self.error(r"\nabla needs a subscript variable, as in \nabla_a C", nodes[i])
        sub, j = self.script(nodes, i + 2, nodes[i + 1])
        var = self.value(sub, "gradient variable")
        if not isinstance(var, (sp.Symbol, sp.Indexed)):
            raise self.error(r"the subscript of \nabla must be a variable", nodes[i])
        if j >= len(nodes):
            raise self.error(r"\nabla_x needs something to differentiate", nodes[i])
        _, end = self.operand(nodes, j)
        expr = self.value(nodes[j:end], "operand of the gradient")
        return self.hold(sp.Derivative(expr, var)), end

    # ---- sums, products and cases --------------------------------------------------------
    def big_operator(self, nodes: list, i: int) -> tuple[str, int]:
        """``\\sum_{k=1}^{K} body``: the body is the product term that follows."""
        sub, sup, primes, j = self.read_scripts(nodes, i + 1)
        if primes:
            raise self.error("a prime on a sum", nodes[i])
        if sub is None:
            raise self.error(f"{nodes[i].text} needs a subscript naming its index", nodes[i])
        end = self.term_end(nodes, j)
        if end == j:
            raise self.error(f"{nodes[i].text} has nothing to sum", nodes[i])
        body = self.value(nodes[j:end], "summand")
        var, lower, upper, excluded = self.limits(sub, sup, nodes[i])
        maker = sp.Product if nodes[i].text == r"\prod" else sp.Sum
        value = maker(body, (var, lower, upper))
        if excluded is not None:
            value = (
                value - body.xreplace({var: excluded}) if maker is sp.Sum else value / body.xreplace({var: excluded})
            )
        return self.hold(value), end

    def limits(self, sub: list, sup: list | None, at):
        """(index, lower, upper, excluded value) of a sum's scripts."""
        parts = split_top(sub, lambda n: _is(n, "op", "="))
        excluded = None
        if len(parts) == 2:
            var = self.value(parts[0], "summation index")
            lower = self.value(parts[1], "lower limit")
        elif len(parts) == 1:
            rel = split_top(sub, lambda n: _is(n, "cmd", r"\neq", r"\ne", r"\in"))
            var = self.value(rel[0], "summation index")
            lower = sp.S.One
            if len(rel) == 2 and any(_is(n, "cmd", r"\neq", r"\ne") for n in sub):
                excluded = self.value(rel[1], "excluded index")
        else:
            raise self.error("cannot read the limits of this sum", at)
        if not isinstance(var, sp.Symbol):
            raise self.error(f"the summation index must be a letter, not {var}", at)
        upper = self.value(sup, "upper limit") if sup is not None else sp.Symbol(f"N_{var.name}")
        return var, lower, upper, excluded

    def environment(self, nodes: list, i: int) -> tuple[str, int]:
        env = nodes[i].open[4:]
        if env != "cases":
            raise self.error(f"the environment {env} is not supported inside a formula", nodes[i])
        rows = [r for r in split_top(nodes[i].children, lambda n: _is(n, "cmd", r"\\")) if strip_spaces(r)]
        pieces = []
        for row in rows:
            cells = split_top(row, lambda n: _is(n, "op", "&"))
            if len(cells) != 2:
                raise self.error("each row of cases needs 'value & condition'", nodes[i])
            pieces.append((self.value(cells[0], "case value"), self.condition(cells[1], nodes[i])))
        return self.hold(sp.Piecewise(*pieces)), i + 1

    def condition(self, cell: list, at) -> sp.Basic:
        """A case or side condition: ``i = j``, ``\\text{if } i \\neq j``, ``\\text{otherwise}``."""
        words = [n for n in strip_spaces(cell) if not (_is(n, "op", ",", "."))]
        if words and _is(words[0], "cmd", r"\text", r"\mathrm", r"\textrm", r"\mbox") and len(words) > 1:
            said = text_of(words[1].children).strip().lower() if isinstance(words[1], Group) else ""
            if said in ("otherwise", "else", "sonst"):
                return sp.true
            if said in ("if", "for", "when", "where", "if:", "for all"):
                words = words[2:]
        relations = read_relations(words, self)
        if relations is None or len(relations) != 1:
            raise self.error("a condition must be one relation, as in i = j", at)
        return relations[0]


def relation_ops(nodes: list) -> list[tuple[int, str, int]]:
    """The top-level relation symbols: (start index, symbol, index after it)."""
    found = []
    k = 0
    while k < len(nodes):
        node = nodes[k]
        if _is(node, "op", ":") and k + 1 < len(nodes) and _is(nodes[k + 1], "op", "="):
            found.append((k, ":=", k + 2))
            k += 2
            continue
        if _is(node, "op", "=", "<", ">") or (isinstance(node, Tok) and node.kind == "cmd" and node.text in RELATIONS):
            found.append((k, RELATIONS[node.text], k + 1))
        elif isinstance(node, Tok) and node.kind == "cmd" and node.text in DEFINES:
            end = k + 1
            if node.text in (r"\stackrel", r"\overset"):
                end = k + 3
            found.append((k, ":=", end))
        k += 1
    return found


def split_relation(nodes: list, ops: list[tuple[int, str, int]]) -> list[list]:
    """The sides of ``nodes`` between the relation symbols ``ops`` (from :func:`relation_ops`)."""
    parts, start = [], 0
    for k, _, end in ops:
        parts.append(nodes[start:k])
        start = end
    parts.append(nodes[start:])
    return parts


def read_relations(nodes: list, reader: Reader) -> list[sp.Basic] | None:
    """``a = b``, ``0 < a < 1``: the list of relations, or None without a relation."""
    ops = relation_ops(nodes)
    if not ops:
        return None
    parts = split_relation(nodes, ops)
    values = [reader.value(part, "side of a relation") for part in parts]
    return [
        make_relation("=" if op == ":=" else op, lhs, rhs)
        for (_, op, _), lhs, rhs in zip(ops, values, values[1:], strict=False)
    ]
