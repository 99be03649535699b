"""Side conditions, remarks and the statements of a row: ``… \\quad (i = j)``, ``A \\Rightarrow B``, ``\\because``.

:func:`split_statements` cuts one row at its implications (``\\Rightarrow``, ``\\implies``, ASCII ``=>``,
``\\therefore``) into statements, and takes the justification after ``\\because`` out of it;
:func:`split_condition` cuts one statement into the formula and its condition, and drops the
``\\text{…}`` remarks that are not applied to anything.
"""

from __future__ import annotations

from typing import NamedTuple

from derive.parse import scanner
from derive.parse import vocabulary as v

IF_WORDS = {"if", "for", "when", "where", "for all", "if:", "provided"}
#: Arrows that join two statements of one row: what comes before is stated (or assumed), what follows is derived.
IMPLIES = {
    *(r"\Rightarrow", r"\implies", r"\Longrightarrow", r"\therefore"),
    *(r"\iff", r"\Leftrightarrow", r"\Longleftrightarrow"),
}
#: Words that introduce a justification: ``A = B \\quad \\because C = D``.
REASONS = {r"\because", r"\since"}
TEXT_COMMANDS = (r"\text", r"\textrm", r"\mbox", r"\mathrm")


class Split(NamedTuple):
    """A row cut into its formula and its side condition (None without one)."""

    formula: list
    condition: list | None


def is_text(node) -> bool:
    """Whether ``node`` is a command that sets text (``\\text``, ``\\mathrm``, …)."""
    return v.is_tok(node, "cmd", *TEXT_COMMANDS)


def is_separator(node) -> bool:
    """Whether ``node`` is a separator such as ``\\quad`` or ``~``."""
    return v.is_tok(node, "cmd", *scanner.SEPARATORS) or v.is_tok(node, "op", "~")


class Statements(NamedTuple):
    """The statements of one row: those before its implications, the last one (the main), the justifications."""

    premises: list[list]  # A = B in ``A = B \\Rightarrow C = D``, in the order written
    main: list  # C = D: the statement a chain goes on from (empty: the row holds no math)
    reasons: list[list]  # C = D in ``A = B \\quad \\because C = D`` (each of ``\\because C = D, E = F``)
    justification: bool  # the row itself is a justification: it starts with \\because


def split_statements(nodes: list) -> Statements:
    """The row ``nodes`` cut at its implications, and its justification after ``\\because`` taken out.

    ``\\text{Let } u = -z_i \\Rightarrow A = B`` gives the premise ``u = -z_i`` and the main ``A = B``; a
    piece that is only prose (``\\text{Base on (3), (4)} =>``) or empty (a leading or trailing arrow) is no
    statement.  ``A = B \\quad \\because C = D`` and ``A = B \\left(\\because C = D\\right)`` give the main
    ``A = B`` and the justification ``C = D``; a row that starts with ``\\because`` is a justification itself.
    """
    justification = bool(nodes) and v.is_tok(nodes[0], "cmd", *REASONS)
    if justification:
        nodes = nodes[1:]
    reasons: list[list] = []
    cut = next((k for k, node in enumerate(nodes) if v.is_tok(node, "cmd", *REASONS)), None)
    if cut is not None:
        nodes, reasons = nodes[:cut], split_reasons(nodes[cut + 1 :])
    elif nodes and _reason_group(nodes[-1]):
        nodes, reasons = nodes[:-1], split_reasons(scanner.strip_spaces(nodes[-1].children)[1:])
    pieces = [p for p in v.split_top(nodes, lambda n: v.is_tok(n, "cmd", *IMPLIES)) if _has_math(p)]
    if not pieces and reasons and not justification:  # \\quad \\because C = D alone on its row
        return Statements([], reasons[0], reasons[1:], True)
    main = pieces.pop() if pieces else []
    return Statements(pieces, main, reasons, justification)


def split_reasons(nodes: list) -> list[list]:
    """A justification: one statement, or several separated by commas (``\\because a = b, c = d``).

    It is several when every part holds a relation and the last is more than a side condition such
    as ``i \\neq j`` (which stays the condition of the one statement).
    """
    parts = [p for p in v.split_top(nodes, lambda n: v.is_tok(n, "op", ",")) if scanner.strip_spaces(p)]
    statements = len(parts) > 1 and all(v.relation_ops(scanner.strip_spaces(p)) for p in parts)
    if statements and not looks_like_condition(parts[-1]):
        return parts
    return [nodes] if _has_math(nodes) else []


def _reason_group(node) -> bool:
    """``\\left(\\because \\sum_j y_j = 1\\right)``: a justification in parentheses at the end of a row."""
    if not v.is_group(node, "(", "["):
        return False
    inner = scanner.strip_spaces(node.children)
    return bool(inner) and v.is_tok(inner[0], "cmd", *REASONS)


def _has_math(nodes: list) -> bool:
    """Whether ``nodes`` hold more than separators, remarks and punctuation."""
    kept = [n for n in scanner.strip_spaces(nodes) if not is_separator(n) and not v.is_tok(n, "op", ",", ".", ";")]
    return bool(kept) and not is_prose(kept)


