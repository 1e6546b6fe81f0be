"""Run computes in forked children, so they never hold the serving process's GIL.

A dispatcher thread takes every job pending, forks ONE child for the whole round (at most
`max_children` rounds at once, so an interactive job need not wait behind a long
background round), and a collector thread per round reads results back as the child
finishes each job. The child sees a copy-on-write image of the parent, so the immutable
store snapshot a job closes over costs no serialisation (Redis BGSAVE style); only the
result crosses a pipe, as length-prefixed pickle. Jobs should return bytes (see
`runners.render_job`) so the parent's unpickling is a memcpy, not a walk over objects.

Fork safety. Only the forking thread survives in the child, and any lock another parent
thread held at that instant stays held forever there. So a job run by this runner must:
- read only data it was handed and that nobody mutates (take the store snapshot in the
  parent, e.g. in `produce_on`'s `prepare`, never in the job: that takes the store lock);
- not log (handlers may hold locks or sockets), print, or touch asyncio, sockets, SQLite
  connections or threads of the parent; and start no threads or processes of its own;
- return a picklable value, or raise: both are sent back; the child then leaves with
  `os._exit` (no atexit handlers, no flushing of the parent's stdio buffers).
The child itself disables the garbage collector (a collection would touch, and so copy,
every page of the parent's heap), keeps the memory its jobs free for reuse (glibc
mallopt: fewer page faults), restores default SIGINT/SIGTERM handling, detaches the
parent's signal wakeup fd (the event loop's), closes the pipes of other rounds and lowers
its priority with `os.nice` and, on Linux, the SCHED_IDLE policy, so the serving
process keeps the CPU when both want it, and moves to the runner's `cpus` (the
background CPUs of meshlens/cpus.py: never the one the busy event loop keeps).
If the parent dies, the child is killed with it (Linux's parent-death signal; elsewhere,
its next write fails with EPIPE and it exits), so a child still computing never holds the
parent's socket or database lock after the parent is gone.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import pickle
import signal
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, NoReturn, TypeVar

from meshlens.cpus import move_thread
from meshlens.errors import MeshlensError
from meshlens.heap import return_freed_memory
from meshlens.recomputer import child
from meshlens.recomputer.pacing import Pace
from meshlens.recomputer.runners import RunnerStoppedError

logger = logging.getLogger("meshlens.recomputer")

R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class ForkRunnerStats:
    """Counters of one ForkRunner."""

    forks: int
    jobs_returned: int
    jobs_raised: int
    children_lost: int
    active_children: int
    pending: int
    cpu_s: float  # CPU time of the children that have ended (what pacing counts)


@dataclass(slots=True)
class _Round:
    pid: int
    fd: int
    futures: list[Future[Any]]


def _child_main(
    fd: int,
    close_fds: Sequence[int],
    jobs: Sequence[Callable[[], object]],
    *,
    niceness: int,
    cpus: frozenset[int] | None,
    parent_pid: int,
) -> NoReturn:
    """Run the round's jobs in order, stream each result back, then leave without cleanup."""
    status = 0
    try:
        child.die_with_parent(parent_pid)
        gc.disable()
        child.keep_freed_memory()
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        for other in close_fds:
            # Another round's collector may have closed its end since we looked: harmless.
            with contextlib.suppress(OSError):
                os.close(other)
        if niceness:
            os.nice(niceness)
            child.schedule_idle()
        move_thread(cpus)
        for job in jobs:
            try:
                kind, payload = (
                    child.RETURNED,
                    pickle.dumps(job(), protocol=pickle.HIGHEST_PROTOCOL),
                )
            except Exception as exc:  # sent back to the parent, which raises ChildComputeError
                text = (type(exc).__qualname__, str(exc), traceback.format_exc())
                kind, payload = child.RAISED, pickle.dumps(text)
            child.write_all(fd, child.HEADER.pack(kind, len(payload)) + payload)
    except BaseException:  # the parent went away (EPIPE) or the process is being torn down
        status = 1
    finally:
        os._exit(status)


def _no_child_watch(alive: bool) -> None:
    """What a ForkRunner tells of its children when nobody asked (nothing)."""


