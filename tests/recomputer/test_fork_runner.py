"""ForkRunner: results stream back from forked children, one child per round of jobs.

These tests fork real children. Jobs that must stay in flight block on a pipe the test
controls, so nothing here sleeps; the whole file runs in a few hundred milliseconds.
"""

from __future__ import annotations

import functools
import os
import resource
import select
import signal
import subprocess
import sys
import threading
import warnings
from collections.abc import Iterator
from concurrent.futures import CancelledError

import pytest

from meshlens.recomputer import (
    ChildComputeError,
    ChildLostError,
    ForkRunner,
    Outcome,
    Recomputer,
    RunnerStoppedError,
    child,
    fork_runner,
    produce_on,
    render_job,
)
from meshlens.recomputer import fork_runner as fork_runner_module
from meshlens.records import FakeClock

WAIT_S = 10.0


class Gate:
    """Pipes a child blocks on until the parent opens them (fork copies the fds)."""

    def __init__(self) -> None:
        self.read_fd, self.write_fd = os.pipe()
        self.arrived_read_fd, self.arrived_write_fd = os.pipe()

    def wait(self) -> bytes:
        """In the child: say we got here, then block until the parent opens the gate."""
        os.write(self.arrived_write_fd, b"a")
        return os.read(self.read_fd, 1)

    def arrived(self) -> None:
        """In the parent: block (bounded) until a child is waiting at the gate."""
        ready, _, _ = select.select([self.arrived_read_fd], [], [], WAIT_S)
        assert ready, "no child reached the gate"
        os.read(self.arrived_read_fd, 1)

    def open(self) -> None:
        """In the parent: let every waiting child through."""
        os.write(self.write_fd, b"x" * 16)

    def close(self) -> None:
        for fd in (self.read_fd, self.write_fd, self.arrived_read_fd, self.arrived_write_fd):
            os.close(fd)


@pytest.fixture
def runner() -> Iterator[ForkRunner]:
    r = ForkRunner(gather_s=0)
    yield r
    r.stop()


@pytest.fixture
def gate() -> Iterator[Gate]:
    g = Gate()
    yield g
    g.close()


def divide_by_zero() -> float:
    return 1 / 0


def test_results_arrive(runner: ForkRunner) -> None:
    futures = runner.submit_many([lambda: 1, lambda: "two", lambda: {"three": [3]}])
    assert [f.result(WAIT_S) for f in futures] == [1, "two", {"three": [3]}]
    big = runner.submit(lambda: b"m" * 10_000_000).result(WAIT_S)
    assert big == b"m" * 10_000_000


def test_jobs_run_in_a_child_process(runner: ForkRunner) -> None:
    assert runner.submit(os.getpid).result(WAIT_S) != os.getpid()


def test_results_stream_back_as_each_job_finishes(runner: ForkRunner, gate: Gate) -> None:
    first, second = runner.submit_many([lambda: "early", gate.wait])
    assert first.result(WAIT_S) == "early"
    assert not second.done()  # still computing in the same child
    gate.open()
    assert second.result(WAIT_S) == b"x"


def test_an_exception_carries_the_child_traceback(runner: ForkRunner) -> None:
    future = runner.submit(divide_by_zero)
    with pytest.raises(ChildComputeError) as caught:
        future.result(WAIT_S)
    error = caught.value
    assert error.exc_type == "ZeroDivisionError"
    assert "divide_by_zero" in error.child_traceback
    assert "in compute child" in str(error)
    assert error.__cause__ is not None and "divide_by_zero" in str(error.__cause__)


def test_an_unpicklable_result_fails_its_job_only(runner: ForkRunner) -> None:
    bad, good = runner.submit_many([lambda: lambda: None, lambda: "fine"])
    with pytest.raises(ChildComputeError):
        bad.result(WAIT_S)
    assert good.result(WAIT_S) == "fine"