def split_condition(nodes: list) -> Split:
    """The formula and the condition of a row such as ``… \\quad (i = j)`` or ``… , i \\neq j``."""
    # \text{if} / \text{for}: everything after it is the condition
    for k, node in enumerate(nodes):
        if is_text(node) and k + 1 < len(nodes) and isinstance(nodes[k + 1], scanner.Group):
            said = scanner.text_of(nodes[k + 1].children).strip().lower().rstrip(":")
            if said in IF_WORDS:
                return Split(nodes[:k], nodes[k + 2 :])
    nodes = drop_remarks(nodes)
    # separators: \quad (i = j), or a trailing ", i \neq j"
    segments = [s for s in v.split_top(nodes, is_separator) if scanner.strip_spaces(s)]
    if len(segments) > 1 and looks_like_condition(segments[-1]):
        return Split([n for s in segments[:-1] for n in s], unwrap(segments[-1]))
    if len(segments) > 1:
        return Split([n for s in segments for n in s], None)
    body = segments[0] if segments else []
    commas = v.split_top(body, lambda n: v.is_tok(n, "op", ","))
    commas = [c for c in commas if scanner.strip_spaces(c)]
    if len(commas) == 2:
        if looks_like_condition(commas[1]) and v.relation_ops(scanner.strip_spaces(commas[0])):
            return Split(commas[0], unwrap(commas[1]))
        if looks_like_condition(commas[0]) and v.relation_ops(scanner.strip_spaces(commas[1])):
            return Split(commas[1], unwrap(commas[0]))
    return Split(body, None)


def drop_remarks(nodes: list) -> list:
    """``nodes`` without the ``\\text{…}`` remarks that are not applied to arguments.

    A ``\\text{word}`` (one ASCII word, no space) between operators or relations is a name, not a
    remark: ``\\text{loss} = …``, ``a + \\text{bias}``.
    """
    kept = []
    k = 0
    while k < len(nodes):
        node = nodes[k]
        if is_text(node) and k + 1 < len(nodes) and isinstance(nodes[k + 1], scanner.Group):
            after = nodes[k + 2] if k + 2 < len(nodes) else None
            called = v.is_group(after, "(")
            words = scanner.text_of(nodes[k + 1].children).strip()
            remark = " " in words or len(words) > 1 and node.text != r"\mathrm"
            if not called and remark and not _text_name(nodes, k):
                k += 2
                continue
        kept.append(node)
        k += 1
    return kept


def _text_name(nodes: list, k: int) -> bool:
    """Whether ``\\text{word}`` at ``k`` stands where a name stands: one word between operators."""
    children = nodes[k + 1].children
    word = scanner.text_of(children)
    if not (word.isascii() and word.isalpha()) or any(v.is_tok(c, "space") for c in children):
        return False
    before = nodes[k - 1] if k > 0 else None
    after = nodes[k + 2] if k + 2 < len(nodes) else None
    if before is None and after is None:
        return False
    return _operator_or_edge(before) and (_operator_or_edge(after) or v.is_tok(after, "op", "_", "^"))


def _operator_or_edge(node) -> bool:
    if node is None:
        return True
    if v.is_tok(node, "op"):
        return node.text not in ("'", "|")
    return v.is_tok(node, "cmd", *v.RELATIONS, *v.PRODUCTS, *v.DEFINES)


def is_prose(nodes: list) -> bool:
    """Whether a row is prose: nothing but ``\\text{…}``, non-ASCII words and punctuation."""
    k = 0
    while k < len(nodes):
        node = nodes[k]
        if is_text(node) and node.text != r"\mathrm" or v.is_tok(node, "cmd", r"\textit", r"\textbf"):
            if k + 1 >= len(nodes) or not v.is_group(nodes[k + 1], "{"):
                return False
            k += 2
        elif v.is_tok(node, "prose") or v.is_tok(node, "op", *",.;:!?") or _layout(node):
            k += 1
        else:
            return False
    return True


def _layout(node) -> bool:
    """A separator or a row break left at the end of a row."""
    return is_separator(node) or v.is_tok(node, "cmd", "\\\\", r"\newline")


def drop_prose(nodes: list, warnings: list[str]) -> list:
    """``nodes`` without non-ASCII words (CJK text and the like), each noted in ``warnings``.

    Text inside ``\\text{…}`` is left alone: it is a remark or a name as a whole.
    """
    kept = []
    for k, node in enumerate(nodes):
        if v.is_tok(node, "prose"):
            warnings.append(f"dropped the prose {node.text!r} at {node.pos}")
            continue
        if isinstance(node, scanner.Group) and not (k and is_text(nodes[k - 1])):
            node = scanner.Group(node.open, drop_prose(node.children, warnings), node.pos, node.end)
        kept.append(node)
    return kept


def unwrap(nodes: list) -> list:
    """A condition without its punctuation and its parentheses."""
    nodes = [n for n in scanner.strip_spaces(nodes) if not v.is_tok(n, "op", ",", ".", ";")]
    if len(nodes) == 1 and v.is_group(nodes[0], "("):
        return scanner.strip_spaces(nodes[0].children)
    return nodes


def looks_like_condition(nodes: list) -> bool:
    """A short relation without derivatives: ``(i = j)``, ``i \\neq j``."""
    inner = unwrap(nodes)
    if not v.relation_ops(inner):
        return False
    flat = scanner.text_of(inner)
    return len(flat) <= 40 and r"\frac" not in flat and r"\partial" not in flat