class ForkRunner:
    """Runs jobs in forked, niced children, one child per round of pending jobs.

    With a `pace` (pacing.py) one round runs at a time (`max_children` is then 1), and the
    dispatcher rests after each child has ended before it forks the next: the
    recomputers' runner.
    """

    def __init__(
        self,
        *,
        max_children: int = 2,
        niceness: int = 10,
        gather_s: float = 0.002,
        name: str = "compute",
        pace: Pace | None = None,
        cpus: frozenset[int] | None = None,
        on_child: Callable[[bool], None] | None = None,
    ) -> None:
        if not hasattr(os, "fork"):
            raise MeshlensError("ForkRunner needs os.fork(); use ThreadRunner on this platform")
        if max_children < 1:
            raise ValueError("max_children must be at least 1")
        self.name = name
        self._pace = pace or Pace()
        # A paced child's rest must keep the next round out, or rounds would overlap.
        self._max_children = 1 if pace is not None else max_children
        self._niceness = niceness
        self._cpus = cpus  # the children's CPUs (None: the forking thread's)
        # Told True just before each fork and False once that child is reaped (or the fork
        # failed): the server keeps its HTTP threads off the children's CPUs meanwhile.
        self._on_child = on_child or _no_child_watch
        # Jobs submitted within this window of each other share a fork (one round).
        self._gather_s = gather_s
        self._cond = threading.Condition()
        self._pending: list[tuple[Future[Any], Callable[[], Any]]] = []
        self._active: dict[int, _Round] = {}
        self._threads: set[threading.Thread] = set()
        self._dispatcher: threading.Thread | None = None
        self._stopping = False
        self._forks = self._returned = self._raised = self._lost = 0
        self._cpu_s = 0.0  # CPU time of every child that has ended
        self._last_cpu_s = 0.0  # CPU time of the last round's child, and when it ended
        self._last_end = time.monotonic()

    def submit(self, job: Callable[[], R]) -> Future[R]:
        """Queue `job` for the next round; the future resolves when the child sends it back."""
        return self.submit_many([job])[0]

    def submit_many(self, jobs: Sequence[Callable[[], R]]) -> list[Future[R]]:
        """Queue several jobs at once: they are guaranteed to share one round."""
        futures: list[Future[R]] = [Future() for _ in jobs]
        with self._cond:
            if self._stopping:
                for future in futures:
                    future.set_exception(RunnerStoppedError(self.name))
                return futures
            self._pending.extend(zip(futures, jobs, strict=True))
            if self._dispatcher is None:
                self._dispatcher = threading.Thread(
                    target=self._dispatch, name=f"{self.name}-dispatch", daemon=True
                )
                self._dispatcher.start()
            self._cond.notify_all()
        return futures

    def stats(self) -> ForkRunnerStats:
        """A consistent copy of the counters."""
        with self._cond:
            return ForkRunnerStats(
                forks=self._forks,
                jobs_returned=self._returned,
                jobs_raised=self._raised,
                children_lost=self._lost,
                active_children=len(self._active),
                pending=len(self._pending),
                cpu_s=self._cpu_s,
            )

    def stop(self, timeout_s: float = 5.0) -> None:
        """Cancel pending jobs, kill and reap the children, fail their jobs; safe twice."""
        with self._cond:
            self._stopping = True
            pending, self._pending = self._pending, []
            pids = list(self._active)
            threads = [*self._threads, *([self._dispatcher] if self._dispatcher else [])]
            self._cond.notify_all()
        for future, _ in pending:
            future.cancel()
        for pid in pids:
            self._kill(pid)
        deadline = time.monotonic() + timeout_s
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    @staticmethod
    def _kill(pid: int) -> None:
        with contextlib.suppress(ProcessLookupError):  # already gone; its collector reaps it
            os.kill(pid, signal.SIGKILL)

    def _next_round(self) -> list[tuple[Future[Any], Callable[[], Any]]] | None:
        """Wait for work and a free child slot; return the round, or None when stopping."""
        with self._cond:
            while not self._stopping and (
                not self._pending or len(self._active) >= self._max_children
            ):
                self._cond.wait()
            # Paced: the last round's child is gone, and the next waits out its rest here,
            # in the parent, so no child shares the server's pages while nothing computes.
            self._pace.rest(self._last_cpu_s, self._stopped_within, since=self._last_end)
            deadline = time.monotonic() + self._gather_s
            while not self._stopping and (left := deadline - time.monotonic()) > 0:
                self._cond.wait(left)
            if self._stopping:
                return None
            batch, self._pending = self._pending, []
        return [(f, job) for f, job in batch if f.set_running_or_notify_cancel()]

    def _stopped_within(self, seconds: float) -> bool:
        """Wait on the condition (held) up to `seconds`; True once the runner is stopping."""
        self._cond.wait(seconds)
        return self._stopping

    def _dispatch(self) -> None:
        while (batch := self._next_round()) is not None:
            if batch:
                try:
                    self._launch(batch)
                except Exception as exc:  # fork failed (EAGAIN, ENOMEM): fail the round, go on
                    logger.exception("compute runner %s: could not start a child", self.name)
                    for future, _ in batch:
                        future.set_exception(exc)

    def _launch(self, batch: list[tuple[Future[Any], Callable[[], Any]]]) -> None:
        read_fd, write_fd = os.pipe()
        parent_pid = os.getpid()
        with self._cond:
            # A round whose collector has closed its fd but not yet left _active may list
            # a number os.pipe() just reused for this round: the child must not close its
            # own write end (it would die with EBADF before sending anything).
            others = [rnd.fd for rnd in self._active.values() if rnd.fd != write_fd]
        self._on_child(True)
        try:
            pid = child.fork()
        except BaseException:
            os.close(read_fd)
            os.close(write_fd)
            self._on_child(False)
            raise
        if pid == 0:  # the child: never returns
            jobs = [job for _, job in batch]
            _child_main(
                write_fd, [read_fd, *others], jobs,
                niceness=self._niceness, cpus=self._cpus, parent_pid=parent_pid,
            )  # fmt: skip
        os.close(write_fd)
        rnd = _Round(pid=pid, fd=read_fd, futures=[f for f, _ in batch])
        collector = threading.Thread(
            target=self._collect, args=(rnd,), name=f"{self.name}-round-{pid}", daemon=True
        )
        with self._cond:
            self._forks += 1
            self._active[pid] = rnd
            self._threads.add(collector)
            # Started under the lock so stop() never joins a thread not yet started.
            collector.start()
            stopping = self._stopping
        if stopping:  # stop() ran while we forked: this child must not outlive it
            self._kill(pid)

    def _collect(self, rnd: _Round) -> None:
        done = 0
        try:
            while done < len(rnd.futures):
                header = child.read_exact(rnd.fd, child.HEADER.size)
                payload = (
                    None
                    if header is None
                    else child.read_exact(rnd.fd, child.HEADER.unpack(header)[1])
                )
                if header is None or payload is None:
                    break
                self._resolve(rnd.futures[done], child.HEADER.unpack(header)[0], payload, rnd.pid)
                done += 1
        except Exception:  # a bug here must not leave futures hanging: kill, then fail them
            logger.exception("compute runner %s: reading child %d failed", self.name, rnd.pid)
            self._kill(rnd.pid)
        finally:
            os.close(rnd.fd)
            _, status, usage = os.wait4(rnd.pid, 0)
            self._on_child(False)
            self._finish(rnd, done, status, usage.ru_utime + usage.ru_stime)
            # This thread's arena held the round's payloads, and the results they replace
            # are freed by now or by the next round: give those pages back (heap.py).
            return_freed_memory()

    def _resolve(self, future: Future[Any], kind: int, payload: bytearray, pid: int) -> None:
        child.settle(future, kind, payload, pid, self._count)

    def _count(self, kind: int) -> None:
        with self._cond:
            self._returned += kind == child.RETURNED
            self._raised += kind == child.RAISED

    def _finish(self, rnd: _Round, done: int, status: int, cpu_s: float) -> None:
        with self._cond:
            self._active.pop(rnd.pid, None)
            self._last_cpu_s, self._last_end = cpu_s, time.monotonic()
            self._cpu_s += cpu_s
            self._threads.discard(threading.current_thread())
            stopping = self._stopping
            lost = done < len(rnd.futures) and not stopping
            self._lost += lost
            self._cond.notify_all()
        if lost:
            logger.error("compute child %d %s", rnd.pid, child.describe(status))
        for index in range(done, len(rnd.futures)):
            if stopping:
                rnd.futures[index].set_exception(RunnerStoppedError(self.name))
            else:
                error = child.ChildLostError(
                    rnd.pid, child.describe(status), index, len(rnd.futures)
                )
                rnd.futures[index].set_exception(error)
