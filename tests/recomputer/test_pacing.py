"""Pacing: a paced runner rests after its work so its jobs average a share of one CPU.

The arithmetic is checked exactly. The runners are checked with real jobs that burn a few
milliseconds of CPU: the next job (the next round, for the fork runner) of a paced runner
must not start before the rest is over (a lower bound, which holds however busy the
machine is), and results are handed back before the rest, not after it. Times come from
CLOCK_MONOTONIC, which is one clock for every process on Linux, so a forked child's times
compare with the parent's.
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from meshlens.recomputer import ForkRunner, Pace, ReplicaRunner, ThreadRunner
from meshlens.recomputer.pacing import RECHECK_S, rest_for

WAIT_S = 10.0
BURN_S = 0.02  # CPU time each job burns


@dataclass(frozen=True)
class Span:
    """When a job ran (monotonic seconds) and the CPU time it used."""

    started: float
    ended: float
    cpu: float


def burn(_: object = None) -> Span:
    """Use BURN_S of this thread's CPU time; report when and how much."""
    started, cpu0 = time.monotonic(), time.thread_time()
    while time.thread_time() - cpu0 < BURN_S:
        sum(range(1000))
    return Span(started, time.monotonic(), time.thread_time() - cpu0)


def test_the_rest_makes_the_cpu_time_come_to_the_share() -> None:
    assert rest_for(0.2, 0.1) == pytest.approx(1.8)
    assert rest_for(0.3, 0.25) == pytest.approx(0.9)
    assert rest_for(0.2, 0.5) == pytest.approx(0.2)
    assert rest_for(0.2, 1.0) == 0.0
    assert rest_for(0.0, 0.1) == 0.0
    assert rest_for(-1.0, 0.1) == 0.0  # a clock that went backwards: no rest, no error


def test_a_pace_starts_unpaced_and_can_be_changed_while_in_use() -> None:
    pace = Pace()
    assert pace.share == 1.0
    assert pace.rest_after(0.5) == 0.0
    pace.share = 0.2
    assert pace.rest_after(0.5) == pytest.approx(2.0)


@pytest.mark.parametrize("share", [0.0, -0.5, 1.5, float("nan")])
def test_a_share_outside_zero_to_one_is_refused(share: float) -> None:
    with pytest.raises(ValueError, match="share must be in"):
        Pace(share)
    pace = Pace(0.5)
    with pytest.raises(ValueError, match="share must be in"):
        pace.share = share
    assert pace.share == 0.5


def _assert_paced(first: Span, second: Span, share: float) -> None:
    rest = rest_for(first.cpu, share)
    assert first.cpu >= BURN_S
    assert second.started >= first.ended + rest


@pytest.fixture
def fork_runner() -> Iterator[ForkRunner]:
    runner = ForkRunner(gather_s=0, niceness=0, pace=Pace(0.5))
    yield runner
    runner.stop()


def test_a_paced_fork_runner_runs_a_round_back_to_back_and_rests_after_it(
    fork_runner: ForkRunner,
) -> None:
    first, second = (f.result(WAIT_S) for f in fork_runner.submit_many([burn, burn]))
    third = fork_runner.submit(burn).result(WAIT_S)
    # Within the round no rest: the child went straight on (the rest would be >= 20 ms).
    assert second.started - first.ended < rest_for(first.cpu, 0.5)
    # The round's child used at least both jobs' CPU, and the next round waited it out.
    assert fork_runner.stats().cpu_s >= first.cpu + second.cpu
    assert third.started >= second.ended + rest_for(first.cpu + second.cpu, 0.5)


def test_a_paced_fork_runner_starts_no_round_before_the_last_ones_rest_is_over(
    fork_runner: ForkRunner,
) -> None:
    first = fork_runner.submit(burn).result(WAIT_S)
    handed_back = time.monotonic()
    second = fork_runner.submit(burn).result(WAIT_S)
    _assert_paced(first, second, 0.5)
    # The result came back before the rest, not after it.
    assert handed_back < first.ended + rest_for(first.cpu, 0.5)
    assert fork_runner.stats().forks == 2


def test_no_child_lives_through_the_rest_and_a_raised_share_ends_it() -> None:
    # A resting child would share the server's pages (each page the server then writes
    # is copied) and hold its memory: the rest is the parent's.
    pace = Pace(0.0001)  # 20 ms of CPU: a rest of ~200 s
    runner = ForkRunner(gather_s=0, niceness=0, pace=pace)
    try:
        runner.submit(burn).result(WAIT_S)
        deadline = time.monotonic() + WAIT_S
        while runner.stats().active_children and time.monotonic() < deadline:
            time.sleep(0.005)
        assert runner.stats().active_children == 0
        waiting = runner.submit(burn)
        assert not waiting.done()
        raised = time.monotonic()
        pace.share = 1.0  # reads calmed down: the rest ends at its next look at the share
        waiting.result(WAIT_S)
        assert time.monotonic() - raised < WAIT_S
        assert runner.stats().forks == 2
    finally:
        runner.stop()


