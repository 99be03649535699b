"""The displayed math of a LaTeX document, row by row, with its directives.

Math is taken from ``align``, ``align*``, ``equation``, ``equation*``,
``eqnarray``, ``eqnarray*``, ``gather``, ``gather*``, ``multline``, ``\\[ … \\]``
and ``$$ … $$``; other text is ignored.  Rows are split on ``\\\\`` (not inside
braces or a nested ``cases``), alignment ``&`` is removed, and what follows an
empty cell (``&& \\text{chain rule}``) is the row's *note*.  Comments are
dropped, except the directives ``% define: NAME = EXPR`` and ``% assume: …``.
A text without any display environment is read as one display.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ENVIRONMENTS = (
    "align",
    "align*",
    "equation",
    "equation*",
    "eqnarray",
    "eqnarray*",
    "gather",
    "gather*",
    "multline",
    "multline*",
    "flalign",
    "flalign*",
    "alignat",
    "alignat*",
    "displaymath",
    "math",
)
_DISPLAY = re.compile(
    r"\\begin\{(?P<env>"
    + "|".join(re.escape(e) for e in ENVIRONMENTS)
    + r")\}(?:\{\d+\})?(?P<body>.*?)\\end\{(?P=env)\}"
    r"|\\\[(?P<bracket>.*?)\\\]"
    r"|\$\$(?P<dollars>.*?)\$\$",
    re.DOTALL,
)
_DIRECTIVE = re.compile(r"^[ \t]*%+[ \t]*(?P<kind>define|assume)[ \t]*:(?P<text>.*)$", re.MULTILINE | re.IGNORECASE)
_NOISE = re.compile(
    r"\\(?:label|tag\*?|eqref|ref|vspace\*?)\{[^{}]*\}|\\(?:nonumber|notag|intertext\{[^{}]*\})"
    r"|\\begin\{(?:split|aligned|gathered)\}|\\end\{(?:split|aligned|gathered)\}"
)


@dataclass(frozen=True)
class SourceRow:
    """One row of displayed math."""

    math: str  # the formula, alignment removed
    note: str  # the note column (after an empty cell), may be ""
    line: int  # 1-based line of the row in the document
    start: int  # offset of the row in the document
    end: int  # offset just after the row's text (before its \\ or the environment's end)
    block: int  # which display the row is in


@dataclass(frozen=True)
class Directive:
    kind: str  # "define" or "assume"
    text: str
    line: int


def _blank_comments(text: str) -> str:
    """Comments replaced by spaces, so offsets stay those of the original."""

    def blank(match: re.Match) -> str:
        return " " * len(match.group())

    return re.sub(r"(?<!\\)%[^\n]*", blank, text)


def directives(text: str) -> list[Directive]:
    found = []
    for match in _DIRECTIVE.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        found.append(Directive(match.group("kind").lower(), match.group("text").strip(), line))
    return found


def displays(text: str) -> list[tuple[str, int, int, str]]:
    """(environment, body start, body end, body) of each display, in order."""
    clean = _blank_comments(text)
    found = []
    for match in _DISPLAY.finditer(clean):
        for group in ("body", "bracket", "dollars"):
            if match.group(group) is not None:
                env = match.group("env") or ("[" if group == "bracket" else "$$")
                found.append((env, match.start(group), match.end(group), match.group(group)))
    if not found and "\\begin{document}" not in clean and clean.strip():
        found.append(("text", 0, len(clean), clean))
    return found


def _split_top(body: str, separator: str) -> list[tuple[int, int]]:
    """(start, end) spans of ``body`` cut at ``separator`` outside braces and nested environments."""
    spans, depth, env_depth, start, k = [], 0, 0, 0, 0
    while k < len(body):
        if body.startswith("\\begin{", k):
            env_depth += 1
            k += 7
            continue
        if body.startswith("\\end{", k):
            env_depth -= 1
            k += 5
            continue
        ch = body[k]
        if ch == "\\" and body.startswith(separator, k) and depth == 0 and env_depth == 0:
            spans.append((start, k))
            k += len(separator)
            if separator == "\\\\":  # \\[2pt] spacing argument
                spacing = re.match(r"\s*\[[^\]]*\]", body[k:])
                if spacing:
                    k += spacing.end()
            start = k
            continue
        if ch == "\\":
            k += 2
            continue
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif ch == separator and depth == 0 and env_depth == 0:
            spans.append((start, k))
            start = k + 1
        k += 1
    spans.append((start, len(body)))
    return spans


def rows(text: str) -> list[SourceRow]:
    """Every non-empty row of displayed math in ``text``."""
    out = []
    clean = _blank_comments(text)
    for block, (env, body_start, body_end, _) in enumerate(displays(text)):
        body = clean[body_start:body_end]
        body = _NOISE.sub(lambda m: " " * len(m.group()), body)
        math_cells = 3 if env.startswith("eqnarray") else 2
        for start, end in _split_top(body, "\\\\"):
            cells = _split_top(body[start:end], "&")
            pieces = [body[start + s : start + e] for s, e in cells]
            if len(pieces) > math_cells:
                math = " ".join(pieces[:math_cells])
                note = " ".join(p.strip() for p in pieces[math_cells:] if p.strip())
            else:
                math, note = " ".join(pieces), ""
            if not math.strip():
                continue
            offset = body_start + start
            line = text.count("\n", 0, offset + len(body[start:end]) - len(body[start:end].lstrip())) + 1
            out.append(SourceRow(math.strip(), note, line, offset, body_start + end, block))
    return out
