"""Write a checked derivation back as LaTeX, each step marked.

Every row that holds a step gets ``\\checkmark`` in green (equal), ``\\times`` in
red (not equal), ``?`` in orange (undecided) or ``!`` (parse error) at its end,
inside the math; after each display, a red margin note gives the counterexample
of each wrong step.  A fragment (no ``\\documentclass``) is wrapped in a small
article; a whole document gets ``xcolor`` and ``amssymb`` added to its preamble.
"""

from __future__ import annotations

import re

from derive.render import latex
from derive.verification import document, verify

COLORS = {
    "equal": "green!50!black",
    "not_equal": "red!80!black",
    "undecided": "orange!90!black",
    "parse_error": "red!80!black",
}
MARKS = {"equal": r"\checkmark", "not_equal": r"\times", "undecided": "?", "parse_error": "!"}
#: The names of variables that are written as math (a letter, then letters and digits); the rest is escaped text.
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]*")
_INDEX = re.compile(r"[A-Za-z0-9]+(?:,[A-Za-z0-9]+)*")
PACKAGES = r"\usepackage{amsmath,amssymb}\usepackage[dvipsnames]{xcolor}"
WRAPPER = (
    "\\documentclass[11pt]{article}\n\\usepackage[T1]{fontenc}\n" + PACKAGES + "\n"
    "\\usepackage[margin=2cm,right=6cm,marginparwidth=4.6cm]{geometry}\n"
    "\\pdftrailerid{}\n\\pdfsuppressptexinfo=-1\n\\begin{document}\n%s\n\\end{document}\n"
)


def _note(step: verify.StepResult) -> str:
    """The margin note of a wrong step: where it fails, and both sides' values.

    Everything in it that comes from the user's text (the message, which may quote the step; the hint;
    the names of the counterexample's variables) is escaped: a note never runs a command of its own.
    """
    parts = [f"line {latex.text(str(step.line))}: "]
    if step.counterexample:
        point = ", ".join(f"${_math_name(k)} = {_value(v)}$" for k, v in step.counterexample["point"].items())
        parts.append(
            f"at {point}: left ${_value(step.counterexample['lhs'])}$, right ${_value(step.counterexample['rhs'])}$."
        )
    elif step.message:
        parts.append(latex.text(step.message))
    if step.hint:
        parts.append(" " + latex.text(step.hint))
    return "".join(parts)


def _math_name(name: str) -> str:
    """A variable's name as math: ``w_{1,2}`` as is, ``delta_j`` as ``\\delta_{j}``; anything else as escaped text."""
    base, _, index = name.partition("_")
    index = index.removeprefix("{").removesuffix("}")
    if not _NAME.fullmatch(base) or (index and not _INDEX.fullmatch(index)):
        return rf"\text{{{latex.text(name)}}}"
    base = "\\" + base if base in ("delta", "sigma", "theta", "epsilon", "lambda", "alpha", "beta") else base
    return f"{base}_{{{index}}}" if index else base


def _value(number: float | int) -> str:
    return str(number) if isinstance(number, int) else f"{number:.6g}".replace("e", r"\mathrm{e}")


def annotate(text: str, report: verify.Report) -> str:
    """The document ``text`` with the verdicts of ``report`` marked on its rows."""
    shift = 0
    found = document.displays(text)
    if found and found[0].kind == "text":  # bare math: make it a display
        text, shift = "\\begin{align*}\n" + text.strip() + "\n\\end{align*}", 1
    by_line: dict[int, list[verify.StepResult]] = {}
    for step in report.steps:
        by_line.setdefault(step.line + shift, []).append(step)
    inserts: list[tuple[int, str]] = []
    notes_after: dict[int, list[str]] = {}
    rows = document.rows(text)
    closes = {display.block: display.close for display in document.displays(text)}
    for row in rows:  # a step's line is where its right side starts: any line of its row
        steps = [s for n in range(row.line, row.line + row.math.count("\n") + 1) for s in by_line.pop(n, [])]
        if not steps:
            continue
        marks = r"\;".join(rf"\textcolor{{{COLORS[s.verdict]}}}{{{MARKS[s.verdict]}}}" for s in steps)
        inserts.append((_row_end(text, row), rf"\qquad {marks}"))
        for s in steps:
            if s.verdict != "equal":
                notes_after.setdefault(row.block, []).append(rf"\textcolor{{{COLORS[s.verdict]}}}{{{_note(s)}}}")
    for block, notes in notes_after.items():
        inserts.append(
            (closes[block], "\n" + "".join(rf"\leavevmode\marginpar{{\footnotesize {n}}}" for n in notes) + "\n")
        )
    out = text
    for position, insert in sorted(inserts, reverse=True):
        out = out[:position] + insert + out[position:]
    if "\\documentclass" in out:
        return re.sub(
            r"(\\documentclass(?:\[[^\]]*\])?\{[^}]*\})", lambda m: m.group(1) + "\n" + PACKAGES, out, count=1
        )
    return WRAPPER % out


def _row_end(text: str, row: document.SourceRow) -> int:
    """Where to put a row's mark: before its note column, else at the end of its math."""
    segment = text[row.start : row.end]
    note = segment.find("&&")
    end = row.start + note if note >= 0 else row.end
    while end > row.start and text[end - 1].isspace():
        end -= 1
    return end