def test_a_killed_child_fails_its_futures_and_the_runner_keeps_working(
    runner: ForkRunner,
) -> None:
    def die() -> None:
        os.kill(os.getpid(), signal.SIGKILL)

    done, killed, never = runner.submit_many([lambda: "done", die, lambda: "never"])
    assert done.result(WAIT_S) == "done"
    for future in (killed, never):
        with pytest.raises(ChildLostError, match="killed by SIGKILL"):
            future.result(WAIT_S)
    assert runner.submit(lambda: "again").result(WAIT_S) == "again"
    assert runner.stats().children_lost == 1


def test_jobs_submitted_together_share_one_fork(runner: ForkRunner) -> None:
    futures = runner.submit_many([functools.partial(pow, i, 2) for i in range(8)])
    assert [f.result(WAIT_S) for f in futures] == [i * i for i in range(8)]
    assert runner.stats().forks == 1


def test_jobs_pending_behind_a_busy_child_coalesce_into_the_next_round(gate: Gate) -> None:
    runner = ForkRunner(max_children=1, gather_s=0)
    try:
        blocker = runner.submit(gate.wait)
        gate.arrived()
        queued = [runner.submit(functools.partial(int, i)) for i in range(5)]  # one at a time
        assert runner.stats().forks == 1  # the only child slot is busy
        gate.open()
        assert blocker.result(WAIT_S) == b"x"
        assert [f.result(WAIT_S) for f in queued] == list(range(5))
        assert runner.stats().forks == 2
    finally:
        runner.stop()


def test_a_second_child_serves_a_job_while_a_long_round_runs(
    runner: ForkRunner, gate: Gate
) -> None:
    background = runner.submit(gate.wait)
    gate.arrived()
    assert runner.submit(lambda: "interactive").result(WAIT_S) == "interactive"
    assert not background.done()
    gate.open()
    background.result(WAIT_S)
    assert runner.stats().forks == 2


def test_a_job_cancelled_before_its_round_never_runs(gate: Gate) -> None:
    runner = ForkRunner(max_children=1, gather_s=0)
    try:
        blocker = runner.submit(gate.wait)
        gate.arrived()
        dropped = runner.submit(lambda: "dropped")
        assert dropped.cancel()
        gate.open()
        blocker.result(WAIT_S)
        assert runner.submit(lambda: "next").result(WAIT_S) == "next"
        assert runner.stats().jobs_returned == 2
    finally:
        runner.stop()


def test_stop_kills_children_fails_running_jobs_and_cancels_pending(gate: Gate) -> None:
    runner = ForkRunner(max_children=1, gather_s=0)
    running = runner.submit(gate.wait)
    gate.arrived()
    pending = runner.submit(lambda: "pending")
    assert runner.stats().active_children == 1
    runner.stop(timeout_s=WAIT_S)
    with pytest.raises(RunnerStoppedError):
        running.result(WAIT_S)
    with pytest.raises(CancelledError):
        pending.result(WAIT_S)
    assert runner.stats().active_children == 0  # killed and reaped
    with pytest.raises(RunnerStoppedError):
        runner.submit(lambda: 1).result(WAIT_S)
    runner.stop()  # twice is harmless


def test_a_recomputer_produces_through_the_fork_runner(runner: ForkRunner) -> None:
    prepared_in: list[int] = []

    def prepare() -> tuple[int, ...]:
        prepared_in.append(os.getpid())  # the store snapshot is taken here, in the parent
        return (1, 2, 3)

    def compute(snapshot: tuple[int, ...]) -> dict[str, int]:
        return {"sum": sum(snapshot), "pid": os.getpid()}

    job = render_job(compute, lambda result: b"%d %d" % (result["sum"], result["pid"]))
    r = Recomputer("sum", produce_on(runner, prepare, job), interval_s=60, clock=FakeClock())
    assert r.run_once() is Outcome.PUBLISHED
    latest = r.load()
    assert latest is not None
    total, pid = latest.body.split()
    assert int(total) == 6
    assert int(pid) != os.getpid()  # computed in the child
    assert prepared_in == [os.getpid()]


def test_the_fork_warning_of_python_3_12_is_suppressed_narrowly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def fake_fork() -> int:
        # The exact text CPython >= 3.12 emits after fork() in a multi-threaded process.
        warnings.warn(
            "This process (pid=42) is multi-threaded, use of fork() may lead to "
            "deadlocks in the child.",
            DeprecationWarning,
            stacklevel=2,
        )
        warnings.warn("something else", DeprecationWarning, stacklevel=2)
        return 4242

    monkeypatch.setattr(os, "fork", fake_fork)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert child.fork() == 4242
    assert [str(w.message) for w in caught] == ["something else"]


