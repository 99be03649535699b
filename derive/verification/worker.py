"""Run a function in a separate process under a wall-clock limit.

SIGALRM only works on the main thread, and ``sympy.simplify`` cannot be
interrupted from outside, so checks of user input run in a child process that
is killed when its time is up.  :func:`run` works from any thread.  The child
is ``python -m derive.verification.worker`` talking pickles over its stdin/stdout (so a
user's script is never re-imported, unlike multiprocessing's spawn); children are
kept between calls, since starting one costs an import of SymPy (:func:`start` begins
that early), and one is replaced after a timeout.  Threads that call :func:`run` at
once get a child each: ``verify_many(..., jobs=N)`` checks N documents in parallel.
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
        self.ready = False  # True once it has answered: its import of SymPy and derive is done
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
_idle: list[_Child] = []  # started children waiting for a job (one per thread that verifies at once)
_all: list[_Child] = []


def _acquire() -> _Child:
    """An idle live child, or a new one: each thread that runs a job at the same time gets its own."""
    with _lock:
        while _idle:
            child = _idle.pop()
            if child.process.poll() is None:
                return child
        child = _Child()
        _all.append(child)
        return child


def _release(child: _Child) -> None:
    with _lock:
        if child.process.poll() is None:
            _idle.append(child)


def _drop(child: _Child) -> None:
    child.kill()
    with _lock:
        if child in _all:
            _all.remove(child)


#: How long a new worker may take to start (import SymPy and derive): no step's budget pays for it.
START_TIMEOUT = 120.0


def run(function: Callable, args: tuple, timeout: float) -> Any:
    """``function(*args)`` in a worker process; errors.Timeout after ``timeout`` seconds.

    ``function`` must be importable at module level (it is pickled by name).  Calls from several
    threads run at once, each in a process of its own; a process is kept for the next call.  A new
    process is first waited for (up to START_TIMEOUT), so that ``timeout`` is the function's alone.
    """
    child = _acquire()
    if not child.ready:
        _call(child, _ping, (), START_TIMEOUT, release=False)
        child.ready = True
    return _call(child, function, args, timeout)


def _call(child: _Child, function: Callable, args: tuple, timeout: float, release: bool = True) -> Any:
    """One call in ``child``; it goes back to the idle ones after (``release``) unless it failed to answer."""
    try:
        _send(child.process.stdin, (function, args))
        status, value = child.answers.get(timeout=timeout)
    except queue.Empty:
        _drop(child)
        raise errors.Timeout(f"no answer within {timeout:g} s") from None
    except (BrokenPipeError, OSError):
        _drop(child)
        raise errors.WorkerError("the worker process stopped") from None
    if status == "died" or (status != "ok" and not release):
        _drop(child)
    elif release:
        _release(child)
    if status != "ok":
        raise errors.WorkerError(value)
    return value


def stop() -> None:
    """Kill every worker process (when a run ends early: a worker would finish its step first).

    It takes no lock: it runs while a signal ends the run, perhaps inside :func:`run`.
    """
    for child in list(_all):
        if child.process.poll() is None:
            child.kill()


def start(count: int = 1) -> None:
    """Start up to ``count`` idle workers now, without waiting: their import of SymPy overlaps the caller's work."""
    with _lock:
        live = [c for c in _idle if c.process.poll() is None]
        for _ in range(count - len(live)):
            child = _Child()
            _all.append(child)
            _idle.append(child)


def default_count() -> int:
    """How many workers a run of ``derive verify`` uses unless told: two where two cores are free to this
    process (one file's steps checked two at a time), one on a single core."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return min(2, cores)


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
        except Exception:  # a job that cannot be unpickled here (its function not importable): its error
            _send(sink, ("error", traceback.format_exc()))
            continue
        try:
            answer = ("ok", function(*args))
        except Exception:  # every failure of a job goes back to the parent
            answer = ("error", traceback.format_exc())
        _send(sink, answer)


if __name__ == "__main__":
    serve(sys.stdin.buffer, sys.stdout.buffer)
