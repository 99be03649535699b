"""Where the math of a text is: every display and inline span, by its delimiters, in order.

:func:`scan` walks the text once, from one opening delimiter to the next, and skips what is not
math (comments, code, other ``<script>`` blocks).  What it sees and cannot take (a ``$$`` that is
never closed, ``\\begin{align}`` without its ``\\end``) is still returned, with the reason, so the
report can name it.  :mod:`derive.verification.document` describes the delimiters per format.

Inside a display, :func:`unwrap` blanks the row environments around the rows (``align``,
``split``, ``array``, …) and :func:`split_top` cuts rows at ``\\\\`` and cells at ``&``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: environments that are a display where they stand outside math
ENVIRONMENTS = frozenset(
    f"{name}{star}"
    for name in ("align", "equation", "eqnarray", "gather", "multline", "flalign", "alignat", "displaymath")
    for star in ("", "*")
) | {"math", "aligned", "alignedat", "gathered", "split", "array"}
#: environments that only arrange rows: unwrapped where they stand at the top of a display
ROW_ENVIRONMENTS = ENVIRONMENTS | {"subequations"}


@dataclass(frozen=True)
class Span:
    """Math found in a text: the body is ``text[start:end]``; ``close`` is just after the closer."""

    kind: str  # "$$", "\\[", "script", "math" (fence), "rst", "$", "$`", or an environment name
    start: int
    end: int
    close: int
    inline: bool = False
    reason: str = ""  # set when the span is no math the reader can take


_COMMON = (
    r"(?P<escape>\\[$%])"
    r"|(?P<fence>^[ \t>]*(?P<ticks>```+|~~~+)[ \t]*(?P<info>[\w-]*)[^\n]*$)"
    r"|(?P<rst>^(?P<indent>[ \t]*)\.\.[ \t]+math::[ \t]*)"
    r"|(?P<script><script\b[^>]*>)"
    r"|(?P<gitlab>\$`)"
    r"|(?P<dollars>\$\$)"
    r"|(?P<dollar>\$)"
    r"|(?P<bracket>\\{1,2}\[)"
    r"|(?P<paren>\\{1,2}\()"
    r"|(?P<begin>\\begin\{(?P<env>[a-zA-Z]+\*?)\})"
    r"|(?P<role>:math:`)"
)
_OPENERS = {
    "tex": re.compile(r"(?P<percent>%)|" + _COMMON, re.MULTILINE),
    "markdown": re.compile(r"(?P<percent>^[ \t]*%)|(?P<comment><!--)|" + _COMMON + r"|(?P<code>`+)", re.MULTILINE),
}
_DIMENSION = re.compile(r"\s*-?\d*\.?\d+\s*(?:pt|em|ex|mm|cm|in|mu|bp|pc|dd|cc|sp)\s*\]")
_BLANK_LINE = re.compile(r"\n[ \t>]*\n")
_TABLE_ROW = re.compile(r"[ \t]*\|.*\|[ \t]*")
_ANY_DELIMITER = re.compile(r"\$|\\\[|\\\(|<script|\\begin\{|:math:`|^\.\. math::", re.MULTILINE)
_HOLDS_ENVIRONMENT = re.compile(r"\\begin\{([a-zA-Z]+\*?)\}")
_BAR = re.compile(r"(?<!\\)\|")
_CLOSE_DOLLARS = re.compile(r"(?<!\\)\$\$")
_CLOSE_DOLLAR = re.compile(r"(?<![\\$])\$(?!\$)")
_CLOSE_SCRIPT = re.compile(r"</script\s*>", re.IGNORECASE)


def scan(text: str, format: str) -> list[Span]:
    """Every display and inline span of ``text`` (format ``tex`` or ``markdown``), in order."""
    found: list[Span] = []
    pattern = _OPENERS[format]
    pos = 0
    while (match := pattern.search(text, pos)) is not None:
        groups = match.groupdict()
        kind = next(name for name in _HANDLERS if groups.get(name) is not None)
        span, pos = _HANDLERS[kind](text, match)
        if span is not None:
            found.append(span)
        pos = max(pos, match.end())
    return found or _bare(text)


def _bare(text: str) -> list[Span]:
    """A text with no math delimiter at all that holds a relation: one display (comment lines left out)."""
    if _ANY_DELIMITER.search(text):
        return []
    body = re.sub(r"(?m)^[ \t]*%.*$", "", text)
    if not re.search(r"=|<|>|\\(?:neq|ne|le|ge|leq|geq|approx)\b", body):
        return []
    return [Span("text", 0, len(text), len(text))]


def _skip_to(text: str, match: re.Match, closer: str) -> tuple[None, int]:
    at = text.find(closer, match.end())
    return None, (len(text) if at < 0 else at + len(closer))


def _line_end(text: str, match: re.Match) -> tuple[None, int]:
    at = text.find("\n", match.end())
    return None, (len(text) if at < 0 else at)


def _bound(text: str, at: int, paragraph: bool) -> int:
    """How far a closer may be: the end of a Markdown table cell, of the paragraph, or of the text."""
    line_start = text.rfind("\n", 0, at) + 1
    line_end = text.find("\n", at)
    line_end = len(text) if line_end < 0 else line_end
    if _TABLE_ROW.fullmatch(text, line_start, line_end):
        bar = _BAR.search(text, at, line_end)
        return bar.start() if bar else line_end
    if paragraph:
        blank = _BLANK_LINE.search(text, at)
        return blank.start() if blank else len(text)
    return len(text)


def _closed(text: str, match: re.Match, kind: str, closer: re.Pattern | str, paragraph: bool = False) -> Span | None:
    """The span from ``match`` to ``closer`` (within the bound), or None where there is none."""
    limit = _bound(text, match.start(), paragraph)
    if isinstance(closer, str):
        end = text.find(closer, match.end(), limit)
        close = end + len(closer)
    else:
        found = closer.search(text, match.end(), limit)
        end, close = (found.start(), found.end()) if found else (-1, -1)
    return None if end < 0 else Span(kind, match.end(), end, close)


def _dollars(text: str, match: re.Match) -> tuple[Span, int]:
    span = _closed(text, match, "$$", _CLOSE_DOLLARS)
    if span is None:
        where = "its table cell" if _TABLE_ROW.fullmatch(_line_of(text, match.start())) else "the text"
        return Span("$$", match.end(), match.end(), match.end(), reason=f"no closing $$ in {where}"), match.end()
    return span, span.close


def _dollar(text: str, match: re.Match) -> tuple[Span | None, int]:
    span = _closed(text, match, "$", _CLOSE_DOLLAR, paragraph=True)
    if span is None:
        return None, match.end()  # a dollar sign in prose
    return _inline_or_display(text, span), span.close


def _gitlab(text: str, match: re.Match) -> tuple[Span | None, int]:
    span = _closed(text, match, "$`", "`$", paragraph=True)
    if span is None:
        return None, match.end()
    return _inline_or_display(text, span), span.close


def _role(text: str, match: re.Match) -> tuple[Span | None, int]:
    span = _closed(text, match, ":math:", "`", paragraph=True)
    return (
        (None, match.end()) if span is None else (Span(span.kind, span.start, span.end, span.close, True), span.close)
    )


def _inline_or_display(text: str, span: Span) -> Span:
    """Single-dollar math is a display when it holds a row environment, else inline."""
    holds = _HOLDS_ENVIRONMENT.search(text, span.start, span.end)
    inline = holds is None or holds.group(1) not in ROW_ENVIRONMENTS
    return Span(span.kind, span.start, span.end, span.close, inline=inline)


def _bracket(text: str, match: re.Match) -> tuple[Span | None, int]:
    slashes = match.group("bracket")[:-1]
    if len(slashes) == 2 and _DIMENSION.match(text, match.end()):
        return None, match.end()  # \\[2pt]: a line break with its spacing
    span = _closed(text, match, "\\[", slashes + "]")
    if span is None:
        if len(slashes) == 2:
            return None, match.end()
        return Span("\\[", match.end(), match.end(), match.end(), reason="no closing \\]"), match.end()
    return span, span.close


def _paren(text: str, match: re.Match) -> tuple[Span | None, int]:
    slashes = match.group("paren")[:-1]
    span = _closed(text, match, "\\(", slashes + ")", paragraph=True)
    return (None, match.end()) if span is None else (Span("\\(", span.start, span.end, span.close, True), span.close)


def _begin(text: str, match: re.Match) -> tuple[Span | None, int]:
    env = match.group("env")
    if env not in ENVIRONMENTS:
        return None, match.end()
    depth, pattern = 1, re.compile(r"\\(begin|end)\{" + re.escape(env) + r"\}")
    for found in pattern.finditer(text, match.end()):
        depth += 1 if found.group(1) == "begin" else -1
        if depth == 0:
            # the body keeps \begin{env}: the row reader unwraps it (and reads its arguments)
            return Span(env, match.start(), found.end(), found.end()), found.end()
    return Span(
        env, match.end(), match.end(), match.end(), reason=f"\\begin{{{env}}} has no \\end{{{env}}}"
    ), match.end()


def _script(text: str, match: re.Match) -> tuple[Span | None, int]:
    tag = match.group("script")
    end = _CLOSE_SCRIPT.search(text, match.end())
    close = len(text) if end is None else end.end()
    if not re.search(r"type\s*=\s*[\"']?math/tex", tag, re.IGNORECASE):
        return None, close  # a script of code: not math
    if end is None:
        return Span("script", match.end(), match.end(), match.end(), reason="no closing </script>"), match.end()
    return Span("script", match.end(), end.start(), close, inline="mode=display" not in tag), close


def _fence(text: str, match: re.Match) -> tuple[Span | None, int]:
    ticks = match.group("ticks")
    closer = re.compile(r"^[ \t>]*" + re.escape(ticks[0]) + "{" + str(len(ticks)) + r",}[ \t]*$", re.MULTILINE)
    body_start = min(len(text), match.end() + 1)
    end = closer.search(text, body_start)
    close = len(text) if end is None else end.end()
    if match.group("info").lower() != "math":
        return None, close  # code
    return Span("math", body_start, end.start() if end else len(text), close), close


def _rst(text: str, match: re.Match) -> tuple[Span, int]:
    """``.. math::`` and the lines indented under it (option lines such as ``:label:`` blanked)."""
    indent = len(match.group("indent").expandtabs())
    end = text.find("\n", match.end())
    end = len(text) if end < 0 else end
    while end < len(text):
        nxt = text.find("\n", end + 1)
        nxt = len(text) if nxt < 0 else nxt
        line = text[end + 1 : nxt]
        if line.strip() and len(line.expandtabs()) - len(line.expandtabs().lstrip()) <= indent:
            break
        end = nxt
    return Span("rst", match.end(), end, end), end


def _line_of(text: str, at: int) -> str:
    start = text.rfind("\n", 0, at) + 1
    end = text.find("\n", at)
    return text[start : len(text) if end < 0 else end]


def _code(text: str, match: re.Match) -> tuple[None, int]:
    ticks = match.group("code")
    closer = re.compile(r"(?<!`)" + ticks + r"(?!`)").search(text, match.end())
    return None, (match.end() if closer is None else closer.end())


_HANDLERS = {
    "percent": _line_end,
    "comment": lambda text, match: _skip_to(text, match, "-->"),
    "escape": lambda text, match: (None, match.end()),
    "fence": _fence,
    "rst": _rst,
    "script": _script,
    "gitlab": _gitlab,
    "dollars": _dollars,
    "dollar": _dollar,
    "bracket": _bracket,
    "paren": _paren,
    "begin": _begin,
    "role": _role,
    "code": _code,
}


# ---- inside a display: row environments, rows and cells -------------------------------------------

_MARKER = re.compile(
    r"\\begin\{([a-zA-Z]+\*?)\}|\\end\{([a-zA-Z]+\*?)\}|\\left(?![a-zA-Z])|\\right(?![a-zA-Z])|\\.|[{}]"
)
_TAKES_COLUMNS = {"array", "alignat", "alignat*", "alignedat"}


def _arguments(body: str, at: int, env: str) -> int:
    """The end of the arguments after ``\\begin{env}``: ``[t]``, and ``{rcl}`` of array or ``{2}`` of alignat."""
    optional = re.compile(r"\s*\[[^\]\n]*\]").match(body, at)
    if optional and env not in _TAKES_COLUMNS:
        return optional.end()
    if env in _TAKES_COLUMNS:
        at = optional.end() if optional else at
        opening = re.compile(r"\s*\{").match(body, at)
        if opening:
            depth, k = 1, opening.end()
            while k < len(body) and depth:
                depth += {"{": 1, "}": -1}.get(body[k], 0)
                k += 1
            return k
    return at


def _cells(env: str, arguments: str) -> int:
    """How many cells of a row are math: 3 in eqnarray (``a & = & b``), one per column of array."""
    if env.startswith("eqnarray"):
        return 3
    if env == "array":
        spec = arguments[arguments.find("{") + 1 : arguments.rfind("}")]
        spec = re.sub(r"[@!]\{[^{}]*\}|\{[^{}]*\}", "", spec)
        return max(1, len(re.findall(r"[lcr]", spec)))
    return 2


def unwrap(body: str) -> tuple[str, int]:
    """``body`` with the row environments at its top (``align``, ``split``, ``array``, …) blanked out.

    Returns the body and how many ``&`` cells of a row are math (see :func:`_cells`).  An environment
    inside braces, ``\\left … \\right`` or another environment (``cases``, ``pmatrix``) stays.
    """
    chars, stack, cells = list(body), [], 0
    for match in _MARKER.finditer(body):
        token = match.group()
        if match.group(1):
            env = match.group(1)
            if env in ROW_ENVIRONMENTS and all(item == "row" for item in stack):
                end = _arguments(body, match.end(), env)
                cells = cells or _cells(env, body[match.end() : end])
                chars[match.start() : end] = " " * (end - match.start())
                stack.append("row")
            else:
                stack.append("env")
        elif match.group(2):
            if stack and stack.pop() == "row":
                chars[match.start() : match.end()] = " " * (match.end() - match.start())
        elif token in ("{", "\\left"):
            stack.append(token)
        elif token in ("}", "\\right") and stack and stack[-1] == {"}": "{", "\\right": "\\left"}[token]:
            stack.pop()
    return "".join(chars), cells or 2


def split_top(body: str, separator: str) -> list[tuple[int, int]]:
    """(start, end) spans of ``body`` cut at ``separator`` outside braces and nested environments."""
    spans, depth, env_depth, start, k = [], 0, 0, 0, 0
    while k < len(body):
        if body.startswith("\\begin{", k) or body.startswith("\\end{", k):  # the whole \begin{name}
            env_depth += 1 if body.startswith("\\begin{", k) else -1
            close = body.find("}", k)
            k = len(body) if close < 0 else close + 1
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
