"""The served event loop keeps a CPU while busy; computes and ingest run on the others."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import os
import threading
from collections.abc import Iterator

import pytest

from meshlens.app import Server
from meshlens.config import Settings
from meshlens.cpus import CpuSplit, allowed_cpus
from tests.api.conftest import Serve
from tests.api.probe import REGISTRY
from tests.api.running import Running
from tests.test_cpus import affinity, needs_two_cpus


def loop_affinity_busy_then_calm(running: Running) -> tuple[list[int], ...]:
    """The loop thread's CPUs before, after its LoopBusy reports busy, then calm."""
    seen: list[list[int]] = []
    done = threading.Event()

    def on_the_loop() -> None:
        seen.append(affinity())
        running.server.loop_busy.sample(1.0, 1.0)  # the loop's thread on the CPU all the time
        seen.append(affinity())
        running.server.loop_busy.sample(0.0, 1.0)
        seen.append(affinity())
        done.set()

    running.loop.call_soon_threadsafe(on_the_loop)
    assert done.wait(10)
    return tuple(seen)


def thread_cpus(name: str) -> list[int] | None:
    """The CPUs of this process's thread called `name`, if it is running."""
    thread = next((t for t in threading.enumerate() if t.name == name), None)
    if thread is None or thread.native_id is None:
        return None
    return sorted(os.sched_getaffinity(thread.native_id))


def split_and_served(serve: Serve, settings: Settings) -> tuple[CpuSplit, Running]:
    """This machine's CPU split, and a server that has loaded and computed once."""
    split = CpuSplit.of(allowed_cpus())
    assert split is not None
    running = serve(settings)
    running.wait_ready()
    return split, running


@needs_two_cpus
def test_the_busy_loop_takes_the_serving_cpu_and_gives_it_back_when_calm(
    serve: Serve, settings: Settings
) -> None:
    split, running = split_and_served(serve, settings)
    before, busy, calm = loop_affinity_busy_then_calm(running)
    assert before == calm == sorted(split.allowed)
    assert busy == sorted(split.serving)


@needs_two_cpus
def test_computes_and_ingest_run_on_the_background_cpus(serve: Serve, settings: Settings) -> None:
    running = serve()
    running.wait_ready()
    server = running.server
    assert server.cpus == CpuSplit.of(allowed_cpus())
    assert server.cpus is not None
    background = sorted(server.cpus.background)
    assert server.runner.submit(affinity).result(timeout=30) == background  # filtered shapes
    assert server.background.submit(affinity).result(timeout=30) == background  # recomputers
    assert server.worker.call(affinity).result(timeout=30) == background
    assert server.db.write(lambda conn: affinity()) == background
    # The retention thread starts once the store has loaded, and moves itself as it starts.
    running.wait_until(lambda: thread_cpus("retention") == background)


def cpus_of(tids: list[int]) -> list[list[int]]:
    """Each thread's CPUs (a child can read its parent's threads' too); ended ones left out."""
    found = []
    for tid in tids:
        with contextlib.suppress(ProcessLookupError):
            found.append(sorted(os.sched_getaffinity(tid)))
    return found


@needs_two_cpus
def test_granian_threads_keep_the_serving_cpu_while_a_compute_child_lives(
    serve: Serve, settings: Settings
) -> None:
    split, running = split_and_served(serve, settings)
    http = sorted(running.server.http_threads())
    assert http  # granian's runtime, at least
    during = running.server.runner.submit(functools.partial(cpus_of, http)).result(timeout=30)
    assert during and all(cpus == sorted(split.serving) for cpus in during)
    # Once every child is reaped they may run anywhere again.
    running.wait_until(lambda: all(cpus == sorted(split.allowed) for cpus in cpus_of(http)))


@needs_two_cpus
def test_with_the_cpu_not_reserved_every_thread_runs_anywhere(
    serve: Serve, settings: Settings
) -> None:
    shared = dataclasses.replace(
        settings, meshlens=dataclasses.replace(settings.meshlens, reserve_serving_cpu=False)
    )
    everywhere = sorted(os.sched_getaffinity(0))
    running = serve(shared)
    running.wait_ready()
    assert loop_affinity_busy_then_calm(running) == (everywhere,) * 3
    server = running.server
    assert server.cpus is None
    assert server.runner.submit(affinity).result(timeout=30) == everywhere
    assert server.worker.call(affinity).result(timeout=30) == everywhere
    http = sorted(server.http_threads())
    during = server.runner.submit(functools.partial(cpus_of, http)).result(timeout=30)
    assert during and all(cpus == everywhere for cpus in during)


@pytest.fixture
def unserved(settings: Settings) -> Iterator[Server]:
    """A server built but not run: no HTTP server, so no granian threads yet."""
    server = Server(settings, analytics=REGISTRY)
    yield server
    server.shutdown()


@needs_two_cpus
def test_before_it_serves_a_server_has_no_http_threads_to_move(
    unserved: Server, raw_thread: int
) -> None:
    # A native thread started after the server was built (another library's) is not granian's.
    assert unserved.http_threads() == frozenset()
    during = unserved.runner.submit(functools.partial(cpus_of, [raw_thread])).result(timeout=30)
    assert during == [sorted(allowed_cpus())]
