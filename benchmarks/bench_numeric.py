"""derive's exported loss-and-gradient code against the best hand-written code and the frameworks, side by side.

    OMP_NUM_THREADS=1 PYTHONPATH=. python benchmarks/bench_numeric.py            # every workload
    PYTHONPATH=. python benchmarks/bench_numeric.py --quick                      # the N = 1e6 and 1e5×10 ones
    PYTHONPATH=. python benchmarks/bench_numeric.py --no-memory                  # times only

Workloads (issue 16): bce ∘ σ at N = 1e6 and 1e7, quadratic ∘ σ at 1e6, cross-entropy ∘ softmax at
1e5×10, 1e4×1000 and 1e3×32000, each in float64 and float32, every implementation on one thread.
For each: the fastest call of mean loss + gradient (ROUNDS rounds over the implementations, three
calls of each in a row: see ``fastest``), its ratio to the hand-written NumPy (benchmarks/reference.py),
and its peak memory above what was resident before the call (inputs excluded, output included), with
its ratio to the hand-written one.  The rows:

* derive export, numpy / jax / torch: ``derive export LOSS ACT --backend ...``: loss_and_grad of the
  NumPy and JAX modules (the JAX one checks the inputs), loss(z, y).backward() of the torch one
  (autograd takes derive's closed-form gradient); and jit(value_and_grad(derive loss)), JAX's
  autodiff of code that calls the exported loss inside the user's jit (no input checks there);
* hand-written NumPy: the reference, the best I could write (see reference.py for how);
* bandwidth bound: one read of the inputs and one write of the gradient (an add into a buffer
  kept between calls), the floor for any implementation;
* jax.jit(jax.value_and_grad) of the naive loss (softplus(z) − y·z, ½(σ(z) − y)², −log_softmax);
* PyTorch fused: binary_cross_entropy_with_logits, cross_entropy (for the quadratic, torch's
  own composite 0.5·mse_loss(sigmoid(z), y)), with .backward();
* numba fused kernel (only when numba is installed): a single-pass loop with derive's forms,
  benchmarks/numba_kernels.py: what a numba backend would be.

Peak memory is measured in a child process per workload with glibc's mmap threshold fixed
(MALLOC_MMAP_THRESHOLD_), so that every large buffer is mapped when allocated and unmapped when
freed, and the peak resident set (VmHWM, reset through /proc/self/clear_refs) follows what is live:
the same figure as tracemalloc for NumPy, and it sees torch's and XLA's buffers too.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
import reference  # noqa: E402

from derive.derivations import pairs  # noqa: E402
from derive.export import codegen  # noqa: E402

ROUNDS = 3

#: (title, loss, activation, shape)
WORKLOADS = [
    ("bce ∘ sigmoid, N = 1e6", "bce", "sigmoid", (10**6,)),
    ("bce ∘ sigmoid, N = 1e7", "bce", "sigmoid", (10**7,)),
    ("quadratic ∘ sigmoid, N = 1e6", "quadratic", "sigmoid", (10**6,)),
    ("cross_entropy ∘ softmax, 1e5 × 10", "cross_entropy", "softmax", (10**5, 10)),
    ("cross_entropy ∘ softmax, 1e4 × 1000", "cross_entropy", "softmax", (10**4, 1000)),
    ("cross_entropy ∘ softmax, 1e3 × 32000", "cross_entropy", "softmax", (10**3, 32000)),
]
QUICK = (0, 2, 3)
DTYPES = ("float64", "float32")
HAND = "hand-written NumPy"
REFERENCES = {"bce": reference.bce_sigmoid, "quadratic": reference.quadratic_sigmoid}


def inputs(loss: str, shape: tuple, dtype: str) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    if len(shape) == 2:
        return rng.normal(scale=3, size=shape).astype(dtype), rng.integers(0, shape[1], size=shape[0])
    return rng.normal(scale=5, size=shape).astype(dtype), (rng.random(shape) < 0.5).astype(dtype)


def _module(loss: str, act: str, backend: str) -> dict:
    namespace: dict = {}
    exec(codegen.module_source(pairs.derive(loss, act), backend), namespace)  # noqa: S102
    return namespace


def implementations(loss: str, act: str, z: np.ndarray, y: np.ndarray) -> dict:
    """name → a call computing (mean loss, gradient), its results ready (JAX blocked on)."""
    rows = {"derive export, numpy": _module(loss, act, "numpy")["loss_and_grad"]}
    rows[HAND] = REFERENCES.get(loss, reference.cross_entropy_softmax)
    buffer = np.empty_like(z)
    if z.ndim == 1:
        rows["bandwidth bound"] = lambda zz, yy: np.add(zz, yy, out=buffer)
    else:
        rows["bandwidth bound"] = lambda zz, yy: np.copyto(buffer, zz)
    rows.update(_jax_rows(loss, act, z, y))
    rows.update(_torch_rows(loss, act, z, y))
    try:
        import numba_kernels

        kernel = numba_kernels.KERNELS[loss]
        rows["numba fused kernel"] = kernel
    except ImportError:
        pass
    return rows


def _jax_rows(loss: str, act: str, z: np.ndarray, y: np.ndarray) -> dict:
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return {}
    jax.config.update("jax_enable_x64", True)
    naive = {
        "bce": lambda zz, yy: jnp.mean(jax.nn.softplus(zz) - yy * zz),
        "quadratic": lambda zz, yy: 0.5 * jnp.mean((jax.nn.sigmoid(zz) - yy) ** 2),
        "cross_entropy": lambda zz, yy: -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(zz), yy[:, None], axis=1)),
    }[loss]
    value_and_grad = jax.jit(jax.value_and_grad(naive))
    exported = _module(loss, act, "jax")
    in_training = jax.jit(jax.value_and_grad(exported["loss"]))  # user code: its loss calls derive's
    zj, yj = jnp.asarray(z), jnp.asarray(y)

    def ready(result):
        return jax.block_until_ready(result)

    return {
        "derive export, jax": lambda zz, yy: ready(exported["loss_and_grad"](zj, yj)),
        "jit(value_and_grad(derive loss))": lambda zz, yy: ready(in_training(zj, yj)),
        "jax.jit(value_and_grad) naive": lambda zz, yy: ready(value_and_grad(zj, yj)),
    }


def _torch_rows(loss: str, act: str, z: np.ndarray, y: np.ndarray) -> dict:
    try:
        import torch
    except ImportError:
        return {}
    torch.set_num_threads(1)
    functional = torch.nn.functional
    fused = {
        "bce": functional.binary_cross_entropy_with_logits,
        "quadratic": lambda t, target: 0.5 * functional.mse_loss(torch.sigmoid(t), target),
        "cross_entropy": functional.cross_entropy,
    }[loss]
    exported = _module(loss, act, "torch")["loss"]
    zt, yt = torch.from_numpy(z), torch.from_numpy(y)

    def with_backward(f):
        def call(zz, yy):
            leaf = zt.detach().requires_grad_()
            value = f(leaf, yt)
            value.backward()
            return value.item(), leaf.grad

        return call

    return {"derive export, torch": with_backward(exported), "PyTorch fused": with_backward(fused)}


def fastest(rows: dict, args: tuple, rounds: int, calls: int = 3) -> dict:
    """The fastest call of each row: ``rounds`` rounds over the rows, ``calls`` calls of a row in a row.

    The rounds spread drift over all rows alike; the calls in a row are a training loop's: each call
    gets back the memory the one before freed.  (Interleaving single calls instead gave whichever row
    came after a large free 0.1–0.4 s of page faults at 256 MB on this VM, whose freed memory goes
    back to the host.)
    """
    best = {name: float("inf") for name in rows}
    for fn in rows.values():  # warm up: jit compiles, caches fill
        fn(*args)
    for _ in range(rounds):
        for name, fn in rows.items():
            for _ in range(calls):
                start = time.perf_counter()
                fn(*args)
                best[name] = min(best[name], time.perf_counter() - start)
    return best


def _status(key: str) -> int:
    return int(re.search(rf"{key}:\s+(\d+) kB", Path("/proc/self/status").read_text()).group(1)) * 1024


def peaks(index: int, dtype: str) -> dict:
    """Peak resident bytes above the resident set before one call, per row (run in a child process)."""
    _, loss, act, shape = WORKLOADS[index]
    z, y = inputs(loss, shape, dtype)
    rows = implementations(loss, act, z, y)
    out = {}
    for name, fn in rows.items():
        fn(z, y)
        fn(z, y)
        before = _status("VmRSS")
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current resident set
        result = fn(z, y)
        out[name] = _status("VmHWM") - before
        del result
    return out


def peaks_in_child(index: int, dtype: str) -> dict:
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="65536", PYTHONPATH=os.pathsep.join(sys.path))
    child = subprocess.run(
        [sys.executable, __file__, "--peaks", str(index), dtype], env=env, capture_output=True, text=True, check=False
    )
    if child.returncode != 0:
        print(f"  (peak memory not measured: {child.stderr.strip().splitlines()[-1:]})")
        return {}
    return json.loads(child.stdout.strip().splitlines()[-1])


def main(argv: list[str]) -> None:
    if argv[:1] == ["--peaks"]:
        print(json.dumps(peaks(int(argv[1]), argv[2])))
        return
    chosen = QUICK if "--quick" in argv else range(len(WORKLOADS))
    memory = "--no-memory" not in argv
    print(f"numpy {np.__version__}, python {sys.version.split()[0]}, OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']}")
    print("seconds: fastest of the calls; ratios to the hand-written NumPy; MiB: peak above the resident set")
    for index in chosen:
        title, loss, act, shape = WORKLOADS[index]
        for dtype in DTYPES:
            z, y = inputs(loss, shape, dtype)
            rows = implementations(loss, act, z, y)
            rounds = ROUNDS if z.size <= 10**6 else 2
            with np.errstate(all="ignore"):
                times = fastest(rows, (z, y), rounds)
            mem = peaks_in_child(index, dtype) if memory else {}
            print(f"\n{title}, {dtype}")
            print(f"  {'implementation':<32} {'seconds':>9} {'ratio':>7} {'MiB':>8} {'mem ratio':>9}")
            for name in rows:
                ratio = times[name] / times[HAND]
                used = f"{mem[name] / 2**20:8.1f}" if name in mem else f"{'n/a':>8}"
                used_ratio = f"{mem[name] / mem[HAND]:9.2f}" if name in mem and mem.get(HAND) else f"{'n/a':>9}"
                print(f"  {name:<32} {times[name]:9.4f} {ratio:7.2f} {used} {used_ratio}")
            jax_ratio = _ratio(times, "derive export, jax", "jax.jit(value_and_grad) naive")
            torch_ratio = _ratio(times, "derive export, torch", "PyTorch fused")
            print(f"  derive jax / jax.jit(value_and_grad): {jax_ratio}   derive torch / PyTorch fused: {torch_ratio}")


def _ratio(times: dict, a: str, b: str) -> str:
    return f"{times[a] / times[b]:.2f}" if a in times and b in times else "n/a"


if __name__ == "__main__":
    main(sys.argv[1:])