def test_an_unpaced_fork_runner_does_not_rest() -> None:
    free = ForkRunner(gather_s=0, niceness=0)
    try:
        first, second = (f.result(WAIT_S) for f in free.submit_many([burn, burn]))
        # 20 ms of CPU at share 0.001 would rest 20 s: the unpaced child went straight on.
        assert second.started - first.ended < rest_for(first.cpu, 0.001)
    finally:
        free.stop()


def test_a_rest_reads_the_share_again_as_it_goes() -> None:
    pace = Pace(0.0001)
    waits: list[float] = []

    def wait(seconds: float) -> bool:
        waits.append(seconds)
        pace.share = 1.0  # raised during the first slice of the rest
        return False

    pace.rest(0.02, wait)  # ~200 s at the share it started with
    assert waits == [RECHECK_S]


def test_a_rest_counts_from_when_the_job_ended() -> None:
    waits: list[float] = []

    def wait(seconds: float) -> bool:
        waits.append(seconds)
        return False

    Pace(0.5).rest(10.0, wait, since=time.monotonic() - 10.0)
    assert waits == []  # the 10 s of rest were over before it was asked for


def test_a_paced_thread_runner_rests_between_jobs_and_stop_cuts_the_rest_short() -> None:
    runner = ThreadRunner(pace=Pace(0.5))
    try:
        first, second = runner.submit(burn).result(WAIT_S), runner.submit(burn).result(WAIT_S)
        _assert_paced(first, second, 0.5)
    finally:
        runner.stop(timeout_s=WAIT_S)
    resting = ThreadRunner(pace=Pace(0.0001))
    resting.submit(burn).result(WAIT_S)  # then a rest of ~200 s
    stopping = time.monotonic()
    resting.stop(timeout_s=WAIT_S)
    assert time.monotonic() - stopping < WAIT_S
    assert not any(t.is_alive() for t in threading.enumerate() if t.name.startswith("compute-"))


def test_a_forked_child_sees_every_later_change_of_the_share() -> None:
    pace = Pace(0.5)
    go_read, go_write = os.pipe()
    answer_read, answer_write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: wait for the parent's change, then report what it sees
        os.read(go_read, 1)
        os.write(answer_write, struct.pack("d", pace.share))
        os._exit(0)
    try:
        pace.share = 0.125
        os.write(go_write, b"x")
        assert struct.unpack("d", os.read(answer_read, 8))[0] == 0.125
    finally:
        os.waitpid(pid, 0)
        for fd in (go_read, go_write, answer_read, answer_write):
            os.close(fd)


def test_a_replica_child_rests_after_each_job_at_the_share_of_the_moment() -> None:
    pace = Pace()
    runner = ReplicaRunner({"burn": burn}, apply=lambda _: None, niceness=0, pace=pace)
    try:
        unpaced = runner.submit("burn", None).result(WAIT_S)
        pace.share = 0.5  # the long-lived child, forked before, sees it (shared memory)
        first = runner.submit("burn", None).result(WAIT_S)
        second = runner.submit("burn", None).result(WAIT_S)
        assert unpaced.cpu >= BURN_S
        _assert_paced(first, second, 0.5)
    finally:
        runner.stop()


_ORPHAN_SCRIPT = """
import os, sys, time
from meshlens.recomputer import ForkRunner, Pace

def job():
    print(os.getpid(), flush=True)
    time.sleep(600)  # a compute far longer than the test

runner = ForkRunner(gather_s=0, niceness=0)
runner.submit(job)
sys.stdin.read()  # until the test kills us
"""


def test_a_child_dies_with_its_parent_even_when_the_parent_is_killed() -> None:
    # The child would go on computing, holding the parent's socket and database lock.
    with subprocess.Popen(
        [sys.executable, "-c", _ORPHAN_SCRIPT], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        text=True,
    ) as parent:  # fmt: skip
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        assert _alive(child)
        parent.kill()
        parent.wait(WAIT_S)
    deadline = time.monotonic() + WAIT_S
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not _alive(child)


def _alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie, reaped by init soon, counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ", 1)[1][0] != "Z"
    except FileNotFoundError:
        return False
