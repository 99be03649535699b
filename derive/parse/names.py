"""Names and their indices: ``y_i``, ``w^l_{jk}``, ``\\hat{y}``, ``\\mathrm{Loss}``, ``x^{(i)}_j``, ``\\delta_{ij}``.

:class:`Names` is one part of :class:`derive.parse.dialect.Reader` (a mixin: it calls the reader's
``error``, ``value``, ``hold``, ``expression``, ``argument`` and ``call`` through ``self``).
"""

from __future__ import annotations

import sympy as sp

from derive.errors import ParseError
from derive.parse import scanner
from derive.parse import vocabulary as v


class Names:
    """Reading a name and its scripts into a SymPy atom (Symbol, Indexed, KroneckerDelta, e, π)."""

    def has_scripts(self, nodes: list, j: int) -> bool:
        return j < len(nodes) and v.is_tok(nodes[j], "op", "_", "^", "'")

    def single_atom(self, children: list) -> bool:
        """Whether ``children`` hold exactly one name with its scripts."""
        try:
            children = scanner.strip_spaces(children)
            if not children:
                return False
            end = self.read_name(children, 0).end
            if end < len(children):
                end = self.read_scripts(children, end).end
            return end == len(children)
        except ParseError:
            return False

    def read_name(self, nodes: list, i: int) -> v.Name:
        """The base name at ``i``."""
        node = nodes[i]
        if v.is_group(node, "{"):
            inner = scanner.strip_spaces(node.children)
            name = self.read_name(inner, 0)
            if name.end != len(inner):
                raise self.error("a braced group used as a name holds more than a name", node)
            return v.Name(name.text, name.word, i + 1)
        if not isinstance(node, scanner.Tok):
            raise self.error("expected a name", node)
        if node.kind == "letter":
            return self.letters(nodes, i)
        if node.kind == "cmd":
            name = node.text[1:]
            if name in v.GREEK:
                return v.Name(v.GREEK_VARIANTS.get(name, name), False, i + 1)
            if name in v.DECORATIONS:
                return self.decorated(nodes, i)
            if name in v.FONTS:
                return self.font_name(nodes, i)
            if name in v.FUNCTIONS:
                return v.Name(name, True, i + 1)
        raise self.error(f"expected a name, found {scanner.text_of([node])!r}", node)

    def letters(self, nodes: list, i: int) -> v.Name:
        """A letter, or a word of three or more letters written together (``Loss``).

        A bare ``ln`` or ``log`` inside the run that is followed by ``(`` or by one last letter is the
        function (``ylna`` is y·ln a, ``ln(1-a)`` is ln(1 − a)): the run stops before it, and the
        function is a name of its own.
        """
        run = [nodes[i]]
        while (
            i + len(run) < len(nodes)
            and v.is_tok(nodes[i + len(run)], "letter")
            and v.adjacent(run[-1], nodes[i + len(run)])
        ):
            run.append(nodes[i + len(run)])
        cut = self.logarithm_in(nodes, i, run)
        if cut == 0:
            word = "ln" if run[1].text == "n" else "log"
            return v.Name(word, True, i + len(word))
        if cut is not None:
            run = run[:cut]
        if len(run) >= 3 or self.capital_call(nodes, i, run):
            return v.Name("".join(t.text for t in run), True, i + len(run))
        return v.Name(nodes[i].text, False, i + 1)

    def capital_call(self, nodes: list, i: int, run: list) -> bool:
        """``KL(P\\|Q)``, ``CE(y, p)``: two capitals applied to several arguments are one function name."""
        after = nodes[i + len(run)] if i + len(run) < len(nodes) else None
        if len(run) != 2 or not all(t.text.isupper() for t in run) or not v.is_group(after, "("):
            return False
        inner = scanner.strip_spaces(after.children)
        separators = any(v.is_tok(n, "op", ",") or v.is_tok(n, "cmd", r"\mid", r"\|") for n in inner)
        return separators or self.double_bar(inner)

    def logarithm_in(self, nodes: list, i: int, run: list) -> int | None:
        """Where a bare ``ln``/``log`` that is the function starts in ``run`` (letters from ``i``), or None."""
        letters = "".join(t.text for t in run)
        for word in ("ln", "log"):
            at = letters.find(word)
            if at < 0:
                continue
            rest = len(letters) - at - len(word)
            after = nodes[i + len(run)] if i + len(run) < len(nodes) else None
            if rest == 0 and (v.is_group(after, "(", "[") or (word == "ln" and v.is_tok(after, "letter"))):
                return at  # ln(1-a), ylog(…), ln a
            if rest == 1:
                return at  # lna, ylna, logp
            if word == "ln" and rest > 1:
                raise self.error(f"'{letters}' is ambiguous: write \\ln with its argument in parentheses", run[at])
        return None

    def decorated(self, nodes: list, i: int) -> v.Name:
        """``\\hat{y}``: the name with the decoration's suffix (``yhat``)."""
        arg = self.argument(nodes, i + 1)
        inner = self.read_name(arg.nodes, 0)
        if inner.end != len(arg.nodes):
            raise self.error(f"{nodes[i].text} over more than a name", nodes[i])
        return v.Name(inner.text + v.DECORATIONS[nodes[i].text[1:]], inner.word, arg.end)

    def font_name(self, nodes: list, i: int) -> v.Name:
        """``\\mathrm{Loss}``, ``\\mathbf{w}``, ``\\boldsymbol{\\theta}``: the plain name."""
        node = nodes[i]
        arg, j = self.argument(nodes, i + 1)
        # \operatorname{log\_cosh}: an escaped underscore belongs to the word (derive writes user names so)
        word = "".join(
            "_" if v.is_tok(t, "cmd", r"\_") else t.text
            for t in arg
            if isinstance(t, scanner.Tok) and (t.kind in ("letter", "number") or v.is_tok(t, "cmd", r"\_"))
        )
        if len(arg) == 1 and v.is_tok(arg[0], "cmd"):
            return v.Name(self.read_name(arg, 0).text, False, j)
        if arg and v.is_tok(arg[0], "cmd") and arg[0].text[1:] in v.DECORATIONS:
            inner = self.read_name(arg, 0)  # \mathbf{\hat{y}}: the decorated name
            if inner.end == len(arg):
                return v.Name(inner.text, inner.word, j)
        if not word or len(word) != len([t for t in arg if isinstance(t, scanner.Tok)]) or not word[0].isalpha():
            raise self.error(f"{node.text}{{{scanner.text_of(arg)}}} is not a name", node)
        return v.Name(word, len(word) > 1, j)

    def script(self, nodes: list, j: int, at) -> v.Span:
        """The argument of a ``_`` or ``^`` whose argument starts at ``j``.

        ``e^-x`` and ``e^-(x + b)`` (plain-text habit; TeX would set e^{-}x) are ``e^{-x}`` and
        ``e^{-(x + b)}``: a superscript ``-`` takes the one atom or parenthesis after it.
        """
        if j >= len(nodes):
            raise self.error("a script is missing its argument", at)
        if v.is_tok(at, "op", "^") and v.is_tok(nodes[j], "op", "-") and j + 1 < len(nodes):
            end = self.signed_script_end(nodes, j + 1)
            if end is not None:
                return v.Span(nodes[j:end], end)
        return self.argument(nodes, j)

    def signed_script_end(self, nodes: list, k: int) -> int | None:
        """Where the atom after the ``-`` of ``e^-x`` (starting at ``k``) ends; None if it is no atom.

        The atom is a number, a parenthesis or a name with its scripts (a function name with its
        call); when a factor follows it without an operator (``e^-x y``, ``e^-2x``), where the exponent
        ends is ambiguous and a ParseError says so.
        """
        node = nodes[k]
        if v.is_group(node, "(", "[") or v.is_tok(node, "number"):
            end = k + 1
        elif v.is_tok(node, "letter") or v.is_tok(node, "cmd") and node.text[1:] in v.NAME_COMMANDS:
            atom = self.atom(nodes, k)
            end = atom.end
            if atom.primes:
                return None
            if end < len(nodes) and v.is_group(nodes[end], "(") and self.is_call(atom, nodes[end]):
                end += 1
        else:
            return None
        if end < len(nodes) and v.continues_product(nodes[end]):
            short, long = (scanner.source(self.text, nodes[k - 1 : stop]) for stop in (end, end + 1))
            raise self.error(
                f"^{long} is ambiguous: write ^{{{short}}} or ^{{{long}}} to say where the exponent ends", nodes[k - 1]
            )
        return end

    def read_scripts(self, nodes: list, j: int) -> v.Scripts:
        """Subscript, superscript and primes after a name."""
        sub = sup = None
        primes = 0
        while j < len(nodes):
            node = nodes[j]
            if v.is_tok(node, "op", "'"):
                primes += 1
                j += 1
            elif v.is_tok(node, "op", "_") and sub is None:
                sub, j = self.script(nodes, j + 1, node)
            elif v.is_tok(node, "op", "^") and sup is None:
                script, k = self.script(nodes, j + 1, node)
                if self.primes(script):
                    primes += self.primes(script)
                    j = k
                else:
                    sup, j = script, k
            else:
                break
        return v.Scripts(sub, sup, primes, j)

    @staticmethod
    def primes(script: list) -> int:
        """How many primes a superscript holds (``^{\\prime}``, ``^{''}``), 0 if it is something else."""
        if script and all(v.is_tok(t, "cmd", r"\prime") or v.is_tok(t, "op", "'") for t in script):
            return len(script)
        return 0

    @staticmethod
    def is_transpose(script: list) -> bool:
        return scanner.text_of(script).replace(" ", "") in v.TRANSPOSE

    def layer_index(self, sup: list) -> sp.Expr | None:
        """A layer or sample superscript (l, L, l-1, (i), [l]) as an index, else None."""
        if len(sup) == 1 and v.is_group(sup[0], "(", "["):
            return self.value(scanner.strip_spaces(sup[0].children), "index")
        flat = scanner.text_of(sup).replace(" ", "")
        if flat in ("l", "L") or (len(flat) >= 3 and flat[0] in "lL" and flat[1] in "+-" and flat[2:].isdigit()):
            return self.value(sup, "layer index")
        return None

    def indices(self, sub: list) -> list[sp.Expr]:
        """The indices of a subscript: ``i``, ``jk`` (two), ``i,j``, ``t_k``, ``k=i``, ``k \\neq i``."""
        if v.relation_ops(sub):
            return [self.fixed_index(sub)]
        parts = v.split_top(sub, lambda n: v.is_tok(n, "op", ","))
        if len(parts) > 1:
            return [self.value(p, "index") for p in parts]
        if sub and all(v.is_tok(t, "letter") for t in sub) and len(sub) <= 3:
            return [sp.Symbol(t.text) for t in sub]
        return [self.value(sub, "index")]

    def fixed_index(self, sub: list) -> sp.Expr:
        """``y_{k=i}`` is y_i (the index k at the value i); ``y_{k \\neq i}`` is y_k on the condition k ≠ i.

        The condition goes to ``self.conditions`` (the row's condition); any other relation in a
        subscript is a ParseError.
        """
        ops = v.relation_ops(sub)
        index = sub[: ops[0].start]
        if len(ops) != 1 or ops[0].symbol not in ("=", r"\neq") or len(index) != 1 or not v.is_tok(index[0], "letter"):
            raise self.error(
                "a subscript with a relation is read as y_{k=i} (y_i) or y_{k \\neq i} (y_k where k ≠ i) only", sub[0]
            )
        value = self.value(sub[ops[0].end :], "index value")
        if ops[0].symbol == "=":
            return value
        symbol = sp.Symbol(index[0].text)
        self.conditions.append(sp.Ne(symbol, value))
        return symbol

    def name_subscript(self, sub: list) -> str | None:
        """A subscript that belongs to the name (y_{pred}, L_{MSE}, h_\\theta), else None."""
        if len(sub) == 1 and v.is_tok(sub[0], "cmd") and sub[0].text[1:] in v.GREEK:
            return sub[0].text[1:]
        if len(sub) == 1 and v.is_tok(sub[0], "cmd") and sub[0].text[1:] in v.FONTS | {"text"}:
            return None
        if sub and all(v.is_tok(t, "letter") for t in sub):
            word = "".join(t.text for t in sub)
            if len(word) >= 3 or any(c.isupper() for c in word):
                return word
        if len(sub) == 2 and v.is_tok(sub[0], "cmd") and sub[0].text[1:] in v.FONTS and v.is_group(sub[1]):
            word = scanner.text_of(sub[1].children).replace(" ", "")
            if word.isalpha() and len(word) > 1:
                return word
        return None

    def scripted_font(self, nodes: list, i: int) -> bool:
        """Whether ``nodes[i]`` is a math font or decoration over a name with its scripts (``\\mathbf{x_{i}}``)."""
        node = nodes[i]
        if not (v.is_tok(node, "cmd") and node.text[1:] in v.MATH_FONTS | set(v.DECORATIONS) and i + 1 < len(nodes)):
            return False
        if not v.is_group(nodes[i + 1], "{"):
            return False
        inner = scanner.strip_spaces(nodes[i + 1].children)
        try:
            end = self.read_name(inner, 0).end if inner else 0
        except ParseError:
            return False
        return bool(inner) and self.has_scripts(inner, end) and self.single_atom(inner)

    def braced_name(self, nodes: list, i: int) -> tuple[v.Name, v.Scripts]:
        """``{a^{L}}_{j}``: a name in braces, with scripts inside and outside them."""
        inner = scanner.strip_spaces(nodes[i].children)
        name = self.read_name(inner, 0)
        sub, sup, primes, k = self.read_scripts(inner, name.end)
        if k != len(inner):
            raise self.error("a braced group used as a name holds more than a name", nodes[i])
        outer = self.read_scripts(nodes, i + 1)
        if (sub is not None and outer.sub is not None) or (sup is not None and outer.sup is not None):
            raise self.error("a name with two subscripts or two superscripts", nodes[i])
        if sup is not None and sub is None and outer.sub is not None and self.layer_index(sup) is None:
            sup = [scanner.Group("(", sup, nodes[i].pos)]  # {W^{2}}_{j,k}: the inner superscript is a layer
        scripts = v.Scripts(
            sub if sub is not None else outer.sub,
            sup if sup is not None else outer.sup,
            primes + outer.primes,
            outer.end,
        )
        return v.Name(name.text, name.word, outer.end), scripts

    def atom(self, nodes: list, i: int) -> v.Atom:
        """The name at ``i`` with its indices, power and primes."""
        if v.is_group(nodes[i], "{"):
            name, scripts = self.braced_name(nodes, i)
        elif self.scripted_font(nodes, i):  # \mathbf{x_{i}} is x_i, \hat{y_i} is yhat_i
            name, scripts = self.braced_name(nodes, i + 1)
            name = v.Name(name.text + v.DECORATIONS.get(nodes[i].text[1:], ""), name.word, name.end)
        else:
            name = self.read_name(nodes, i)
            scripts = self.read_scripts(nodes, name.end)
        scripts = self.nested_scripts(scripts, nodes[i])
        text, word, sup, j = name.text, name.word, scripts.sup, scripts.end
        power = layer = None
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
        if scripts.sub is not None:
            extra = self.name_subscript(scripts.sub)
            if extra is not None:
                text = f"{text}_{extra}"
            else:
                index_list.extend(self.indices(scripts.sub))
        value = self.atom_value(text, word, sup, index_list)
        return v.Atom(value, power, scripts.primes, text, word, j, layer)

    def nested_scripts(self, scripts: v.Scripts, at) -> v.Scripts:
        """``z^{_{j}^{l}}``: scripts written inside a superscript are the name's own (z^l_j)."""
        sup = scripts.sup
        if not sup or not v.is_tok(sup[0], "op", "_", "^"):
            return scripts
        inner = self.read_scripts(sup, 0)
        if inner.end != len(sup) or (inner.sub is not None and scripts.sub is not None):
            raise self.error("a superscript that starts with a script holds more than scripts", at)
        sub = inner.sub if inner.sub is not None else scripts.sub
        return v.Scripts(sub, inner.sup, scripts.primes + inner.primes, scripts.end)

    @staticmethod
    def atom_value(name: str, word: bool, sup: list | None, index_list: list) -> sp.Expr:
        """The SymPy value of a name with its indices: KroneckerDelta, Indexed, e, π or a Symbol."""
        kronecker = name == "delta" and sup is None and len(index_list) == 2 and not word
        if kronecker and all(isinstance(ix, (sp.Symbol, sp.Integer)) for ix in index_list):
            return sp.KroneckerDelta(*index_list)
        if index_list:
            return sp.IndexedBase(sp.Symbol(name))[tuple(index_list)]
        if name == "e" and not word:
            return sp.E
        if name == "pi":
            return sp.pi
        return sp.Symbol(name)

    @staticmethod
    def unwrap_call_parens(nodes: list, j: int) -> list:
        r"""``f{\left(z\right)}`` (as SymPy prints calls) read as ``f(z)``."""
        if j < len(nodes) and v.is_group(nodes[j], "{"):
            inner = scanner.strip_spaces(nodes[j].children)
            if len(inner) == 1 and v.is_group(inner[0], "("):
                return [*nodes[:j], inner[0], *nodes[j + 1 :]]
        return nodes

    def atom_operand(self, nodes: list, i: int) -> v.Piece:
        """A name as an operand: a held atom (with its power), or a call if arguments follow."""
        atom = self.atom(nodes, i)
        value, power, primes, name, word, j, _ = atom
        layered = self.layered_call(atom, nodes)
        if layered is not None:
            return self.call(nodes, i, layered.name, j, head=layered, primes=primes, power=power)
        if name in v.FUNCTIONS or name in v.CALL_HEADS or word:
            nodes = self.unwrap_call_parens(nodes, j)
        is_plain = isinstance(value, sp.Symbol) or name in v.FUNCTIONS
        parens = j < len(nodes) and v.is_group(nodes[j], "(")
        component = parens and j + 2 < len(nodes) and v.is_tok(nodes[j + 1], "op", "_")  # s(x + c)_i: a call
        if parens and is_plain and (component or self.is_call(atom, nodes[j])):
            return self.call(nodes, i, name, j, head=value, primes=primes, power=power)
        if primes:
            raise self.error(
                f"{name}' is the derivative of a function written without its argument (by which variable, "
                f"at which point?): write {name}'(x), and define {name} with '% define: {name}(x) = …'",
                nodes[i],
            )
        if isinstance(value, sp.Symbol) and value.name in v.FUNCTIONS and value.name not in v.GREEK:
            return self.call(nodes, i, value.name, j)
        piece = self.hold(value)
        if power is not None:
            piece += "^{" + self.expression(power) + "}"
        return v.Piece(piece, j)

    def layered_call(self, atom: v.Atom, nodes: list) -> sp.Symbol | None:
        """``f^{(L)}(z)``, ``f'^{(L)}(z)``: the function of layer L (a head named ``f^(L)``) applied, else None.

        A number in parentheses (``f^{(2)}(x)``) is the second derivative as often as the function of
        layer 2: that is a ParseError.
        """
        j = atom.end
        if atom.name not in v.CALL_HEADS or atom.layer is None or not (j < len(nodes) and v.is_group(nodes[j], "(")):
            return None
        if not isinstance(atom.value, sp.Indexed) or len(atom.value.indices) != 1:
            return None
        if atom.layer.is_number:
            raise self.error(
                f"{atom.name}^{{({atom.layer})}}(…) is ambiguous: a derivative of order {atom.layer} "
                f"({atom.name}^{{({atom.layer})}} in analysis) or the function of layer {atom.layer}? "
                f"write {atom.name}''(x) or name the layer with a letter",
                nodes[j - 1],
            )
        return sp.Symbol(f"{atom.name}^({atom.layer})")

    @staticmethod
    def double_bar(nodes: list) -> bool:
        """Whether ``nodes`` hold ``||`` (as in ``D_{KL}(P||Q)``)."""
        return any(v.is_tok(a, "op", "|") and v.is_tok(b, "op", "|") for a, b in zip(nodes, nodes[1:], strict=False))

    def is_call(self, atom: v.Atom, paren: scanner.Group) -> bool:
        """Whether ``name(…)`` is a function call (else a product)."""
        name = atom.name
        if name in self.bare_heads:
            return False
        if name in v.FUNCTIONS or name in v.CALL_HEADS or atom.word or atom.primes:
            return True
        if "_" in str(atom.value) and str(atom.value).split("_")[0] in v.CALL_HEADS:
            return True  # h_theta(x)
        inner = scanner.strip_spaces(paren.children)
        if any(v.is_tok(n, "op", ",") or v.is_tok(n, "cmd", r"\mid", r"\|") for n in inner) or self.double_bar(inner):
            return True
        if sum(v.is_tok(n, "op", "|") for n in inner) == 1:
            return True  # p(y|x)
        return len(name) == 1 and self.single_atom(inner) and not (len(inner) == 1 and v.is_tok(inner[0], "number"))
