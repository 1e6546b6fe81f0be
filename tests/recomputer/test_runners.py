"""InlineRunner, ThreadRunner and the helpers that compose a produce from a runner."""

from __future__ import annotations

import os
import threading
from concurrent.futures import CancelledError

import pytest

from meshlens.recomputer import (
    InlineRunner,
    RunnerStoppedError,
    ThreadRunner,
    produce_on,
    render_job,
)

WAIT_S = 10.0


def test_inline_runner_runs_in_the_caller() -> None:
    runner = InlineRunner()
    future = runner.submit(threading.get_ident)
    assert future.done() and future.result() == threading.get_ident()
    failed = runner.submit(lambda: 1 / 0)
    assert isinstance(failed.exception(), ZeroDivisionError)
    runner.stop()


def test_thread_runner_runs_on_its_worker_thread_at_its_priority() -> None:
    runner = ThreadRunner(niceness=3)
    try:
        name, nice = runner.submit(
            lambda: (
                threading.current_thread().name,
                os.getpriority(os.PRIO_PROCESS, threading.get_native_id()),
            )
        ).result(WAIT_S)
        assert name == "compute-0"
        assert nice == min(19, os.getpriority(os.PRIO_PROCESS, 0) + 3)
        with pytest.raises(ZeroDivisionError):
            runner.submit(lambda: 1 / 0).result(WAIT_S)
    finally:
        runner.stop()


def test_thread_runner_stop_cancels_queued_jobs() -> None:
    runner = ThreadRunner()
    gate = threading.Event()
    entered = threading.Event()

    def block() -> str:
        entered.set()
        gate.wait(WAIT_S)
        return "ran"

    running = runner.submit(block)
    assert entered.wait(WAIT_S)
    queued = runner.submit(lambda: "queued")
    stopper = threading.Thread(target=runner.stop)
    stopper.start()
    with pytest.raises(CancelledError):
        queued.result(WAIT_S)
    gate.set()
    stopper.join(WAIT_S)
    assert running.result(WAIT_S) == "ran"  # a running thread job finishes on its own
    with pytest.raises(RunnerStoppedError):
        runner.submit(lambda: 1).result(WAIT_S)
    runner.stop()


def test_produce_on_prepares_in_the_caller_and_runs_the_job_on_the_runner() -> None:
    runner = ThreadRunner()
    try:
        where: dict[str, int] = {}

        def prepare() -> int:
            where["prepare"] = threading.get_ident()
            return 20

        def job(prepared: int) -> int:
            where["job"] = threading.get_ident()
            return prepared + 1

        assert produce_on(runner, prepare, job)() == 21
        assert where["prepare"] == threading.get_ident() != where["job"]
    finally:
        runner.stop()


def test_render_job_encodes_and_renders_side_outputs() -> None:
    def compute(n: int) -> dict[str, int]:
        return {"n": n}

    def encode(result: dict[str, int]) -> bytes:
        return b'{"n": %d}' % result["n"]

    def extras(result: dict[str, int]) -> dict[str, bytes]:
        return {"double": b"%d" % (2 * result["n"])}

    rendered = render_job(compute, encode, extras)(4)
    assert rendered.body == b'{"n": 4}'
    assert rendered.extra == {"double": b"8"}
    assert rendered.etag.startswith('"')
