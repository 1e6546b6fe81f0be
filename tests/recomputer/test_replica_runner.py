"""ReplicaRunner: one long-lived child follows the parent's state by deltas and runs jobs on it.

The state here is a list of ints; a delta appends one. Every test forks real children and
waits on futures (bounded), never on the clock.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from concurrent.futures import Future

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


def test_stop_fails_what_is_in_flight_and_refuses_later_jobs(counter: Counter) -> None:
    assert counter.runner is not None
    read_fd, write_fd = os.pipe()
    counter.runner = ReplicaRunner(
        {"block": lambda _: os.read(read_fd, 1)}, apply=counter.values.append, niceness=0
    )
    blocked = counter.runner.submit("block", None)
    counter.runner.stop()
    with pytest.raises(RunnerStoppedError):
        _result(blocked)
    with pytest.raises(RunnerStoppedError):
        _result(counter.runner.submit("block", None))
    os.close(read_fd)
    os.close(write_fd)


def test_jobs_waiting_together_run_on_one_state_with_every_waiting_delta(counter: Counter) -> None:
    assert counter.runner is not None
    read_fd, write_fd = os.pipe()
    arrived_read, arrived_write = os.pipe()
    counter.runner = ReplicaRunner(
        {
            "block": lambda _: (os.write(arrived_write, b"a"), os.read(read_fd, 1))[1],
            "values": lambda _: list(counter.values),
        },
        apply=counter.values.append,
        lock=counter.lock,
        niceness=0,
    )
    try:
        blocked = counter.runner.submit("block", None)
        assert os.read(arrived_read, 1) == b"a"  # the child is busy: what follows waits
        counter.add(1)
        first = counter.runner.submit("values", None)
        counter.add(2)
        second = counter.runner.submit("values", None)
        os.write(write_fd, b"x")
        assert _result(blocked) == b"x"
        assert _result(first) == _result(second) == [1, 2]
    finally:
        for fd in (read_fd, write_fd, arrived_read, arrived_write):
            os.close(fd)
