"""Render every valid catalog pair as a LaTeX fragment and verify it back: verdicts and time per pair.

The test suite round-trips the classic pairs and one pair per function of the wider catalog
(tests/verification/test_verify.py); this script does every pair and prints a table, so the
whole catalog can be checked in one run::

    PYTHONPATH=. python benchmarks/round_trip.py            # every valid pair
    PYTHONPATH=. python benchmarks/round_trip.py huber gelu  # pairs whose loss or activation is named

It exits 1 when any step of any fragment is not "equal".
"""

from __future__ import annotations

import sys
import time

from derive import catalog
from derive.derivations import pairs
from derive.render import latex
from derive.verification import verify


def main(names: list[str]) -> int:
    chosen = [(lo, act) for lo, act in catalog.pairs(valid=True) if not names or {lo, act} & set(names)]
    print(f"{'loss':<14} {'activation':<13} {'steps':>5} {'equal':>5} {'derive s':>9} {'verify s':>9}")
    failures, total = 0, time.perf_counter()
    for loss, act in chosen:
        start = time.perf_counter()
        d = pairs.derive(loss, act)
        derived = time.perf_counter()
        report = verify.verify(latex.latex(d))
        done = time.perf_counter()
        equal = report.summary["equal"]
        failures += equal != len(report.steps) or not report.steps
        print(
            f"{loss:<14} {act:<13} {len(report.steps):>5} {equal:>5} {derived - start:>9.1f} {done - derived:>9.1f}",
            flush=True,
        )
    print(f"{len(chosen)} pairs, {failures} with a step not equal, {time.perf_counter() - total:.0f} s in all")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
