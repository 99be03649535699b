"""How a ``derive`` run ends: a closed pipe, SIGINT/SIGTERM, and the child processes it started.

- **A closed pipe** (``derive latex --all -d out/ | head -n 2``): once the reader has gone, what the
  command prints is thrown away and the command carries on, so every file it was asked to write is
  written and its exit code is the one it would have had; never ``BrokenPipeError``, never a message.
- **SIGTERM** ends the run like SIGINT (Ctrl-C): as an exception in the main thread, so that
  ``subprocess.run`` kills the pdflatex it waits for, a file being written is never renamed into
  place (:mod:`derive.files`), and the ``on_exit`` hooks stop the other children (the worker of
  ``derive verify``).  The exit code is 128 + the signal's number.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any, TextIO

#: The signals that end a run; each becomes :class:`Terminated` in the main thread.
TERMINATING = (signal.SIGTERM,) + ((signal.SIGHUP,) if hasattr(signal, "SIGHUP") else ())


class Terminated(SystemExit):
    """The run was ended by a signal; its code is 128 + the signal's number, as a shell reports it."""


class ClosedPipeTolerant:
    """A text stream that turns into a sink once its reader has gone.

    The first ``BrokenPipeError`` points the stream's file descriptor at ``os.devnull`` (so that the
    interpreter's last flush succeeds too) and every later write is dropped.  Everything else is the
    wrapped stream's.
    """

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self.closed_pipe = False

    def write(self, text: Any) -> int:
        if self.closed_pipe:
            return len(text)
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            self._sink()
            return len(text)

    def flush(self) -> None:
        if self.closed_pipe:
            return
        try:
            self._stream.flush()
        except BrokenPipeError:
            self._sink()

    def _sink(self) -> None:
        self.closed_pipe = True
        with contextlib.suppress(OSError, ValueError, AttributeError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream.fileno())
            os.close(devnull)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


@contextlib.contextmanager
def tolerate_closed_pipes() -> Iterator[None]:
    """Standard output and standard error as :class:`ClosedPipeTolerant` streams, for the duration."""
    saved = sys.stdout, sys.stderr
    if sys.stdout is not None:
        sys.stdout = ClosedPipeTolerant(sys.stdout)  # type: ignore[assignment]
    if sys.stderr is not None:
        sys.stderr = ClosedPipeTolerant(sys.stderr)  # type: ignore[assignment]
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved


def _terminate(signum: int, frame: object) -> None:
    raise Terminated(128 + signum)


@contextlib.contextmanager
def terminating_signals_end_the_run() -> Iterator[None]:
    """SIGTERM (and SIGHUP) raise :class:`Terminated` in the main thread, for the duration.

    Off the main thread (a test runner's thread) signals cannot be caught, and nothing changes.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {number: signal.signal(number, _terminate) for number in TERMINATING}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


@contextlib.contextmanager
def run(on_exit: tuple[Callable[[], None], ...] = ()) -> Iterator[None]:
    """A whole ``derive`` run: closed pipes tolerated, SIGTERM an exception, ``on_exit`` called however it ends.

    ``on_exit`` runs with SIGINT and SIGTERM ignored, so that a second Ctrl-C cannot interrupt the cleanup.
    """
    with tolerate_closed_pipes(), terminating_signals_end_the_run():
        try:
            yield
        finally:
            with _signals_ignored():
                for hook in on_exit:
                    hook()


@contextlib.contextmanager
def _signals_ignored() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    numbers = (signal.SIGINT, *TERMINATING)
    previous = {number: signal.signal(number, signal.SIG_IGN) for number in numbers}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
