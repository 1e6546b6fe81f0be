"""CPU placement: the split, and every kind of background work landing on its CPUs."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from meshlens.cpus import CpuSplit, allowed_cpus, move_thread, move_threads, native_threads
from meshlens.db.database import Database
from meshlens.ingest.pipeline_process import PipelineProcess, PipelineSpec
from meshlens.recomputer import ForkRunner
from meshlens.recomputer.runners import ThreadRunner
from meshlens.store.store import PacketStore
from tests.ingest.helpers import T0, advert_frame, sighting

needs_two_cpus = pytest.mark.skipif(
    len(allowed_cpus()) < 2, reason="CPU affinity with two CPUs or more (Linux)"
)


def affinity() -> list[int]:
    """The calling thread's CPUs, sorted."""
    return sorted(os.sched_getaffinity(0))


def in_new_thread(work: Callable[[], list[int]]) -> list[int]:
    """What `work` returns on a fresh thread."""
    seen: list[list[int]] = []
    thread = threading.Thread(target=lambda: seen.append(work()))
    thread.start()
    thread.join()
    return seen[0]


def test_one_cpu_is_not_split() -> None:
    assert CpuSplit.of(frozenset()) is None
    assert CpuSplit.of({3}) is None


def test_the_lowest_cpu_serves_and_the_rest_run_background_work() -> None:
    assert CpuSplit.of({0, 1}) == CpuSplit(frozenset({0}), frozenset({1}))
    split = CpuSplit.of({7, 2, 5})
    assert split is not None
    assert split == CpuSplit(frozenset({2}), frozenset({5, 7}))
    assert split.allowed == {2, 5, 7}


def test_allowed_cpus_are_the_process_affinity() -> None:
    assert allowed_cpus() == frozenset(os.sched_getaffinity(0))


@needs_two_cpus
def test_moving_a_thread_moves_it_alone_and_what_it_starts() -> None:
    before = affinity()
    first = min(allowed_cpus())

    def moved_then_child() -> list[int]:
        move_thread({first})
        return [*affinity(), -1, *in_new_thread(affinity)]

    assert in_new_thread(moved_then_child) == [first, -1, first]
    assert affinity() == before


def test_nothing_to_move_to_leaves_the_thread_where_it_is() -> None:
    before = affinity()

    def unmoved() -> list[int]:
        move_thread(None)
        move_thread(frozenset())
        return affinity()

    assert in_new_thread(unmoved) == before


def test_native_threads_are_those_python_did_not_start(raw_thread: int) -> None:
    python = {thread.native_id for thread in threading.enumerate()}
    assert raw_thread in native_threads()
    assert threading.get_native_id() in python
    assert not native_threads() & python


@needs_two_cpus
def test_moving_threads_by_id(raw_thread: int) -> None:
    first = frozenset({min(allowed_cpus())})
    move_threads({raw_thread}, first)
    assert os.sched_getaffinity(raw_thread) == first
    move_threads({raw_thread}, None)  # nothing to move to: left where it is
    move_threads({raw_thread}, frozenset())
    assert os.sched_getaffinity(raw_thread) == first
    move_threads({raw_thread}, allowed_cpus())
    assert os.sched_getaffinity(raw_thread) == allowed_cpus()


def test_a_thread_that_has_ended_is_not_moved() -> None:
    thread = threading.Thread(target=lambda: None)
    thread.start()
    thread.join()
    assert thread.native_id is not None
    move_threads({thread.native_id}, allowed_cpus())  # no such thread now: no error


def where_a_job_ran(runner: ForkRunner | ThreadRunner) -> list[int]:
    """The CPUs a job ran on, on `runner` (a fork or a worker thread); stops the runner."""
    try:
        return runner.submit(affinity).result(timeout=30)
    finally:
        runner.stop()


@needs_two_cpus
@pytest.mark.parametrize("kind", [ForkRunner, ThreadRunner])
def test_a_runner_runs_its_jobs_on_its_cpus(kind: type[ForkRunner | ThreadRunner]) -> None:
    last = frozenset({max(allowed_cpus())})
    assert where_a_job_ran(kind(cpus=last)) == sorted(last)
    assert where_a_job_ran(kind()) == affinity()  # no CPUs given: this thread's


@needs_two_cpus
def test_the_database_writer_runs_on_its_cpus(tmp_path: Path) -> None:
    last = frozenset({max(allowed_cpus())})
    db = Database(tmp_path / "cpus.db", writer_cpus=last)
    try:
        assert db.write(lambda conn: affinity()) == sorted(last)
    finally:
        db.close()


@needs_two_cpus
def test_the_pipeline_process_runs_on_the_cpus_of_the_thread_that_starts_it(
    tmp_path: Path,
) -> None:
    """The ingest worker, on the background CPUs, starts it with its first batch."""
    last = frozenset({max(allowed_cpus())})
    Database(tmp_path / "p.db").close()
    process = PipelineProcess(PipelineSpec(tmp_path / "p.db"), PacketStore())

    def from_a_moved_thread() -> list[int]:
        move_thread(last)
        process.process([sighting(advert_frame(1), at_ms=T0)])  # starts it
        assert process.pid is not None
        return sorted(os.sched_getaffinity(process.pid))

    try:
        started_on = in_new_thread(from_a_moved_thread)
    finally:
        process.stop()
    assert started_on == sorted(last)
