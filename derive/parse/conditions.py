"""Side conditions and remarks next to a formula: ``… \\quad (i = j)``, ``… , i \\neq j``, ``\\text{if } i=j``.

:func:`split_condition` cuts the nodes of one row into the formula and its condition, and drops the
``\\text{…}`` remarks that are not applied to anything.
"""

from __future__ import annotations

from typing import NamedTuple

from derive.parse import scanner
from derive.parse import vocabulary as v

IF_WORDS = {"if", "for", "when", "where", "for all", "if:", "provided"}
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
