"""The result of ``derive verify``: a verdict per step, chain by chain, and every display left out, with why.

Lines are the document's (``CELL:LINE`` in a notebook); a step's line is where the right-hand member
of its relation starts.  A document with no step at all has *nothing to check*: its exit code is 2,
like input derive cannot read, so that ``derive verify notes.md && …`` never passes on a file whose
math derive did not find.
"""

from __future__ import annotations

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
    """A display that gave no step, no definition and no assumption, and why."""

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
        count = len(self.skipped)
        skipped = f", {count} display{'s' * (count != 1)} skipped" if count else ""
        lines.append(
            f"{s['equal']} equal, {s['not_equal']} not equal, {s['undecided']} undecided, "
            f"{s['parse_error']} parse errors{skipped}"
        )
        return "\n".join(lines)


def _step_lines(step: StepResult) -> list[str]:
    when = f"  [{', '.join(step.conditions)}]" if step.conditions else ""
    lines = [f"  {MARKS[step.verdict]} {step.lhs} = {step.rhs}{when}{_at(step.line)}"]
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
