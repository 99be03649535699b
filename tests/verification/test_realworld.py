"""Real derivations written by other people, scored against the true verdict of every step.

``tests/data/realworld/`` holds blog posts, answers, course notes and notebooks kept as their authors
wrote them, and ``expected.json`` the verdict of every step decided by hand (and checked with SymPy),
by the line of its right-hand side.  derive's steps are matched to those lines in order.

* a **wrong verdict** is ``equal`` where the truth is ``not_equal`` or the reverse, or a ``not_equal``
  on a row that is no step at all: the bar is zero, file by file;
* every display derive sees is checked or reported as skipped with a reason: no silent skip;
* a **true verdict** is derive's verdict equal to the truth; ``ambiguous`` steps are not scored.  Issue
  12 asks for 90% (``TARGET``); 437 of 482 (90.7%) were measured when the bar was first met.

Each step gets a budget of ``BUDGET`` seconds, far above what any step of the corpus needs, so that
a busy machine cannot turn a verdict into "time budget spent".  ``python
tests/verification/test_realworld.py`` prints the table per file.
"""

from __future__ import annotations

import functools
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from derive.verification import verify

DATA = Path(__file__).resolve().parents[1] / "data" / "realworld"
EXPECTED: dict[str, dict] = json.loads((DATA / "expected.json").read_text(encoding="utf-8"))
TARGET = 0.90  # share of scored steps with the true verdict: issue 12's goal (90.7% measured on 2026-12-03)
BUDGET = 60.0  # seconds per step: no step of the corpus comes near it


@dataclass(frozen=True)
class Score:
    scored: int  # steps whose truth is equal or not_equal
    true: int
    wrong: list[str]  # descriptions of wrong verdicts
    missed: int  # expected steps derive did not report at that line
    silent_skips: list[str]


def _verify(path: Path) -> verify.Report:
    return verify.verify_file(path, timeout=BUDGET)


@functools.cache
def score(name: str) -> Score:
    expected = EXPECTED[name]
    report = _verify(DATA / name)
    steps = list(report.steps)
    used = [False] * len(steps)
    scored = true = missed = 0
    wrong = []
    start = 0
    for truth, line in zip(expected["steps"], expected["lines"], strict=True):
        found = next((k for k in range(start, len(steps)) if str(steps[k].line) == str(line)), None)
        if found is None:
            missed += truth != "ambiguous"
            scored += truth != "ambiguous"
            continue
        used[found] = True
        start = found + 1
        got = steps[found].verdict
        if truth == "ambiguous":
            continue
        scored += 1
        true += got == truth
        if {got, truth} == {"equal", "not_equal"}:
            wrong.append(f"line {line}: {got} where the truth is {truth} ({steps[found].lhs} = {steps[found].rhs})")
    for k, step in enumerate(steps):
        if not used[k] and step.verdict == "not_equal":
            wrong.append(f"line {step.line}: not_equal on a row that is no step ({step.lhs} = {step.rhs})")
    silent = [f"{s.line}: {s.reason}" for s in report.skipped if not s.reason]
    return Score(scored, true, wrong, missed, silent)


def test_every_file_has_a_source_and_a_verdict_per_line():
    on_disk = {p.name for p in DATA.iterdir() if p.suffix in {".tex", ".md", ".ipynb"} and p.name != "README.md"}
    assert on_disk == set(EXPECTED)
    for name, entry in EXPECTED.items():
        assert len(entry["steps"]) == len(entry["lines"]), name
        assert set(entry["steps"]) <= {"equal", "not_equal", "ambiguous"}, name
        assert "% source:" in (DATA / name).read_text(encoding="utf-8"), name


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_no_wrong_verdict_and_no_silent_skip(name):
    result = score(name)
    assert result.wrong == [], f"{name}: wrong verdicts"
    assert result.silent_skips == [], f"{name}: displays skipped without a reason"


def test_at_least_90_percent_of_the_steps_get_the_true_verdict():
    results = [score(name) for name in sorted(EXPECTED)]
    scored, true = sum(r.scored for r in results), sum(r.true for r in results)
    assert scored >= 480  # the corpus is whole
    assert true / scored >= TARGET, f"{true} of {scored} steps have the true verdict ({true / scored:.1%})"


def main() -> None:
    total_scored = total_true = 0
    print(f"{'file':48} {'scored':>6} {'true':>5} {'missed':>6} {'wrong':>5}")
    for name in sorted(EXPECTED):
        r = score(name)
        total_scored += r.scored
        total_true += r.true
        print(f"{name:48} {r.scored:6} {r.true:5} {r.missed:6} {len(r.wrong):5}")
        for w in r.wrong + r.silent_skips:
            print(f"    {w}")
    print(f"{'total':48} {total_scored:6} {total_true:5}   {total_true / max(total_scored, 1):.1%} true")


if __name__ == "__main__":
    sys.exit(main())
