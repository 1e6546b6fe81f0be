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
process keeps the CPU when both want it.
If the parent dies, the child is killed with it (Linux's parent-death signal; elsewhere,
its next write fails with EPIPE and it exits), so a child resting between jobs (pacing)
never holds the parent's socket or database lock after the parent is gone.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import logging
import os
import pickle
import signal
import struct
import threading
import time
import traceback
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, NoReturn, TypeVar

from meshlens.errors import MeshlensError
from meshlens.recomputer.pacing import Pace
from meshlens.recomputer.runners import RunnerStoppedError

logger = logging.getLogger("meshlens.recomputer")

R = TypeVar("R")
_HEADER = struct.Struct("!BQ")  # frame kind, payload length
_RETURNED, _RAISED = 0, 1


class ChildComputeError(MeshlensError):
    """A job raised in the compute child; carries the child's type name and traceback."""

    def __init__(self, exc_type: str, detail: str, child_traceback: str, pid: int) -> None:
        super().__init__(f"{exc_type}: {detail} (in compute child {pid})")
        self.exc_type = exc_type
        self.detail = detail
        self.child_traceback = child_traceback
        self.pid = pid


class ChildLostError(MeshlensError):
    """The compute child died before finishing this job (killed, crashed, out of memory)."""

    def __init__(self, pid: int, how: str, job: int, jobs: int) -> None:
        super().__init__(f"compute child {pid} {how} before finishing job {job + 1} of {jobs}")
        self.pid = pid
        self.how = how


class _ChildTracebackError(Exception):
    """The child's formatted traceback, chained as __cause__ so logs show where it failed."""

    def __str__(self) -> str:
        return "\n" + str(self.args[0])


def settle(
    future: Future[Any], kind: int, payload: bytearray, pid: int, count: Callable[[int], None]
) -> None:
    """Settle `future` from a child's answer: its value, or the error it raised.

    `count(kind)` runs first (so a waiter woken by the future sees it counted), except
    when the value cannot be unpickled here; the future then holds that error.
    """
    if kind == _RETURNED:
        try:
            value = pickle.loads(payload)
        except Exception as exc:  # e.g. the result's class cannot be imported here
            future.set_exception(exc)
            return
        count(_RETURNED)
        future.set_result(value)
        return
    exc_type, detail, child_traceback = pickle.loads(payload)
    error = ChildComputeError(exc_type, detail, child_traceback, pid)
    error.__cause__ = _ChildTracebackError(child_traceback)
    count(_RAISED)
    future.set_exception(error)


@dataclass(frozen=True, slots=True)
class ForkRunnerStats:
    """Counters of one ForkRunner."""

    forks: int
    jobs_returned: int
    jobs_raised: int
    children_lost: int
    active_children: int
    pending: int


@dataclass(slots=True)
class _Round:
    pid: int
    fd: int
    futures: list[Future[Any]]


def _fork() -> int:
    with warnings.catch_warnings():
        # Python >= 3.12 warns that fork() in a multi-threaded process may deadlock the
        # child, because another thread may hold a lock the child inherits locked. Our
        # child takes no lock a parent thread could hold: it runs the round's jobs on data
        # nobody mutates, writes to its own pipe and leaves with os._exit (module docstring).
        # catch_warnings is process-global: for this instant another thread's warning
        # filters are the ones saved here, which is harmless.
        warnings.filterwarnings(
            "ignore",
            message=r".*multi-threaded, use of fork\(\) may lead to deadlocks",
            category=DeprecationWarning,
        )
        return os.fork()


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _schedule_idle() -> None:
    """Run only on CPU time nothing else wants (Linux SCHED_IDLE), where the OS offers it.

    Niceness alone still gives a CPU-bound child a share of a busy core; SCHED_IDLE gives
    it only what the serving process and the machine leave over.
    """
    policy = getattr(os, "SCHED_IDLE", None)
    if policy is None:
        return
    with contextlib.suppress(OSError):
        os.sched_setscheduler(0, policy, os.sched_param(0))


def _glibc_mallopt() -> Callable[[int, int], int] | None:
    """glibc's mallopt, looked up here in the parent (a child must not dlopen: loader lock)."""
    try:
        libc = ctypes.CDLL(None)
        mallopt: Callable[[int, int], int] = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl, macOS): children keep the defaults
        return None
    return mallopt


_MALLOPT = _glibc_mallopt()
_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3


def _libc_prctl() -> Callable[[int, int], int] | None:
    """Linux's prctl, looked up here in the parent (a child must not dlopen)."""
    try:
        prctl: Callable[[int, int], int] = ctypes.CDLL(None).prctl
    except (OSError, AttributeError):  # not Linux: a child outlives a killed parent
        return None
    return prctl


_PRCTL = _libc_prctl()
_PR_SET_PDEATHSIG = 1


