"""Softmax derivations: explicit K against the symbolic-K one, side by side in one run.

    python benchmarks/bench_softmax.py [--quadratic]

The symbolic-K derivation never expands, so its time does not depend on K.
The explicit-K derivation writes out every sum and Jacobian entry and proves
each entry against sympy.diff of the expanded cost, so it grows with K; the
target is "seconds, not minutes" up to K = 10.  Caches (derive's and SymPy's)
are cleared before every run.  --quadratic adds quadratic∘softmax (slower: its
Jacobian does not cancel).
"""

from __future__ import annotations

import os
import sys
import time

os.environ["DERIVE_CACHE_DIR"] = "off"  # derivations timed from cold, never read from derive's disk cache

from sympy.core.cache import clear_cache

from derive.derivations import pairs

CLASSES = (2, 3, 5, 10, 20)
QUADRATIC_CLASSES = (2, 3, 5, 10)  # K = 20 takes several minutes: the Jacobian does not cancel


def cold_seconds(loss: str, classes: int | None) -> float:
    pairs.derive.cache_clear()
    clear_cache()
    start = time.perf_counter()
    pairs.derive(loss, "softmax", classes)
    return time.perf_counter() - start


def main() -> None:
    losses = ["cross_entropy"] + (["quadratic"] if "--quadratic" in sys.argv else [])
    for loss in losses:
        symbolic = cold_seconds(loss, None)
        print(f"{loss} ∘ softmax: symbolic K {symbolic:.2f} s")
        print(f"{'K':>4} {'explicit':>10} {'ratio to symbolic':>18}")
        for classes in CLASSES if loss == "cross_entropy" else QUADRATIC_CLASSES:
            seconds = cold_seconds(loss, classes)
            print(f"{classes:>4} {seconds:>9.2f}s {seconds / symbolic:>17.1f}x", flush=True)


if __name__ == "__main__":
    main()
