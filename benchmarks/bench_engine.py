"""Engine timings against the targets of the derivation-engine issue.

    python benchmarks/bench_engine.py

Prints, side by side in one run: `import derive` in a fresh interpreter, each
scalar derivation with every cache cleared (derive's and SymPy's), and the
whole `derive table` after import, each with its target and the ratio
measured / target (≤ 1 meets the target).  Medians of several runs: this is a
shared, noisy machine.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

os.environ["DERIVE_CACHE_DIR"] = "off"  # derivations timed from cold, never read from derive's disk cache

from sympy.core.cache import clear_cache

from derive import catalog
from derive.commands import derivations as derivation_commands
from derive.derivations import matching, pairs

REPEATS = 5


def fresh_import_seconds(module: str) -> float:
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    runs = [float(subprocess.check_output([sys.executable, "-c", code], text=True)) for _ in range(REPEATS)]
    return statistics.median(runs)


def cold(func, *args) -> float:
    """Seconds for one call with derive's and SymPy's caches cleared first."""
    pairs.derive.cache_clear()
    matching.matching_loss.cache_clear()
    clear_cache()
    start = time.perf_counter()
    func(*args)
    return time.perf_counter() - start


def table_seconds() -> float:
    return cold(lambda: [derivation_commands.table_row(loss, act) for loss, act in catalog.pairs()])


def row(label: str, seconds: float, target: float) -> None:
    print(f"{label:<34} {seconds:8.3f} s   target {target:5.2f} s   ratio {seconds / target:5.2f}")


def main() -> None:
    print(f"{'what':<34} {'measured':>10}   {'target':>14}   {'ratio':>7}")
    row("import derive (fresh process)", fresh_import_seconds("derive"), 1.0)
    row("import derive.derivations.pairs (+SymPy)", fresh_import_seconds("derive.derivations.pairs"), 1.0)
    cold(pairs.derive, "bce", "sigmoid")  # warm the interpreter, not the caches
    worst = 0.0
    for loss, act in catalog.pairs(valid=True):
        seconds = statistics.median(cold(pairs.derive, loss, act) for _ in range(REPEATS))
        if catalog.ACTIVATIONS[act].vector:
            print(f"{'derive ' + loss + ' ' + act:<34} {seconds:8.3f} s   (symbolic K; no target)")
            continue
        worst = max(worst, seconds)
        row(f"derive {loss} {act}", seconds, 0.2)
    row("worst scalar derivation", worst, 0.2)
    row("derive table (all pairs, cold)", statistics.median(table_seconds() for _ in range(REPEATS)), 2.0)
    for act in ("sigmoid", "tanh", "identity", "exp", "softplus"):
        seconds = statistics.median(cold(matching.matching_loss, act) for _ in range(REPEATS))
        print(f"{'match ' + act:<34} {seconds:8.3f} s   (no target)")


if __name__ == "__main__":
    main()