def die_with_parent(parent_pid: int) -> None:
    """Be killed when the parent dies, even by SIGKILL (Linux; elsewhere nothing).

    A child that rests between jobs (pacing) may outlive a killed parent by seconds, and
    holds what it inherited meanwhile: the listening socket and the database's lock, so
    a restarted server would be refused. The signal comes when the forking thread ends.
    """
    if _PRCTL is None:
        return
    _PRCTL(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent_pid:  # the parent died before the call above
        os._exit(1)


def _keep_freed_memory() -> None:
    """Let the child reuse the memory its jobs free instead of faulting in fresh pages.

    A compute allocates ~100 MB of temporaries at the staging profile; with glibc's
    defaults large ones are mmapped and unmapped each time, and the heap top is trimmed,
    so every allocation first-touches new pages (~25k page faults, a third of a
    distance compute in a child). The child is short-lived: it may keep what it frees.
    """
    if _MALLOPT is None:
        return
    _MALLOPT(_M_MMAP_THRESHOLD, 32 << 20)  # glibc's largest; bigger arrays still mmap
    _MALLOPT(_M_TRIM_THRESHOLD, 1 << 30)
    _MALLOPT(_M_TOP_PAD, 64 << 20)


def _child_main(
    fd: int,
    close_fds: Sequence[int],
    jobs: Sequence[Callable[[], object]],
    *,
    niceness: int,
    rest_after: Callable[[float], float],
    parent_pid: int,
) -> NoReturn:
    """Run the round's jobs in order, stream each result back, then leave without cleanup.

    After each result the child rests as its runner's pace asks (pacing.py); the runner
    starts no round while one is alive, so the rest after the last job spaces the rounds.
    """
    status = 0
    try:
        die_with_parent(parent_pid)
        gc.disable()
        _keep_freed_memory()
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        for other in close_fds:
            # Another round's collector may have closed its end since we looked: harmless.
            with contextlib.suppress(OSError):
                os.close(other)
        if niceness:
            os.nice(niceness)
            _schedule_idle()
        for job in jobs:
            started = time.process_time()
            try:
                kind, payload = _RETURNED, pickle.dumps(job(), protocol=pickle.HIGHEST_PROTOCOL)
            except Exception as exc:  # sent back to the parent, which raises ChildComputeError
                text = (type(exc).__qualname__, str(exc), traceback.format_exc())
                kind, payload = _RAISED, pickle.dumps(text)
            _write_all(fd, _HEADER.pack(kind, len(payload)) + payload)
            time.sleep(rest_after(time.process_time() - started))
    except BaseException:  # the parent went away (EPIPE) or the process is being torn down
        status = 1
    finally:
        os._exit(status)


def _read_exact(fd: int, size: int) -> bytearray | None:
    """Read exactly `size` bytes, or None at end of file."""
    buffer = bytearray(size)
    view = memoryview(buffer)
    got = 0
    while got < size:
        n = os.readv(fd, [view[got:]])
        if n == 0:
            return None
        got += n
    return buffer


def _describe(status: int) -> str:
    code = os.waitstatus_to_exitcode(status)
    if code < 0:
        return f"was killed by {signal.Signals(-code).name}"
    return f"exited with status {code}"


class ForkRunner:
    """Runs jobs in forked, niced children, one child per round of pending jobs.

    With a `pace` (pacing.py) each child rests after each job, and no new round starts
    while a child is alive (`max_children` is then 1): the recomputers' runner.
    """

    def __init__(
        self,
        *,
        max_children: int = 2,
        niceness: int = 10,
        gather_s: float = 0.002,
        name: str = "compute",
        pace: Pace | None = None,
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
        # Jobs submitted within this window of each other share a fork (one round).
        self._gather_s = gather_s
        self._cond = threading.Condition()
        self._pending: list[tuple[Future[Any], Callable[[], Any]]] = []
        self._active: dict[int, _Round] = {}
        self._threads: set[threading.Thread] = set()
        self._dispatcher: threading.Thread | None = None
        self._stopping = False
        self._forks = self._returned = self._raised = self._lost = 0

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
            deadline = time.monotonic() + self._gather_s
            while not self._stopping and (left := deadline - time.monotonic()) > 0:
                self._cond.wait(left)
            if self._stopping:
                return None
            batch, self._pending = self._pending, []
        return [(f, job) for f, job in batch if f.set_running_or_notify_cancel()]

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
        try:
            pid = _fork()
        except BaseException:
            os.close(read_fd)
            os.close(write_fd)
            raise
        if pid == 0:  # the child: never returns
            jobs = [job for _, job in batch]
            _child_main(
                write_fd, [read_fd, *others], jobs, niceness=self._niceness,
                rest_after=self._pace.rest_after, parent_pid=parent_pid,
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
                header = _read_exact(rnd.fd, _HEADER.size)
                payload = None if header is None else _read_exact(rnd.fd, _HEADER.unpack(header)[1])
                if header is None or payload is None:
                    break
                self._resolve(rnd.futures[done], _HEADER.unpack(header)[0], payload, rnd.pid)
                done += 1
        except Exception:  # a bug here must not leave futures hanging: kill, then fail them
            logger.exception("compute runner %s: reading child %d failed", self.name, rnd.pid)
            self._kill(rnd.pid)
        finally:
            os.close(rnd.fd)
            _, status = os.waitpid(rnd.pid, 0)
            self._finish(rnd, done, status)

    def _resolve(self, future: Future[Any], kind: int, payload: bytearray, pid: int) -> None:
        settle(future, kind, payload, pid, self._count)

    def _count(self, kind: int) -> None:
        with self._cond:
            self._returned += kind == _RETURNED
            self._raised += kind == _RAISED

    def _finish(self, rnd: _Round, done: int, status: int) -> None:
        with self._cond:
            self._active.pop(rnd.pid, None)
            self._threads.discard(threading.current_thread())
            stopping = self._stopping
            lost = done < len(rnd.futures) and not stopping
            self._lost += lost
            self._cond.notify_all()
        if lost:
            logger.error("compute child %d %s", rnd.pid, _describe(status))
        for index in range(done, len(rnd.futures)):
            if stopping:
                rnd.futures[index].set_exception(RunnerStoppedError(self.name))
            else:
                error = ChildLostError(rnd.pid, _describe(status), index, len(rnd.futures))
                rnd.futures[index].set_exception(error)
