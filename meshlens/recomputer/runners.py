"""Where computes run: one `Runner` interface, and the thread and inline placements.

A runner takes a job (a no-argument callable) and returns a `concurrent.futures.Future`
for its result. `ForkRunner` (fork_runner.py) runs jobs in forked children so they never
hold the serving process's GIL; `ThreadRunner` is the fallback where fork is unavailable
and the baseline of bench/gil.py; `InlineRunner` runs in the caller, for tests.

A recomputer's `produce` is composed from a runner with `produce_on`, which keeps the
recomputer ignorant of runners: it only ever sees a callable.
"""

from __future__ import annotations

import functools
import logging
import queue
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from typing import Any, Protocol, TypeVar

from meshlens.cpus import move_thread
from meshlens.errors import MeshlensError
from meshlens.priority import lower_thread_priority
from meshlens.recomputer.pacing import Pace
from meshlens.recomputer.published import Rendered, render

logger = logging.getLogger("meshlens.recomputer")

R = TypeVar("R")
S = TypeVar("S")
T = TypeVar("T")


class RunnerStoppedError(MeshlensError):
    """The runner stopped before this job finished."""

    def __init__(self, runner: str) -> None:
        super().__init__(f"compute runner {runner!r} stopped before the job finished")
        self.runner = runner


class Runner(Protocol):
    """Runs jobs somewhere and hands back futures; the one interface of every placement."""

    def submit(self, job: Callable[[], R]) -> Future[R]:
        """Queue `job`; the future resolves with its return value or its exception."""
        ...

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop running jobs: pending futures are cancelled, running ones fail."""
        ...


class InlineRunner:
    """Runs each job in the caller before `submit` returns (tests, tiny jobs)."""

    def submit(self, job: Callable[[], R]) -> Future[R]:
        """Run `job` now and return its finished future."""
        future: Future[R] = Future()
        future.set_running_or_notify_cancel()
        try:
            future.set_result(job())
        except Exception as exc:  # handed to whoever reads the future
            future.set_exception(exc)
        return future

    def stop(self, timeout_s: float = 5.0) -> None:
        """Nothing runs in the background: nothing to stop."""


class ThreadRunner:
    """Runs jobs one at a time on worker threads of this process (they share its GIL).

    With a `pace` (pacing.py) each worker rests after each job before taking the next.
    """

    def __init__(
        self,
        *,
        workers: int = 1,
        niceness: int = 0,
        name: str = "compute",
        pace: Pace | None = None,
        cpus: frozenset[int] | None = None,
    ) -> None:
        self.name = name
        self._niceness = niceness
        self._cpus = cpus  # the worker threads' CPUs (None: those of the thread building it)
        self._pace = pace or Pace()
        self._stopped = threading.Event()  # cuts a rest short
        self._queue: queue.SimpleQueue[tuple[Future[Any], Callable[[], Any]] | None]
        self._queue = queue.SimpleQueue()
        self._stopping = False
        self._lock = threading.Lock()
        self._threads = [
            threading.Thread(target=self._work, name=f"{name}-{i}", daemon=True)
            for i in range(workers)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, job: Callable[[], R]) -> Future[R]:
        """Queue `job` for the next free worker thread."""
        future: Future[R] = Future()
        with self._lock:
            if self._stopping:
                future.set_exception(RunnerStoppedError(self.name))
                return future
            self._queue.put((future, job))
        return future

    def _work(self) -> None:
        lower_thread_priority(self._niceness)
        move_thread(self._cpus)
        while (item := self._queue.get()) is not None:
            future, job = item
            if not future.set_running_or_notify_cancel():
                continue
            started = time.thread_time()
            try:
                future.set_result(job())
            except Exception as exc:  # handed to whoever reads the future
                future.set_exception(exc)
            self._pace.rest(time.thread_time() - started, self._stopped.wait)

    def stop(self, timeout_s: float = 5.0) -> None:
        """Cancel queued jobs and wait (bounded) for the running ones to end."""
        with self._lock:
            if self._stopping:
                return
            self._stopping = True
            self._stopped.set()
            while True:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is not None:
                    item[0].cancel()
            for _ in self._threads:
                self._queue.put(None)
        # A running job cannot be interrupted in a thread; it finishes on its own.
        deadline = time.monotonic() + timeout_s
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))


def produce_on(
    runner: Runner,
    prepare: Callable[[], S],
    job: Callable[[S], R],
    *,
    timeout_s: float | None = None,
) -> Callable[[], R]:
    """A recomputer `produce`: `prepare()` here, then `job(prepared)` on the runner.

    `prepare` runs in the calling thread of the serving process and is where the store
    snapshot is taken (it may take the store's lock; a forked child must never do that).
    The job then reads only the immutable snapshot it was handed.
    """

    def produce() -> R:
        prepared = prepare()
        return runner.submit(functools.partial(job, prepared)).result(timeout_s)

    return produce


def render_job(
    compute: Callable[[S], T],
    encode: Callable[[T], bytes],
    extras: Callable[[T], Mapping[str, bytes]] | None = None,
) -> Callable[[S], Rendered]:
    """A job that computes, encodes and renders in one go (so a child returns only bytes)."""

    def job(prepared: S) -> Rendered:
        result = compute(prepared)
        return render(encode(result), extras(result) if extras is not None else None)

    return job
