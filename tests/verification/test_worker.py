"""derive.verification.worker: processes that run checks under a budget, started once, shared by threads."""

from __future__ import annotations

import concurrent.futures
import os

import pytest

from derive import errors
from derive.verification import worker


@pytest.fixture()
def calls(monkeypatch):
    """Every worker._call as (child, function name, timeout), with the workers of other tests stopped first."""
    worker.stop()
    seen: list[tuple[int, str, float]] = []
    call = worker._call

    def recording(child, function, args, timeout, release=True):
        seen.append((id(child), function.__name__, timeout))
        return call(child, function, args, timeout, release)

    monkeypatch.setattr(worker, "_call", recording)
    yield seen
    worker.stop()


def test_a_new_worker_is_waited_for_outside_the_jobs_budget(calls):
    """The first call of a new process is a ping under START_TIMEOUT, the job's budget is the job's alone."""
    first = worker.run(os.getpid, (), 5.0)
    second = worker.run(os.getpid, (), 5.0)
    assert first == second != os.getpid()  # one process, kept
    assert [(name, timeout) for _, name, timeout in calls] == [
        ("_ping", worker.START_TIMEOUT),
        ("getpid", 5.0),
        ("getpid", 5.0),
    ]


def test_threads_at_once_get_a_process_each_and_each_is_started_once(calls):
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        pids = set(pool.map(lambda _: worker.run(os.getpid, (), 30.0), range(8)))
    pings = [child for child, name, _ in calls if name == "_ping"]
    assert len(pings) == len(set(pings)) == len(pids) <= 2


def test_a_jobs_error_keeps_the_process(calls):
    pid = worker.run(os.getpid, (), 5.0)
    with pytest.raises(errors.WorkerError, match="invalid literal"):
        worker.run(int, ("not a number",), 5.0)
    assert worker.run(os.getpid, (), 5.0) == pid


def test_default_count_is_one_or_two():
    assert worker.default_count() in (1, 2)


def _local() -> int:  # not importable in the worker under pytest's importlib mode
    return 1


def test_a_job_the_worker_cannot_load_is_an_error_not_a_dead_worker(calls):
    pid = worker.run(os.getpid, (), 5.0)
    with pytest.raises(errors.WorkerError):
        worker.run(_local, (), 5.0)
    assert worker.run(os.getpid, (), 5.0) == pid