def test_a_stale_round_holding_a_reused_fd_number_does_not_kill_the_next_child(
    runner: ForkRunner,
) -> None:
    # A finished round's collector closes its fd before leaving _active; os.pipe() may then
    # hand the same number to the next round. Pin that state: the lowest free numbers are
    # what the next pipe gets, and a stale round lists the one that becomes the write end.
    read_fd, write_fd = os.pipe()
    os.close(read_fd)
    os.close(write_fd)
    stale = fork_runner_module._Round(pid=2**22 + 1, fd=write_fd, futures=[])
    runner._active[stale.pid] = stale
    try:
        assert runner.submit(lambda: "alive").result(10) == "alive"
    finally:
        del runner._active[stale.pid]


def _freed_memory_is_reused() -> int:
    """Page faults of allocating 16 MB a second time, after freeing the first 16 MB."""
    block = bytearray(16 << 20)
    del block
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    block = bytearray(16 << 20)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    del block
    return after - before


@pytest.mark.skipif(child._MALLOPT is None, reason="glibc's mallopt only")
def test_a_child_keeps_the_memory_its_jobs_free(runner: ForkRunner) -> None:
    # Without the tuning glibc maps or grows fresh memory for the second bytearray and
    # faults in its 4k pages again; with it the child reuses the freed block.
    faults = runner.submit(_freed_memory_is_reused).result(timeout=30)
    assert faults < 1000


def test_the_thread_pool_fork_hooks_are_registered_before_any_fork() -> None:
    """asyncio imports them late; registered by another thread during a fork, the parent
    would release a lock it never took (meshlens/recomputer/child.py)."""
    code = (
        "import sys, meshlens.recomputer.fork_runner;"
        " print('concurrent.futures.thread' in sys.modules)"
    )
    found = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert found.strip() == "True"


def test_each_round_gives_the_freed_heap_back(monkeypatch: pytest.MonkeyPatch) -> None:
    trimmed = threading.Semaphore(0)
    monkeypatch.setattr(fork_runner, "return_freed_memory", trimmed.release)
    runner = ForkRunner(gather_s=0)
    try:
        assert runner.submit(lambda: 1).result(WAIT_S) == 1
        assert trimmed.acquire(timeout=WAIT_S)  # once the round's reader is done
        assert runner.submit(lambda: 2).result(WAIT_S) == 2
        assert trimmed.acquire(timeout=WAIT_S)
    finally:
        runner.stop()


def test_the_runner_tells_when_each_child_lives(gate: Gate) -> None:
    events: list[bool] = []
    reaped = threading.Semaphore(0)

    def on_child(alive: bool) -> None:
        events.append(alive)
        if not alive:
            reaped.release()

    runner = ForkRunner(gather_s=0, on_child=on_child)
    try:
        future = runner.submit(gate.wait)
        gate.arrived()
        assert events == [True]  # told before the fork: the child is running now
        gate.open()
        assert future.result(WAIT_S) == b"x"
        assert reaped.acquire(timeout=WAIT_S)
        assert events == [True, False]
        killed = runner.submit(lambda: os.kill(os.getpid(), signal.SIGKILL))
        with pytest.raises(ChildLostError):
            killed.result(WAIT_S)
        assert reaped.acquire(timeout=WAIT_S)
        assert events == [True, False, True, False]  # a child that dies is reaped all the same
    finally:
        runner.stop()


def test_a_fork_that_fails_is_told_as_over(monkeypatch: pytest.MonkeyPatch) -> None:
    events: list[bool] = []

    def no_fork() -> int:
        raise OSError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(child, "fork", no_fork)
    runner = ForkRunner(gather_s=0, on_child=events.append)
    try:
        with pytest.raises(OSError, match="temporarily unavailable"):
            runner.submit(lambda: 1).result(WAIT_S)
        assert events == [True, False]
    finally:
        runner.stop()
