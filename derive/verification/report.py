"""The result of ``derive verify``: a verdict per step, chain by chain, and every display left out, with why.

Lines are the document's (``CELL:LINE`` in a notebook); a step's line is where the right-hand member
of its relation starts.  A document with no step at all has *nothing to check*: its exit code is 2,
like input derive cannot read, so that ``derive verify notes.md && …`` never passes on a file whose
math derive did not find.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field

VERDICTS = ("equal", "not_equal", "undecided", "parse_error")
MARKS = {"equal": "✓", "not_equal": "✗", "undecided": "?", "parse_error": "!"}
EXIT_NOTHING_TO_CHECK = 2

Line = int | str  # a line number, or "CELL:LINE" in a notebook


@dataclass
class StepResult:
    lhs: str  # LaTeX of the left side
    rhs: str
    verdict: str
    line: Line  # where the right side starts
    message: str = ""
    hint: str | None = None
    counterexample: dict | None = None
    conditions: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "lhs": self.lhs,
            "rhs": self.rhs,
            "verdict": self.verdict,
            "counterexample": self.counterexample,
            "hint": self.hint,
            "message": self.message,
            "line": self.line,
        }


@dataclass
class Chain:
    steps: list[StepResult] = field(default_factory=list)


@dataclass(frozen=True)
class Skipped:
    """A display that gave no step, no definition and no assumption, and why; or (``kind`` "row") a row
    or statement that is no step (an update rule, a justification that cannot be read)."""

    line: Line
    kind: str  # its delimiter: "$$", "\\[", "align", "script", …
    reason: str
    text: str  # its math, on one line, shortened

    def as_dict(self) -> dict:
        return {"line": self.line, "kind": self.kind, "reason": self.reason, "text": self.text}


@dataclass
class Report:
    """The verdict on every step, chain by chain, plus what was taken as given and what was left out."""

    chains: list[Chain] = field(default_factory=list)
    definitions: list[tuple[str, str, Line | None]] = field(default_factory=list)  # (name, value, line)
    assumptions: list[tuple[str, Line | None]] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    format: str = "tex"
    displays: int = 0  # how many displays the reader found

    @property
    def steps(self) -> list[StepResult]:
        return [step for chain in self.chains for step in chain.steps]

    @property
    def summary(self) -> dict[str, int]:
        counts = dict.fromkeys(VERDICTS, 0)
        for step in self.steps:
            counts[step.verdict] += 1
        return counts

    @property
    def nothing_to_check(self) -> bool:
        """No step at all: no display with a relation was found."""
        return not self.steps

    @property
    def exit_code(self) -> int:
        """0 when every step is equal, 2 for a parse error or nothing to check, else 1."""
        summary = self.summary
        if summary["parse_error"] or self.nothing_to_check:
            return 2
        return 1 if summary["not_equal"] or summary["undecided"] else 0

    def as_dict(self) -> dict:
        return {
            "format": self.format,
            "chains": [{"steps": [s.as_dict() for s in chain.steps]} for chain in self.chains],
            "definitions": [{"name": n, "value": v, "line": ln} for n, v, ln in self.definitions],
            "assumptions": [{"assumption": a, "line": ln} for a, ln in self.assumptions],
            "skipped": [s.as_dict() for s in self.skipped],
            "summary": self.summary,
        }

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2, ensure_ascii=False)

    def __repr__(self) -> str:
        """One line: the counts of each verdict (``report.text()`` has the steps)."""
        counts = ", ".join(f"{verdict}={count}" for verdict, count in self.summary.items())
        return f"Report(format={self.format!r}, chains={len(self.chains)}, {counts}, skipped={len(self.skipped)})"

    def _repr_html_(self) -> str:
        """A table for Jupyter: per step its mark (✓ ✗ ? !), the step, its line and why; then the summary.

        Everything from the document is HTML-escaped; a step that parsed is shown as math for the
        notebook's MathJax, one that did not as code.
        """
        rows = []
        for number, chain in enumerate(self.chains, 1):
            rows.append(f'<tr><th colspan="4" style="text-align:left">chain {number}</th></tr>')
            rows += [_html_row(step) for step in chain.steps]
        rows += [
            f"<tr><td>–</td><td><code>{html.escape(s.text)}</code></td><td>{_html_line(s.line)}</td>"
            f"<td>skipped: {html.escape(s.reason)}</td></tr>"
            for s in self.skipped
        ]
        table = f"<table>{''.join(rows)}</table>" if rows else ""
        return f'<div class="derive-report">{table}<p>{html.escape(self.text().splitlines()[-1])}</p></div>'

    def _repr_latex_(self) -> str:
        """Every step as a row of one ``array``, marked ✓ ✗ ? ! in colour; a step that did not parse as text."""
        rows = [_latex_row(step) for step in self.steps]
        rows.append("& & " + _latex_text(self.text().splitlines()[-1]))  # the summary
        return r"$$\begin{array}{rcl}" + r" \\ ".join(rows) + r"\end{array}$$"

    def text(self) -> str:
        """The human report: one line per step, with the counterexample under a ✗, then what was skipped."""
        lines = []
        for name, value, line in self.definitions:
            lines.append(f"  ≔ {name} = {value}{_at(line)}  (definition)")
        for assumption, line in self.assumptions:
            lines.append(f"  ⊢ {assumption}{_at(line)}  (assumption)")
        for number, chain in enumerate(self.chains, 1):
            lines.append(f"chain {number}")
            for step in chain.steps:
                lines += _step_lines(step)
        for skipped in self.skipped:
            lines.append(f"  – {skipped.kind} {skipped.text}{_at(skipped.line)}  skipped: {skipped.reason}")
        if self.nothing_to_check:
            lines.append(_nothing(self.displays, self.format))
        s = self.summary
        displays = sum(1 for item in self.skipped if item.kind != "row")
        rows = len(self.skipped) - displays
        skipped = f", {displays} display{'s' * (displays != 1)} skipped" if displays else ""
        skipped += f", {rows} row{'s' * (rows != 1)} skipped" if rows else ""
        lines.append(
            f"{s['equal']} equal, {s['not_equal']} not equal, {s['undecided']} undecided, "
            f"{s['parse_error']} parse errors{skipped}"
        )
        return "\n".join(lines)


def _relation(step: StepResult) -> str:
    """``lhs = rhs``; just the text when the step was never split into two sides (it did not parse)."""
    return f"{step.lhs} = {step.rhs}" if step.rhs.strip() else step.lhs


def _step_lines(step: StepResult) -> list[str]:
    when = f"  [{', '.join(step.conditions)}]" if step.conditions else ""
    lines = [f"  {MARKS[step.verdict]} {_relation(step)}{when}{_at(step.line)}"]
    if step.verdict != "equal" and step.message:
        lines.append(f"      {step.message}")
    if step.counterexample:
        point = ", ".join(f"{k} = {_number(v)}" for k, v in step.counterexample["point"].items())
        lines.append(f"      counterexample: {point}")
        lines.append(
            f"      left = {_number(step.counterexample['lhs'])}, right = {_number(step.counterexample['rhs'])}"
        )
    if step.hint:
        lines.append(f"      hint: {step.hint}")
    return lines


def _nothing(displays: int, format: str) -> str:
    if not displays:
        return f"nothing to check: no math display found (read as {format}; --format reads it otherwise)"
    return f"nothing to check: no step in the {displays} display{'s' * (displays != 1)} found (read as {format})"


def _at(line: Line | None) -> str:
    return f"  (line {line})" if line else ""


def _number(value: float | int) -> str:
    return str(value) if isinstance(value, int) else f"{value:.6g}"


# -- rich display (Jupyter) -------------------------------------------------------------------------------

#: The colour of each verdict's mark in HTML and LaTeX.
COLOURS = {"equal": "green", "not_equal": "red", "undecided": "orange", "parse_error": "red"}
_LATEX_MARKS = {"equal": r"\checkmark", "not_equal": r"\times", "undecided": "?", "parse_error": "!"}
#: Characters that cannot stand in \text{…}: each is written in math mode instead.
_LATEX_SPECIALS = {
    "\\": r"\backslash ",
    "{": r"\{",
    "}": r"\}",
    "$": r"\$",
    "&": r"\&",
    "#": r"\#",
    "%": r"\%",
    "^": r"\hat{}",
    "_": r"\_",
    "~": r"\sim ",
}


def _why(step: StepResult) -> str:
    """The message of a step that is not equal, its counterexample and its hint, as plain text."""
    parts = [step.message] if step.verdict != "equal" and step.message else []
    if step.counterexample:
        point = ", ".join(f"{k} = {_number(v)}" for k, v in step.counterexample["point"].items())
        left, right = _number(step.counterexample["lhs"]), _number(step.counterexample["rhs"])
        parts.append(f"counterexample: {point}: left = {left}, right = {right}")
    if step.hint:
        parts.append(f"hint: {step.hint}")
    return "; ".join(parts)


def _html_line(line: Line | None) -> str:
    return f"line {html.escape(str(line))}" if line else ""


def _html_row(step: StepResult) -> str:
    mark = f'<span style="color:{COLOURS[step.verdict]}">{MARKS[step.verdict]}</span>'
    if step.verdict == "parse_error":
        shown = f"<code>{html.escape(_relation(step))}</code>"
    else:
        shown = html.escape(f"\\({step.lhs} = {step.rhs}\\)")
    why = html.escape(_why(step))
    return f"<tr><td>{mark}</td><td>{shown}</td><td>{_html_line(step.line)}</td><td>{why}</td></tr>"


def _latex_text(words: str) -> str:
    """Plain text as LaTeX that MathJax and pdflatex both read: runs of \\text{…}, specials in math mode."""
    out, run = [], []
    for char in words:
        if char in _LATEX_SPECIALS:
            if run:
                out.append(r"\text{" + "".join(run) + "}")
                run = []
            out.append(_LATEX_SPECIALS[char])
        else:
            run.append(char)
    if run:
        out.append(r"\text{" + "".join(run) + "}")
    return "".join(out)


def _latex_row(step: StepResult) -> str:
    mark = rf"{{\color{{{COLOURS[step.verdict]}}}{_LATEX_MARKS[step.verdict]}}}"  # a group: \color is a switch
    why = _why(step)
    note = r"\quad " + _latex_text(why) if why else ""
    if step.verdict == "parse_error":
        return rf"{mark} & & {_latex_text(_relation(step))}{note}"
    return rf"{mark}\ {step.lhs} &=& {step.rhs}{note}"
