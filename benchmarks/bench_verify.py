"""How fast derive verify is: the targets of issue 15, measured side by side in one run.

    PYTHONPATH=. python benchmarks/bench_verify.py                 # targets, and the corpus against a baseline
    PYTHONPATH=. python benchmarks/bench_verify.py --all-fragments # every rendered fragment of outputs/ (minutes)
    PYTHONPATH=. python benchmarks/bench_verify.py --baseline none # no baseline run

Targets (a ratio <= 1 meets its target):

* a 10-step correct hand derivation of bce ∘ σ: <= 2 s as a whole process (``python -m derive verify``),
  <= 0.5 s in a process that has verified once already;
* the rendered cross_entropy ∘ softmax fragment <= 4 s, and every rendered catalog fragment <= 3 s (whole
  process);
* the corpus (tests/data/verify and tests/data/realworld, one process) before and after: the baseline is
  an older commit of this repository, checked out into a temporary git worktree and run on the same files.

Wall-clock times on a shared machine are noisy: each figure is the best of ``--repeat`` runs.  ``derive
verify`` checks a file's steps in two worker processes on a machine with two cores (``--jobs``); the
slowest fragments are timed with ``--jobs 1`` too.  The trees are byte-compiled first, as ``pip install``
does (an editable tree under PYTHONDONTWRITEBYTECODE would compile derive's modules in every process).
"""

from __future__ import annotations

import argparse
import compileall
import functools
import glob
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from derive import catalog

ROOT = Path(__file__).resolve().parents[1]

BCE_TEN_STEPS = r"""% define: a = \sigma(z)
\begin{align*}
C &= -\left(y \ln a + (1-y)\ln(1-a)\right) \\
\frac{\partial C}{\partial a} &= -\frac{y}{a} + \frac{1-y}{1-a} \\
&= \frac{-y(1-a) + (1-y)a}{a(1-a)} \\
&= \frac{a - y}{a(1-a)} \\
\frac{\partial a}{\partial z} &= \sigma(z)(1-\sigma(z)) \\
&= a(1-a) \\
\frac{\partial C}{\partial z} &= \frac{\partial C}{\partial a}\frac{\partial a}{\partial z} \\
&= \frac{a - y}{a(1-a)} a (1-a) \\
&= a - y \\
&= \sigma(z) - y \\
&= \frac{1}{1 + e^{-z}} - y
\end{align*}
"""

#: Run in a child process with PYTHONPATH set to a tree: the corpus in one process, its total time.
CORPUS_SCRIPT = textwrap.dedent(
    """
    import sys, time
    from derive.verification import verify
    start = time.perf_counter()
    steps = 0
    for name in sys.argv[1:]:
        steps += len(verify.verify_file(name).steps)
    print(time.perf_counter() - start, steps)
    """
)

IN_PROCESS_SCRIPT = textwrap.dedent(
    """
    import sys, time
    from derive.verification import verify
    text = open(sys.argv[1], encoding="utf-8").read()
    verify.verify(text)  # the first call starts the worker and fills the caches
    best = float("inf")
    for _ in range(int(sys.argv[2])):
        start = time.perf_counter()
        verify.verify(text)
        best = min(best, time.perf_counter() - start)
    print(best)
    """
)


def _env(tree: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(tree)}


@functools.cache
def _compiled(tree: Path) -> None:
    """Byte-compile ``tree``'s derive once, as pip install does."""
    compileall.compile_dir(tree / "derive", quiet=1)


def whole_process(path: Path, tree: Path = ROOT, repeat: int = 3, options: tuple[str, ...] = ()) -> float:
    """Best wall-clock time of ``python -m derive verify path`` (start-up, imports and workers included)."""
    _compiled(tree)
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "derive", "verify", str(path), *options],
            capture_output=True,
            text=True,
            env=_env(tree),
        )
        best = min(best, time.perf_counter() - start)
        if done.returncode != 0:
            NOT_ALL_EQUAL.append(f"{path.name}: {done.stdout.strip().splitlines()[-1]}")
    return best


#: The files that did not verify with every step equal, with their summary line (printed at the end).
NOT_ALL_EQUAL: list[str] = []


def in_process(path: Path, repeat: int = 3) -> float:
    """Best time of ``verify(text)`` in a process that has verified the same text once already."""
    out = subprocess.run(
        [sys.executable, "-c", IN_PROCESS_SCRIPT, str(path), str(repeat)],
        capture_output=True,
        text=True,
        env=_env(ROOT),
        check=True,
    )
    return float(out.stdout.split()[0])


