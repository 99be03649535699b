"""Run an exported module file in a child process where only its own framework can be imported.

``derive export --check`` checks the file it wrote, not the source in derive's memory, and in a
process where derive, SymPy, SciPy and the other backends' frameworks raise ImportError: a module
that needed any of them (a stray ``import numpy`` in a torch module, say) fails its check instead of
passing on the machine it was written on.  NumPy stays importable: the arrays travel as NumPy arrays
(JAX requires NumPy itself, and torch converts with it).

The child is ``python -c CHILD``, which imports nothing of derive; calls and answers are pickles over
its stdin/stdout (the protocol of :mod:`derive.verification.worker`, written out again here because
the child must not import derive).
"""

from __future__ import annotations

import os
import pickle
import struct
import subprocess
import sys
from collections.abc import Callable
from typing import Any

from derive import errors

#: What the child refuses to import, by backend: everything a standalone module of that backend must not need.
BLOCKED = {
    "numpy": ("derive", "sympy", "scipy", "jax", "jaxlib", "torch", "mpmath"),
    "jax": ("derive", "sympy", "scipy", "torch", "mpmath"),
    "torch": ("derive", "sympy", "scipy", "jax", "jaxlib", "mpmath"),
}

CHILD = r"""
import importlib.abc, importlib.util, pickle, struct, sys, traceback

path, backend, blocked = sys.argv[1], sys.argv[2], set(sys.argv[3].split(","))


class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, target=None, path=None):
        if name.partition(".")[0] in blocked:
            raise ImportError(f"{name} cannot be imported here: a standalone {backend} module must not need it")
        return None


sys.meta_path.insert(0, Refuse())
for name in list(sys.modules):
    if name.partition(".")[0] in blocked:
        del sys.modules[name]


def send(obj):
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    sys.stdout.buffer.write(struct.pack("<Q", len(data)) + data)
    sys.stdout.buffer.flush()


def receive():
    header = sys.stdin.buffer.read(8)
    if len(header) < 8:
        return None
    (size,) = struct.unpack("<Q", header)
    return pickle.loads(sys.stdin.buffer.read(size))


try:
    spec = importlib.util.spec_from_file_location("exported", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
except BaseException:
    send(("error", traceback.format_exc(limit=-3)))
    sys.exit(0)
import numpy
send(("ok", "loaded"))
while True:
    message = receive()
    if message is None:
        break
    name, args, kwargs = message
    try:
        send(("ok", numpy.asarray(getattr(module, name)(*args, **kwargs))))
    except Exception as exc:
        send(("raised", f"{type(exc).__name__}: {exc}"))
"""


class ModuleProcess:
    """The exported module at ``path`` loaded in a child process; :meth:`function` calls into it.

    Raises errors.GradientCheckError when the module cannot be loaded there (the message says which
    import failed).  Use as a context manager, or call :meth:`close`.
    """

    def __init__(self, path: str | os.PathLike, backend: str) -> None:
        env = dict(os.environ)
        if backend == "jax":
            env["JAX_ENABLE_X64"] = "1"  # the check is in float64
        self.process = subprocess.Popen(
            [sys.executable, "-c", CHILD, os.fspath(path), backend, ",".join(BLOCKED[backend])],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )
        status, value = self._receive()
        if status != "ok":
            self.close()
            raise errors.GradientCheckError(
                f"the {backend} module {os.fspath(path)} does not load on its own: {value.strip().splitlines()[-1]}"
            )

    def _receive(self) -> tuple[str, Any]:
        header = self.process.stdout.read(8)
        if len(header) < 8:
            raise errors.GradientCheckError("the process that runs the exported module stopped")
        (size,) = struct.unpack("<Q", header)
        return pickle.loads(self.process.stdout.read(size))  # our own child's answers

    def function(self, name: str) -> Callable:
        """``name`` of the module (loss, grad): called in the child, its result a NumPy array."""

        def call(*args: Any, **kwargs: Any) -> Any:
            data = pickle.dumps((name, args, kwargs), protocol=pickle.HIGHEST_PROTOCOL)
            self.process.stdin.write(struct.pack("<Q", len(data)) + data)
            self.process.stdin.flush()
            status, value = self._receive()
            if status != "ok":
                raise errors.GradientCheckError(f"{name} raised in the exported module: {value}")
            return value

        return call

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.stdin.close()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> ModuleProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
