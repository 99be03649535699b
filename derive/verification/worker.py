"""Run a function in a separate process under a wall-clock limit.

SIGALRM only works on the main thread, and ``sympy.simplify`` cannot be
interrupted from outside, so checks of user input run in a child process that
is killed when its time is up.  :func:`run` works from any thread.  The child
is ``python -m derive.verification.worker`` talking pickles over its stdin/stdout (so a
user's script is never re-imported, unlike multiprocessing's spawn); one child
is kept between calls, since starting one costs an import of SymPy, and it is
replaced after a timeout.
"""

from __future__ import annotations

import os
import pickle
import queue
import struct
import subprocess
import sys
import threading
import traceback
from collections.abc import Callable
from typing import Any, BinaryIO

from derive import errors


def _send(stream: BinaryIO, obj: Any) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(struct.pack("<Q", len(data)) + data)
    stream.flush()


def _receive(stream: BinaryIO) -> Any:
    header = stream.read(8)
    if len(header) < 8:
        raise EOFError
    (size,) = struct.unpack("<Q", header)
    data = stream.read(size)
    if len(data) < size:
        raise EOFError
    return pickle.loads(data)  # only ever our own child's or parent's messages


class _Child:
    def __init__(self) -> None:
        env = dict(os.environ)
        package_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env["PYTHONPATH"] = package_root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "derive.verification.worker"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env
        )
        self.answers: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        while True:
            try:
                self.answers.put(_receive(self.process.stdout))
            except (EOFError, OSError, pickle.UnpicklingError):
                self.answers.put(("died", "the worker process stopped"))
                return

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(timeout=5)


_lock = threading.Lock()
_child: _Child | None = None


def run(function: Callable, args: tuple, timeout: float) -> Any:
    """``function(*args)`` in the worker process; errors.Timeout after ``timeout`` seconds.

    ``function`` must be importable at module level (it is pickled by name).
    """
    global _child
    with _lock:
        if _child is None or _child.process.poll() is not None:
            _child = _Child()
        child = _child
        try:
            _send(child.process.stdin, (function, args))
            status, value = child.answers.get(timeout=timeout)
        except queue.Empty:
            child.kill()
            _child = None
            raise errors.Timeout(f"no answer within {timeout:g} s") from None
        except (BrokenPipeError, OSError):
            child.kill()
            _child = None
            raise errors.WorkerError("the worker process stopped") from None
        if status == "died":
            child.kill()
            _child = None
    if status != "ok":
        raise errors.WorkerError(value)
    return value


def stop() -> None:
    """Kill the worker process if one is running (when a run ends early: it would finish its step first).

    It takes no lock: it runs while a signal ends the run, perhaps inside :func:`run`.
    """
    child = _child
    if child is not None and child.process.poll() is None:
        child.kill()


def warm(timeout: float = 120.0) -> None:
    """Start the worker now: its first start imports SymPy and derive."""
    run(_ping, (), timeout)


def _ping() -> str:
    import derive.verification.stepcheck  # noqa: F401  (import the checker in the child)

    return "ok"


def serve(source: BinaryIO, sink: BinaryIO) -> None:
    """The child's loop: read (function, args), answer ("ok", value) or ("error", traceback)."""
    while True:
        try:
            function, args = _receive(source)
        except EOFError:
            return
        try:
            answer = ("ok", function(*args))
        except Exception:  # every failure of a job goes back to the parent
            answer = ("error", traceback.format_exc())
        _send(sink, answer)


if __name__ == "__main__":
    serve(sys.stdin.buffer, sys.stdout.buffer)