def corpus_files() -> list[str]:
    found = sorted(glob.glob(str(ROOT / "tests/data/verify/*.tex")))
    for pattern in ("*.tex", "*.md", "*.ipynb"):
        found += sorted(glob.glob(str(ROOT / "tests/data/realworld" / pattern)))
    return found


def corpus(tree: Path, files: list[str]) -> tuple[float, int]:
    """(seconds, steps) of the whole corpus verified in one process of ``tree``."""
    _compiled(tree)
    out = subprocess.run(
        [sys.executable, "-c", CORPUS_SCRIPT, *files], capture_output=True, text=True, env=_env(tree), cwd=ROOT
    )
    if out.returncode != 0:
        raise SystemExit(f"the corpus run of {tree} failed:\n{out.stderr[-3000:]}")
    seconds, steps = out.stdout.split()
    return float(seconds), int(steps)


def row(what: str, seconds: float, target: float | None) -> str:
    if target is None:
        return f"{what:<52} {seconds:8.2f} s"
    return f"{what:<52} {seconds:8.2f} s   target {target:5.1f} s   ratio {seconds / target:5.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", default="a905553", help="commit to compare the corpus with, or 'none'")
    parser.add_argument("--all-fragments", action="store_true", help="every outputs/*.fragment.tex (minutes)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        bce = Path(folder) / "bce_ten_steps.tex"
        bce.write_text(BCE_TEN_STEPS, encoding="utf-8")
        print(row("bce ∘ σ, 10 steps, whole process", whole_process(bce, repeat=args.repeat), 2.0))
        print(row("bce ∘ σ, 10 steps, in process after the first call", in_process(bce, args.repeat), 0.5))
    ce = ROOT / "outputs" / "cross_entropy_softmax.fragment.tex"
    print(row("cross_entropy ∘ softmax fragment, whole process", whole_process(ce, repeat=args.repeat), 4.0))
    pair_names = {f"{loss}_{act}" for loss, act in catalog.pairs(valid=True)}  # not backprop, shift_invariance
    fragments = sorted(f for f in (ROOT / "outputs").glob("*.fragment.tex") if f.name[:-13] in pair_names)
    if not args.all_fragments:  # one fragment per function of the catalog, for a quick run
        keep = ("quadratic_sigmoid", "bce_sigmoid", "huber_elu", "hinge_gelu", "focal_sigmoid", "kl_div_softmax")
        fragments = [f for f in fragments if f.name.removesuffix(".fragment.tex") in keep]
    timed = [(whole_process(f, repeat=1), f.name) for f in fragments]
    # one run each, then the ten slowest again: the best of --repeat runs, as for the other rows
    timed = sorted(timed)
    timed[-10:] = [(min(t, whole_process(ROOT / "outputs" / n, repeat=args.repeat)), n) for t, n in timed[-10:]]
    slowest = max(timed, default=(0.0, "none"))
    print(row(f"slowest of {len(fragments)} catalog fragments ({slowest[1]})", slowest[0], 3.0))
    over = sorted((t, name) for t, name in timed if t > 3.0)
    lines = [f"{t:5.2f} s  {n}" for t, n in over]
    print(f"catalog fragments over 3 s: {len(over)} of {len(timed)}", *lines, sep="\n  ")
    for t, name in sorted(timed)[-3:]:  # the slowest, with one worker process
        serial = whole_process(ROOT / "outputs" / name, repeat=1, options=("--jobs", "1"))
        print(row(f"{name}, --jobs 1 (default: {t:.2f} s)", serial, None))

    if NOT_ALL_EQUAL:
        print("not every step equal in:", *sorted(set(NOT_ALL_EQUAL)), sep="\n  ")
    files = corpus_files()
    after, steps = corpus(ROOT, files)
    print(row(f"corpus: {len(files)} files, {steps} steps, this tree", after, None))
    if args.baseline != "none":
        with tempfile.TemporaryDirectory() as folder:
            tree = Path(folder) / "baseline"
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(tree), args.baseline], check=True
            )
            try:
                before, before_steps = corpus(tree, files)
            finally:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=True)
        print(row(f"corpus: the same files, baseline {args.baseline} ({before_steps} steps)", before, None))
        print(f"{'corpus speed-up (baseline / this tree)':<52} {before / after:8.2f}x")


if __name__ == "__main__":
    main()
