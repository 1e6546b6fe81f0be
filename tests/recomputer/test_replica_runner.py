"""ReplicaRunner: one long-lived child follows the parent's state by deltas and runs jobs on it.

The state here is a list of ints; a delta appends one. Every test forks real children and
waits on futures (bounded), never on the clock.
"""

from __future__ import annotations

import fcntl
import os
import signal
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path

import pytest

from meshlens.recomputer import (
    ChildComputeError,
    ChildLostError,
    ReplicaRunner,
    RunnerStoppedError,
)

WAIT_S = 10.0


class Counter:
    """The parent's state and its single writer: appends under the lock, then tells the runner."""

    def __init__(self) -> None:
        self.values: list[int] = []
        self.lock = threading.Lock()
        self.runner: ReplicaRunner | None = None

    def add(self, value: int) -> None:
        with self.lock:
            if self.runner is not None:
                self.runner.send(value)
            self.values.append(value)


def _fail(_: object) -> int:
    raise ValueError("no such thing")


@pytest.fixture
def counter() -> Iterator[Counter]:
    state = Counter()
    state.runner = ReplicaRunner(
        {
            "total": lambda _: sum(state.values),
            "values": lambda _: list(state.values),
            "pid": lambda _: os.getpid(),
            "fail": _fail,
            "scaled": lambda factor: [v * factor for v in state.values],
        },
        apply=state.values.append,
        lock=state.lock,
        niceness=0,
    )
    yield state
    state.runner.stop()


def _result(future: Future[object]) -> object:
    return future.result(WAIT_S)


def test_the_child_sees_the_state_at_its_fork_and_every_delta_sent_after(counter: Counter) -> None:
    assert counter.runner is not None
    counter.add(1)
    counter.add(2)  # before the first job: no child yet, so these travel in the fork image
    assert _result(counter.runner.submit("values", None)) == [1, 2]
    counter.add(3)
    counter.add(4)
    assert _result(counter.runner.submit("values", None)) == [1, 2, 3, 4]
    assert _result(counter.runner.submit("scaled", 10)) == [10, 20, 30, 40]
    stats = counter.runner.stats()
    assert (stats.forks, stats.deltas_sent, stats.jobs_returned) == (1, 2, 3)


def test_jobs_run_in_one_long_lived_child(counter: Counter) -> None:
    assert counter.runner is not None
    pids = {_result(counter.runner.submit("pid", None)) for _ in range(5)}
    assert len(pids) == 1 and os.getpid() not in pids
    assert counter.runner.stats().forks == 1


def test_a_job_that_raises_fails_its_future_and_the_child_goes_on(counter: Counter) -> None:
    assert counter.runner is not None
    with pytest.raises(ChildComputeError, match="ValueError: no such thing") as caught:
        _result(counter.runner.submit("fail", None))
    assert "_fail" in caught.value.child_traceback
    counter.add(5)
    assert _result(counter.runner.submit("total", None)) == 5
    assert counter.runner.stats().forks == 1


def test_unknown_job_names_are_refused_in_the_parent(counter: Counter) -> None:
    assert counter.runner is not None
    with pytest.raises(KeyError):
        counter.runner.submit("nothing", None)


def test_a_killed_child_fails_its_jobs_and_the_next_job_forks_a_current_copy(
    counter: Counter,
) -> None:
    assert counter.runner is not None
    counter.add(1)
    pid = _result(counter.runner.submit("pid", None))
    assert isinstance(pid, int)
    os.kill(pid, signal.SIGKILL)
    # A job sent to the dying child fails with ChildLostError, or (if the death was seen
    # first) runs in a new child; either way the one after sees the whole state.
    try:
        _result(counter.runner.submit("total", None))
    except ChildLostError as lost:
        assert lost.pid == pid and "SIGKILL" in str(lost)
    counter.add(2)
    assert _result(counter.runner.submit("values", None)) == [1, 2]
    assert _result(counter.runner.submit("pid", None)) != pid


def test_retire_lets_the_child_go_and_the_next_job_forks_afresh(counter: Counter) -> None:
    assert counter.runner is not None
    counter.add(1)
    first = counter.runner.submit("pid", None)
    counter.runner.retire()
    counter.values[:] = [7, 8]  # replaced wholesale, as a store prune does
    assert _result(counter.runner.submit("values", None)) == [7, 8]
    assert _result(first) != _result(counter.runner.submit("pid", None))
    assert counter.runner.stats().forks == 2


class Gate:
    """FIFOs a child blocks on (the child closes inherited descriptors, so named ones)."""

    def __init__(self, where: Path) -> None:
        self.arrived, self.go = where / "arrived", where / "go"
        os.mkfifo(self.arrived)
        os.mkfifo(self.go)

    def wait(self, _: object) -> bytes:
        """In the child: say we got here, then block until the parent opens the gate."""
        with open(self.arrived, "wb") as said:
            said.write(b"a")
        with open(self.go, "rb") as gate:
            return gate.read(1)

    def reached(self) -> None:
        """In the parent: block until the child waits at the gate."""
        with open(self.arrived, "rb") as said:
            assert said.read(1) == b"a"

    def open(self) -> None:
        """In the parent: let the child through."""
        with open(self.go, "wb") as gate:
            gate.write(b"x")


def test_stop_fails_what_is_in_flight_and_refuses_later_jobs(tmp_path: Path) -> None:
    gate = Gate(tmp_path)
    runner = ReplicaRunner({"block": gate.wait}, apply=lambda _: None, niceness=0)
    blocked = runner.submit("block", None)
    gate.reached()
    runner.stop()
    with pytest.raises(RunnerStoppedError):
        _result(blocked)
    with pytest.raises(RunnerStoppedError):
        _result(runner.submit("block", None))


def test_jobs_waiting_together_run_on_one_state_with_every_waiting_delta(
    counter: Counter, tmp_path: Path
) -> None:
    gate = Gate(tmp_path)
    counter.runner = ReplicaRunner(
        {"block": gate.wait, "values": lambda _: list(counter.values)},
        apply=counter.values.append,
        lock=counter.lock,
        niceness=0,
    )
    blocked = counter.runner.submit("block", None)
    gate.reached()  # the child is busy: what follows waits for it
    counter.add(1)
    first = counter.runner.submit("values", None)
    counter.add(2)
    second = counter.runner.submit("values", None)
    # Until its feeder thread has written them, the child could wake to the first few
    # messages alone; the batching under test is of what waits in the pipe together.
    child = counter.runner._child
    assert child is not None
    child.inbox.join()
    gate.open()
    assert _result(blocked) == b"x"
    assert _result(first) == _result(second) == [1, 2]


def test_the_child_holds_none_of_the_parents_descriptors(tmp_path: Path) -> None:
    # The database's writer lock is a flock: an orphaned child holding a copy of its
    # descriptor would keep a restarted server out.
    lock_path = tmp_path / "db.lock"
    held = os.open(lock_path, os.O_RDWR | os.O_CREAT)
    fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
    runner = ReplicaRunner({"pid": lambda _: os.getpid()}, apply=lambda _: None, niceness=0)
    try:
        assert _result(runner.submit("pid", None)) != os.getpid()  # the child is running
        os.close(held)
        again = os.open(lock_path, os.O_RDWR)
        fcntl.flock(again, fcntl.LOCK_EX | fcntl.LOCK_NB)  # would raise if the child held it
        os.close(again)
    finally:
        runner.stop()
