"""Tokens and a bracket tree of one LaTeX formula (no meaning yet).

``tree(text)`` turns ``\\frac{a}{1-\\sigma(z)}`` into a list of nodes:
:class:`Tok` (a command, a letter, a number or an operator character) and
:class:`Group` (``{…}``, ``(…)``, ``[…]``, ``\\left( … \\right)``), each with
its position in the text so errors can point at it.  Layout that carries no
meaning (spacing macros, ``\\left``/``\\right``, ``\\big``, ``\\displaystyle``,
``\\limits``) is dropped here; :mod:`derive.parse.dialect` gives the rest its meaning.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import NamedTuple

from derive import errors


@dataclass(frozen=True)
class Tok:
    kind: str  # "cmd", "letter", "number", "op", "space", "prose" (non-ASCII words: CJK and the like)
    text: str
    pos: int
    width: int = 0  # characters it spans in the text when not len(text) (a Unicode ∑ read as \sum spans 1)

    @property
    def stop(self) -> int:
        """The offset just after the token in the text."""
        return self.pos + (self.width or len(self.text))

    def is_cmd(self, *names: str) -> bool:
        return self.kind == "cmd" and self.text in names


@dataclass
class Group:
    open: str  # "{", "(", "[", "\\{" (set braces), or "env:NAME" for \begin{NAME} … \end{NAME}
    children: list = field(default_factory=list)
    pos: int = 0
    end: int = 0  # offset just after the closing bracket

    @property
    def braces(self) -> bool:
        return self.open == "{"


#: Commands that only lay out the formula.
SPACING = {
    r"\,",
    r"\;",
    r"\!",
    r"\:",
    r"\ ",
    r"\>",
    r"\displaystyle",
    r"\textstyle",
    r"\scriptstyle",
    r"\scriptscriptstyle",
    r"\limits",
    r"\nolimits",
    r"\nonumber",
    r"\notag",
    r"\left.",
    r"\right.",
    r"\middle",
    *(r"\tiny", r"\scriptsize", r"\footnotesize", r"\small", r"\normalsize"),  # font sizes
    *(r"\large", r"\Large", r"\LARGE", r"\huge", r"\Huge", r"\strut", r"\mathstrut"),
}
#: Separators kept as tokens: they can mark a condition (``\quad (i = j)``).
SEPARATORS = {r"\quad", r"\qquad", "~", r"\hspace", r"\hfill"}
_SIZES = re.compile(r"\\(?:left|right|[bB]ig{1,2}[lrm]?)(?![a-zA-Z])")
_TOKEN = re.compile(
    r"(?P<cmd>\\(?:[a-zA-Z]+|.))"
    r"|(?P<number>\d+(?:\.\d+)?|\.\d+)"
    r"|(?P<letter>[a-zA-Z])"
    r"|(?P<space>\s+)"
    r"|(?P<op>[^\s])"
)
_OPEN = {"{": "}", "(": ")", "[": "]", "\\{": "\\}"}
_CLOSE = {v: k for k, v in _OPEN.items()}
#: Unicode math characters and what they are in LaTeX (Greek letters are added from their Unicode names).
UNICODE = {
    "∑": ("cmd", r"\sum"),
    "∏": ("cmd", r"\prod"),
    "∂": ("cmd", r"\partial"),
    "∇": ("cmd", r"\nabla"),
    "∞": ("cmd", r"\infty"),
    "·": ("cmd", r"\cdot"),
    "⋅": ("cmd", r"\cdot"),
    "×": ("cmd", r"\times"),
    "⊙": ("cmd", r"\odot"),
    "≠": ("cmd", r"\neq"),
    "…": ("cmd", r"\ldots"),
    "⋯": ("cmd", r"\cdots"),
    "⇒": ("cmd", r"\Rightarrow"),
    "⟹": ("cmd", r"\implies"),
    "⇔": ("cmd", r"\iff"),
    "∴": ("cmd", r"\therefore"),
    "∵": ("cmd", r"\because"),
    "≤": ("cmd", r"\le"),
    "≥": ("cmd", r"\ge"),
    "−": ("op", "-"),
    "–": ("op", "-"),
    "′": ("op", "'"),
    "’": ("op", "'"),
    "ϵ": ("cmd", r"\epsilon"),
    "ϕ": ("cmd", r"\phi"),
    "ς": ("cmd", r"\varsigma"),
}
#: Greek capitals with a command of their own; the others look like Latin letters.
_CAPITALS = {"Gamma", "Delta", "Theta", "Lambda", "Xi", "Pi", "Sigma", "Upsilon", "Phi", "Psi", "Omega"}
_LATIN = {"alpha": "A", "beta": "B", "epsilon": "E", "zeta": "Z", "eta": "H", "iota": "I", "kappa": "K", "mu": "M"}
_LATIN |= {"nu": "N", "rho": "P", "tau": "T", "chi": "X"}
_GREEK_LETTERS = [
    *("alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa", "lambda", "mu", "nu"),
    *("xi", "omicron", "pi", "rho", "sigma", "tau", "upsilon", "phi", "chi", "psi", "omega"),
]
for _k, _name in enumerate(_GREEK_LETTERS):
    _small = chr(0x3B1 + _k + (_k >= 17))  # ς (final sigma) sits between ρ and σ
    _capital = chr(0x391 + _k + (_k >= 17))
    if _name != "omicron":
        UNICODE.setdefault(_small, ("cmd", "\\" + _name))
    _command = "\\" + _name.capitalize()
    UNICODE[_capital] = ("cmd", _command) if _name.capitalize() in _CAPITALS else ("letter", _LATIN.get(_name, "O"))


#: What follows the bar of an evaluation ``f \right|_{x=a}``: a subscript, perhaps after a superscript.
_EVALUATION_SCRIPT = re.compile(r"\s*(?:_|\^\s*(?:\{[^{}]*\}|\\?\w+)\s*_)")


def tokens(text: str) -> list[Tok]:
    """The tokens of ``text``; sizing commands are removed, spacing becomes a space, ``=>`` is ``\\Rightarrow``."""
    out: list[Tok] = []
    right_bar = skip_to = -1
    # \left. and \right. are invisible delimiters: blank them, keeping positions.
    text = re.sub(r"\\(?:left|right)\.", lambda m: " " * len(m.group()), text)
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup
        value = match.group()
        width = 0
        if match.start() < skip_to:
            continue
        if value == r"\not":  # \not= is \neq
            equals = re.compile(r"\s*=").match(text, match.end())
            if equals:
                out.append(Tok("cmd", r"\neq", match.start(), equals.end() - match.start()))
                skip_to = equals.end()
                continue
        if kind == "op" and value == "=" and text.startswith(">", match.end()):  # ASCII => is \Rightarrow
            out.append(Tok("cmd", r"\Rightarrow", match.start(), 2))
            skip_to = match.end() + 1
            continue
        if kind == "cmd":
            if value == r"\right" and text.startswith("|", match.end()):
                # \right|_{x=a} (or ^{b}_{a}) is an evaluation bar; any other \right| closes \left| … as | does
                if _EVALUATION_SCRIPT.match(text, match.end() + 1):
                    right_bar = match.end()
                continue
            if _SIZES.fullmatch(value):
                continue
            if value in SPACING:
                kind, value = "space", " "
            elif value == r"\hspace":
                kind = "space"
        elif kind == "op" and match.start() == right_bar:
            kind, value = "cmd", r"\evalat"
            width = 1
        elif kind == "op" and value in UNICODE:
            (kind, value), width = UNICODE[value], 1
        elif kind == "op" and not value.isascii() and unicodedata.category(value)[0] in "LPSN":
            if out and out[-1].kind == "prose" and out[-1].stop == match.start():
                out[-1] = Tok("prose", out[-1].text + value, out[-1].pos)
                continue
            kind = "prose"
        out.append(Tok(kind, value, match.start(), width))
    return out


def tree(text: str) -> list:
    """The bracket tree of ``text``: nested :class:`Group` nodes and :class:`Tok` leaves."""
    stack: list[Group] = [Group("", [], 0)]
    previous: Tok | None = None
    toks = tokens(text)
    skip = 0
    for index, tok in enumerate(toks):
        if skip:
            skip -= 1
            continue
        if tok.kind == "cmd" and tok.text in (r"\begin", r"\end"):
            name, skip = _environment_name(toks, index, text)
            if tok.text == r"\begin":
                group = Group(f"env:{name}", [], tok.pos)
                stack[-1].children.append(group)
                stack.append(group)
            else:
                if stack[-1].open != f"env:{name}":
                    raise errors.ParseError(f"\\end{{{name}}} does not close {_describe(stack[-1])}", tok.pos, text)
                stack[-1].end = toks[index + skip].pos + 1
                stack.pop()
        elif tok.kind in ("op", "cmd") and tok.text in _OPEN:
            group = Group(tok.text, [], tok.pos)
            stack[-1].children.append(group)
            stack.append(group)
        elif tok.kind in ("op", "cmd") and tok.text in _CLOSE:
            if len(stack) == 1 or _OPEN.get(stack[-1].open) != tok.text:
                raise errors.ParseError(f"unbalanced '{tok.text}' inside {_describe(stack[-1])}", tok.pos, text)
            stack[-1].end = tok.stop
            stack.pop()
        elif tok.kind == "space":
            if previous is not None and previous.kind != "space":
                stack[-1].children.append(tok)
        else:
            stack[-1].children.append(tok)
        previous = tok
    if len(stack) > 1:
        raise errors.ParseError(f"{_describe(stack[-1])} is never closed", stack[-1].pos, text)
    return stack[0].children


def _describe(group: Group) -> str:
    if not group.open:
        return "the formula"
    if group.open.startswith("env:"):
        return f"\\begin{{{group.open[4:]}}}"
    return f"'{group.open}'"


class _EnvironmentName(NamedTuple):
    name: str
    span: int  # how many tokens \\begin{NAME} spans after the \\begin


def _environment_name(toks: list[Tok], index: int, text: str) -> _EnvironmentName:
    """The NAME of \\begin{NAME} at ``index`` and how many tokens it spans."""
    k = index + 1
    while k < len(toks) and toks[k].kind == "space":
        k += 1
    if k >= len(toks) or toks[k].text != "{":
        raise errors.ParseError(f"{toks[index].text} needs an environment name in braces", toks[index].pos, text)
    name = []
    k += 1
    while k < len(toks) and toks[k].text != "}":
        name.append(toks[k].text)
        k += 1
    if k >= len(toks):
        raise errors.ParseError(f"{toks[index].text}{{ is never closed", toks[index].pos, text)
    return _EnvironmentName("".join(name).strip(), k - index)


def strip_spaces(nodes: list) -> list:
    """``nodes`` without space tokens (separators like ``\\quad`` are kept)."""
    return [node for node in nodes if not (isinstance(node, Tok) and node.kind == "space")]


def end(node) -> int:
    """The offset in the text just after ``node``."""
    return node.end if isinstance(node, Group) else node.stop


def source(text: str, nodes: list) -> str:
    """The original text that ``nodes`` (consecutive siblings) were read from."""
    if not nodes:
        return ""
    return text[nodes[0].pos : end(nodes[-1])].strip()


def text_of(nodes: list) -> str:
    """A readable reconstruction of ``nodes`` (for names in \\text{…} and messages)."""
    parts = []
    for node in nodes:
        if isinstance(node, Group):
            inner = text_of(node.children)
            if node.open.startswith("env:"):
                parts.append(f"\\begin{{{node.open[4:]}}}{inner}\\end{{{node.open[4:]}}}")
            else:
                parts.append(f"{node.open}{inner}{_OPEN[node.open]}")
        else:
            parts.append(node.text)
    return "".join(parts)
