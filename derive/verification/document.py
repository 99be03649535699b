"""The math of a document, display by display and row by row, with its directives.

One reader serves three formats (:data:`FORMATS`).  Everywhere, a *display* is an environment
``align``, ``align*``, ``equation``, ``eqnarray``, ``gather``, ``multline``, ``flalign``, ``alignat``,
``aligned``, ``split``, ``array``, … outside other math, ``\\[ … \\]``, ``$$ … $$``, a MathJax block
``<script type="math/tex; mode=display">``, a fenced ```` ```math```` block, a reStructuredText
``.. math::`` block, and a single ``$ … $`` or GitLab ``$`…`$`` that holds an environment.  The
Markdown habit of writing ``$$\\begin{align} … \\end{align}$$`` is read like the bare environment:
inside a display, the row environments around the rows (``align``, ``equation``, ``split``,
``aligned``, ``array``, …) are unwrapped; ``cases`` and matrices stay inside their row.
``$$`` and ``\\[`` in a Markdown table row close in the same cell.  Inline math
(``$…$``, ``\\(…\\)``, ``$`…`$``, ``<script type="math/tex">``) gives *inline rows*, which can only
define a name (see :mod:`derive.verification.verify`).  A text without any math delimiter that
holds a relation is read as one display.

The formats differ in what is not read: in ``tex`` a ``%`` starts a comment anywhere; in
``markdown`` only at the start of a line or inside math, and HTML comments and code (```` `…` ````,
fenced blocks other than ``math``) are skipped.  ``ipynb`` reads a Jupyter notebook's markdown cells
as markdown and its ``%%latex`` code cells as tex; its lines are ``CELL:LINE`` (cells from 0,
lines from 1 in the cell's source).

Rows are split on ``\\\\`` (not inside braces or a nested environment), alignment ``&`` is removed,
and what follows an empty cell (``&& \\text{chain rule}``) is the row's *note*.  The directives
``% define: NAME = EXPR`` and ``% assume: …`` (or ``<!-- define: … -->``) may stand on any line.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_right
from dataclasses import dataclass, field
from pathlib import PurePath

from derive import errors
from derive.verification import delimiters

FORMATS = ("tex", "markdown", "ipynb")
SUFFIXES = {
    ".tex": "tex",
    ".latex": "tex",
    ".ltx": "tex",
    ".md": "markdown",
    ".markdown": "markdown",
    ".mkd": "markdown",
    ".rmd": "markdown",
    ".qmd": "markdown",
    ".ipynb": "ipynb",
}
Line = int | str  # a line number, or "CELL:LINE" in a notebook


@dataclass(frozen=True)
class SourceRow:
    """One row of math, as the reader found it."""

    math: str  # the formula, alignment & replaced by spaces (so offsets and line breaks are the source's)
    note: str  # the note column (after an empty cell), may be ""
    line: Line  # the line of the row's first character
    start: int  # offset of ``math`` in the document (in a notebook: in its cell's source)
    end: int  # just after the row's text, its note included (before its \\ or the display's end)
    block: int  # which display the row is in (-1 for inline math)
    inline: bool = False  # inline math: it can define a name, it is never a step
    first: int = 0  # the number of ``line`` in its text
    cell: int | None = None  # the notebook cell

    def line_at(self, offset: int) -> Line:
        """The line of ``math[offset]``."""
        number = self.first + self.math.count("\n", 0, offset)
        return number if self.cell is None else f"{self.cell}:{number}"

    def term_lines(self, sources: list[str], start: int = 0) -> list[Line]:
        """The line of each term of the row, found in order from ``start`` (``sources`` as :class:`Row` gives
        them)."""
        lines, at = [], start
        for source in sources:
            found = self.math.find(source, at) if source else -1
            if found < 0:
                lines.append(self.line)
                continue
            lines.append(self.line_at(found))
            at = found + len(source)
        return lines


@dataclass(frozen=True)
class Display:
    """One display: its kind (``align``, ``$$``, ``\\[``, ``script``, …) and where its body is."""

    kind: str
    start: int  # the body
    end: int
    close: int  # just after the closing delimiter
    line: Line
    block: int
    cell: int | None = None
    reason: str = ""  # why the reader could not take it (no closing delimiter), or ""

    def excerpt(self, text: str, width: int = 50) -> str:
        """The body on one line, shortened to ``width`` characters."""
        flat = " ".join(text[self.start : self.end].split())
        return flat if len(flat) <= width else flat[: width - 1] + "…"


@dataclass(frozen=True)
class Directive:
    kind: str  # "define" or "assume"
    text: str
    line: Line


@dataclass
class Document:
    """What the reader found: the displays, their rows and the inline rows in order, the directives."""

    format: str
    displays: list[Display] = field(default_factory=list)
    rows: list[SourceRow] = field(default_factory=list)
    directives: list[Directive] = field(default_factory=list)
    texts: dict[int | None, str] = field(default_factory=dict)  # the text of each cell (None: the document)

    def excerpt(self, display: Display) -> str:
        return display.excerpt(self.texts[display.cell])


# ---- formats --------------------------------------------------------------------------------------


def format_for(name: str | None, text: str) -> str:
    """The format of a file called ``name`` (by its extension), else the one ``text`` looks like."""
    suffix = PurePath(name).suffix.lower() if name else ""
    return SUFFIXES.get(suffix) or guess(text)


_MARKDOWN_SIGNS = re.compile(
    r"^(?:#{1,6}[ \t]|[ \t]*(?:```|~~~)|[ \t]*[-*+][ \t].*\$|>[ \t]?\$|[ \t]*\|.*\|[ \t]*$)|<!--|\$`|\\\\\(",
    re.MULTILINE,
)


def guess(text: str) -> str:
    """``ipynb`` for a notebook's JSON, ``tex`` for a LaTeX document, ``markdown`` where Markdown shows, else tex."""
    stripped = text.lstrip()
    if stripped.startswith("{") and '"cells"' in stripped:
        return "ipynb"
    if "\\documentclass" in text or "\\begin{document}" in text:
        return "tex"
    return "markdown" if _MARKDOWN_SIGNS.search(text) else "tex"


def read(text: str, format: str | None = None) -> Document:
    """Read ``text`` in ``format`` (one of :data:`FORMATS`; None: :func:`guess` it)."""
    format = format or guess(text)
    if format not in FORMATS:
        raise errors.InvalidOption(f"unknown format {format!r}; use one of: {', '.join(FORMATS)}")
    if format == "ipynb":
        return _notebook(text)
    document = Document(format, texts={None: text})
    _read_part(document, text, format, None)
    return document


def _notebook(text: str) -> Document:
    """The markdown cells (as markdown) and ``%%latex`` code cells (as tex) of a notebook."""
    try:
        cells = json.loads(text)["cells"]
        sources = [(c.get("cell_type"), c.get("source", "")) for c in cells]
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise errors.DocumentError(f"not a Jupyter notebook (nbformat 4 JSON with 'cells'): {exc}") from None
    document = Document("ipynb")
    for number, (kind, source) in enumerate(sources):
        body = "".join(source) if isinstance(source, list) else str(source)
        document.texts[number] = body
        if kind == "markdown":
            _read_part(document, body, "markdown", number)
        elif kind in ("code", "raw") and body.lstrip().startswith("%%latex"):
            _read_part(document, body, "tex", number)
    return document


def _read_part(document: Document, text: str, format: str, cell: int | None) -> None:
    lines = _Lines(text, cell)
    document.directives += [Directive(d.kind, d.text, lines.label(d.line)) for d in directives(text)]
    for span in delimiters.scan(text, format):
        if span.inline:
            row = _inline_row(text, span, lines)
            if row is not None:
                document.rows.append(row)
            continue
        block = len(document.displays)
        document.displays.append(
            Display(span.kind, span.start, span.end, span.close, lines.at(span.start), block, cell, span.reason)
        )
        if not span.reason:
            document.rows += _display_rows(text, span, block, lines)


class _Lines:
    """Line numbers (or "CELL:LINE" labels) of offsets in a text."""

    def __init__(self, text: str, cell: int | None) -> None:
        self.breaks = [k for k, ch in enumerate(text) if ch == "\n"]
        self.cell = cell

    def number(self, offset: int) -> int:
        return bisect_right(self.breaks, offset - 1) + 1

    def label(self, number: int) -> Line:
        return number if self.cell is None else f"{self.cell}:{number}"

    def at(self, offset: int) -> Line:
        return self.label(self.number(offset))


# ---- directives -----------------------------------------------------------------------------------

_DIRECTIVE = re.compile(
    r"^[ \t]*(?:%+|<!--)[ \t]*(?P<kind>define|assume)[ \t]*:(?P<text>.*?)[ \t]*(?:-->[ \t]*)?$",
    re.MULTILINE | re.IGNORECASE,
)


def directives(text: str) -> list[Directive]:
    """The ``% define:`` / ``% assume:`` lines (and ``<!-- define: … -->``) of ``text``, with their line."""
    return [
        Directive(m.group("kind").lower(), m.group("text").strip(), text.count("\n", 0, m.start()) + 1)
        for m in _DIRECTIVE.finditer(text)
    ]


# ---- rows -----------------------------------------------------------------------------------------

_COMMENT = re.compile(r"(?<!\\)%[^\n]*")
_NOISE = re.compile(
    r"\\(?:label|tag\*?|eqref|ref|vspace\*?|require|intertext)\{[^{}]*\}|\\(?:nonumber|notag)(?![a-zA-Z])"
)
_RST_OPTION = re.compile(r"^[ \t]*:[\w-]+:.*$", re.MULTILINE)
_QUOTE = re.compile(r"(?<=\n)[ \t]*(?:>[ \t]?)+")


def _blank(match: re.Match) -> str:
    """The match as spaces, its line breaks kept (so offsets and line numbers stay the source's)."""
    return re.sub(r"[^\n]", " ", match.group())


def _body(text: str, span: delimiters.Span) -> str:
    """The display's body, comments, labels, tags and Markdown quote markers blanked."""
    body = _COMMENT.sub(_blank, text[span.start : span.end])
    if span.kind == "rst":
        body = _RST_OPTION.sub(_blank, body)
    line_start = text.rfind("\n", 0, span.start) + 1
    if text[line_start : span.start].lstrip().startswith(">"):  # a display inside a Markdown block quote
        body = _QUOTE.sub(_blank, body)
    return _NOISE.sub(_blank, body)


def _display_rows(text: str, span: delimiters.Span, block: int, lines: _Lines) -> list[SourceRow]:
    """The rows of one display: split on ``\\\\``, ``&`` removed, the note column apart."""
    body, cells = delimiters.unwrap(_body(text, span))
    out = []
    for start, end in delimiters.split_top(body, "\\\\"):
        parts = delimiters.split_top(body[start:end], "&")
        chars = list(body[start:end])
        math_end = end - start
        note = ""
        if len(parts) > cells:
            math_end = parts[cells - 1][1]
            note = " ".join(piece for s, e in parts[cells:] if (piece := body[start + s : start + e].strip()))
        for _, separator in parts[: min(cells, len(parts)) - 1]:
            chars[separator] = " "
        math = "".join(chars[:math_end])
        if not math.strip():
            continue
        offset = span.start + start + len(math) - len(math.lstrip())
        number = lines.number(offset)
        row_end = span.start + start + len(body[start:end].rstrip())  # before a blanked \end{…}
        out.append(
            SourceRow(math.strip(), note, lines.label(number), offset, row_end, block, False, number, lines.cell)
        )
    return out


def _inline_row(text: str, span: delimiters.Span, lines: _Lines) -> SourceRow | None:
    """Inline math that holds ``=``: a row that may define a name."""
    math = _NOISE.sub(_blank, _COMMENT.sub(_blank, text[span.start : span.end]))
    if "=" not in math or not math.strip():
        return None
    offset = span.start + len(math) - len(math.lstrip())
    number = lines.number(offset)
    return SourceRow(math.strip(), "", lines.label(number), offset, span.end, -1, True, number, lines.cell)


# ---- the LaTeX view, for annotate -----------------------------------------------------------------


def rows(text: str) -> list[SourceRow]:
    """Every row of displayed math in the LaTeX ``text`` (inline math left out)."""
    return [row for row in read(text, "tex").rows if not row.inline]


def displays(text: str) -> list[Display]:
    """Every display of the LaTeX ``text``, those the reader could not take included."""
    return read(text, "tex").displays
