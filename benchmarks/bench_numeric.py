"""Exported loss+grad against hand-written NumPy, memory copy, naive lambdify (and PyTorch, JAX if installed).

PyTorch: fused binary_cross_entropy_with_logits / cross_entropy with autograd, and derive's torch module
(its loss's backward through autograd); JAX: jax.jit(jax.value_and_grad(...)) of the same loss, and derive's
JAX module (loss_and_grad, one jitted function); all single-threaded.

    OMP_NUM_THREADS=1 python benchmarks/bench_numeric.py

Prints, for each workload, the fastest of 9 loss-and-gradient calls and the
ratio to the hand-written reference (benchmarks/reference.py), plus peak
memory (tracemalloc, which sees NumPy's allocations) of one call.  Targets:
time ratio ≤ 1.2, memory ratio ≤ 1.5.
"""

from __future__ import annotations

import os
import sys
import time
import tracemalloc
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")

import numpy as np  # noqa: E402
import sympy as sp  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
import reference  # noqa: E402

from derive import catalog
from derive.derivations import pairs
from derive.engine.notation import a, y, z  # noqa: E402
from derive.export import codegen

REPEATS = 9


def interleaved_seconds(rows: dict, args) -> dict:
    """The fastest of REPEATS calls of each implementation, the calls taken in turns so drift hits all alike."""
    best = {name: float("inf") for name in rows}
    for fn in rows.values():  # warm up (jit compiles, caches fill)
        fn(*args)
    for _ in range(REPEATS):
        for name, fn in rows.items():
            start = time.perf_counter()
            fn(*args)
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def peak_bytes(fn, *args) -> int:
    tracemalloc.start()
    fn(*args)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def naive_bce():
    """sympy.lambdify of the naive derived loss and δ (a = σ(z) written out)."""
    d = pairs.derive("bce", "sigmoid")
    act = catalog.activation("sigmoid")
    cost = sp.lambdify((z, y), catalog.loss("bce").elementary(act.elementary(z), y), "numpy")
    delta = sp.lambdify((z, y), d.delta.subs(a, act.elementary(z)), "numpy")
    return lambda zz, yy: (cost(zz, yy).mean(), delta(zz, yy) / zz.size)


def optional_frameworks(kind, loss, act):
    out = {}
    try:
        import torch

        torch.set_num_threads(1)

        def torch_fn(zz, yy):
            t = torch.from_numpy(zz).requires_grad_(True)
            target = torch.from_numpy(yy)
            if kind == "bce":
                value = torch.nn.functional.binary_cross_entropy_with_logits(t, target)
            else:
                value = torch.nn.functional.cross_entropy(t, target)
            value.backward()
            return value.item(), t.grad

        out["pytorch (1 thread)"] = torch_fn
        # derive's torch module (--backend torch: scalar and softmax pairs)
        torch_namespace: dict = {}
        exec(codegen.module_source(pairs.derive(loss, act), "torch"), torch_namespace)  # noqa: S102

        def derive_torch(zz, yy, f=torch_namespace["loss"]):
            t = torch.from_numpy(zz).requires_grad_(True)
            value = f(t, torch.from_numpy(yy))
            value.backward()
            return value.item(), t.grad

        out["derive export, torch (autograd)"] = derive_torch
    except ImportError:
        pass
    try:
        import jax
        import jax.numpy as jnp

        jax.config.update("jax_enable_x64", True)
        if kind == "bce":

            def same_loss(zz, yy):
                return jnp.mean(jax.nn.softplus(zz) - yy * zz)
        else:

            def same_loss(zz, yy):
                return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(zz), yy[:, None], axis=1))

        value_and_grad = jax.jit(jax.value_and_grad(same_loss))

        def jax_fn(zz, yy):
            value, gradient = value_and_grad(zz, yy)
            return value.block_until_ready(), gradient.block_until_ready()

        out["jax.grad, jit (1 thread)"] = jax_fn
        namespace: dict = {}
        exec(codegen.module_source(pairs.derive(loss, act), "jax"), namespace)  # noqa: S102

        def derive_jax(zz, yy, f=namespace["loss_and_grad"]):
            value, gradient = f(zz, yy)
            return value.block_until_ready(), gradient.block_until_ready()

        out["derive export, jax backend"] = derive_jax
    except ImportError:
        pass
    return out


def workloads(rng):
    n = 10**6
    zb = rng.normal(scale=5, size=n)
    yb = (rng.random(n) < 0.5).astype(np.float64)
    yield "bce ∘ sigmoid, N = 1e6", "bce", "sigmoid", (zb, yb), reference.bce_sigmoid, naive_bce()
    for n, k in ((10**5, 10), (10**4, 1000)):
        zs = rng.normal(scale=3, size=(n, k))
        labels = rng.integers(0, k, size=n)
        yield (
            f"cross_entropy ∘ softmax, N = {n:.0e} x K = {k}",
            "cross_entropy",
            "softmax",
            (zs, labels),
            reference.cross_entropy_softmax,
            None,
        )


def main() -> None:
    rng = np.random.default_rng(0)
    print(f"numpy {np.__version__}, python {sys.version.split()[0]}, OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']}")
    for title, loss, act, args, ref, naive in workloads(rng):
        namespace: dict = {}
        exec(codegen.module_source(pairs.derive(loss, act)), namespace)  # noqa: S102
        exported = namespace["loss_and_grad"]
        print(f"\n{title}")
        print(f"  {'implementation':<28} {'seconds':>9} {'ratio to reference':>20} {'peak MiB':>9} {'mem ratio':>9}")
        rows = {
            "derive export": exported,
            "hand-written reference": ref,
            "memory copy (bound)": lambda zz, yy: (zz.copy(), np.copy(yy)),
        }
        if naive is not None:
            rows["naive sympy.lambdify"] = naive
        if "softmax" in title:
            rows["textbook loop (less accurate)"] = reference.cross_entropy_softmax_plain
        rows.update(optional_frameworks("bce" if "bce" in title else "ce", loss, act))
        with np.errstate(all="ignore"):
            times = interleaved_seconds(rows, args)
            memory = {name: peak_bytes(fn, *args) for name, fn in rows.items()}
        ref_s, ref_mem = times["hand-written reference"], memory["hand-written reference"]
        for name in rows:
            outside = name.startswith(("pytorch", "jax")) or "jax" in name or "torch" in name  # not seen by tracemalloc
            mem = "n/a" if outside else f"{memory[name] / 2**20:.1f}"
            ratio = "n/a" if outside else f"{memory[name] / ref_mem:.2f}"
            print(f"  {name:<28} {times[name]:>9.4f} {times[name] / ref_s:>20.2f} {mem:>9} {ratio:>9}")


if __name__ == "__main__":
    main()
