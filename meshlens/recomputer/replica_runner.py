"""Run computes in one long-lived forked child that keeps a replica of the state current.

`ForkRunner` forks a child per round. Forking the serving process costs it 4 ms idle and
10-50 ms under load (the page tables of its ~300 MB heap are copied while the forking
thread holds the GIL), then copy-on-write faults on every page it writes while the child
lives: that was most of what recomputing cost read latency (docs/benchmarks.md,
"Serving"). A `ReplicaRunner` forks once. The child inherits the state as it was at the
fork, and from then on the parent sends it every change (a *delta*, e.g. a store batch)
in order, which the child applies to its own copy with `apply`. A job is a name and an
argument: the child runs `handlers[name](arg)` on its copy, after every delta sent before
the job, and sends the result back (length-prefixed pickle, as ForkRunner does).

Keeping the replica exact. The parent's single writer calls `send(delta)` for each change
while holding `lock`, and forks happen under that same lock, so a delta is either in the
forked image or sent after it, never both or neither. The child releases its copy of the
lock after the fork. When the state is replaced wholesale (a store prune), `retire()` lets
the current child finish the jobs it has and go; the next job forks a new one.

The child: freezes the inherited objects out of the garbage collector (it runs for a long
time, so it keeps collecting its own garbage, but never touches, and so copies, the
parent's pages for that), restores default SIGINT/SIGTERM, detaches the event loop's
wakeup fd, closes every descriptor it inherited but its two pipes (the database's lock
among them), lowers its priority (nice, SCHED_IDLE), moves to the runner's `cpus` (the
background CPUs of meshlens/cpus.py) and serves messages until its inbox closes, resting
after each job as long as its pace asks (pacing.py; the share is in shared memory, so the
long-lived child sees every change).
Handlers follow ForkRunner's fork-safety rules: no logging, sockets, SQLite, asyncio or
threads. If the child dies, its jobs fail with `ChildLostError` and the next
job forks a new one.
"""

from __future__ import annotations

import collections
import contextlib
import gc
import logging
import os
import pickle
import queue
import select
import signal
import struct
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, NoReturn

from meshlens.cpus import move_thread
from meshlens.recomputer import pacing
from meshlens.recomputer.child import (
    RAISED,
    RETURNED,
    ChildLostError,
    describe,
    fork,
    keep_freed_memory,
    read_exact,
    schedule_idle,
    settle,
    write_all,
)
from meshlens.recomputer.pacing import Pace
from meshlens.recomputer.runners import RunnerStoppedError

logger = logging.getLogger("meshlens.recomputer")

_HEADER = struct.Struct("!BQ")  # message kind, payload length
_DELTA, _JOB = 0, 1  # parent -> child


@dataclass(frozen=True, slots=True)
class ReplicaRunnerStats:
    """Counters of one ReplicaRunner."""

    forks: int
    deltas_sent: int
    jobs_returned: int
    jobs_raised: int
    children_lost: int
    in_flight: int


@dataclass(slots=True)
class _Child:
    pid: int
    to_fd: int
    from_fd: int
    # A Queue, not a SimpleQueue: join() says when every message is in the pipe (tests).
    inbox: queue.Queue[bytes | None] = field(default_factory=queue.Queue)
    futures: collections.deque[Future[Any]] = field(default_factory=collections.deque)
    alive: bool = True


def _close_all_but(*keep: int) -> None:
    """Close every inherited descriptor but stdio and `keep`.

    The child outlives rounds, so it must not hold what the parent owns: the database's
    writer lock (a flock, held while any copy of its descriptor is open: a restarted
    server would be refused while an orphaned child still computes), the listening
    socket, broker connections, other children's pipes.
    """
    low = 3
    for fd in sorted(keep):
        if fd >= low:
            os.closerange(low, fd)
            low = fd + 1
    os.closerange(low, os.sysconf("SC_OPEN_MAX"))


def _read_waiting(fd: int) -> list[tuple[int, bytearray]] | None:
    """Block for one message, then take every message already waiting; None at the end."""
    messages: list[tuple[int, bytearray]] = []
    while not messages or select.select([fd], [], [], 0)[0]:
        header = read_exact(fd, _HEADER.size)
        if header is None:
            return messages or None
        kind, size = _HEADER.unpack(header)
        payload = read_exact(fd, size)
        if payload is None:
            return messages or None
        messages.append((kind, payload))
    return messages


def _message(kind: int, value: object) -> bytes:
    payload = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    return _HEADER.pack(kind, len(payload)) + payload


class ReplicaRunner:
    """Runs named jobs in one long-lived, niced child that applies every delta it is sent."""

    def __init__(
        self,
        handlers: Mapping[str, Callable[[Any], Any]],
        *,
        apply: Callable[[Any], object],
        lock: threading.Lock | None = None,
        niceness: int = 10,
        name: str = "replica",
        pace: Pace | None = None,
        cpus: frozenset[int] | None = None,
    ) -> None:
        if not hasattr(os, "fork"):
            raise RuntimeError("ReplicaRunner needs os.fork(); use ThreadRunner on this platform")
        self.name = name
        self._handlers = dict(handlers)
        self._apply = apply
        # Held by the state's writer around each change and its send(); forks take it too.
        self._state_lock = lock if lock is not None else threading.Lock()
        self._niceness = niceness
        self._cpus = cpus  # the child's CPUs (None: the forking thread's)
        self._pace = pace or Pace()
        self._lock = threading.Lock()
        self._child: _Child | None = None
        self._children: dict[int, _Child] = {}
        self._threads: set[threading.Thread] = set()
        self._stopping = False
        self._forks = self._deltas = self._returned = self._raised = self._lost = 0

    # -- the parent's side -------------------------------------------------------------

    def send(self, delta: object) -> None:
        """Queue a change for the child (call with `lock` held, in the order applied)."""
        with self._lock:
            child = self._child
            if child is None or self._stopping:
                return  # the next fork's image will hold it
            self._deltas += 1
        child.inbox.put(_message(_DELTA, delta))

    def retire(self) -> None:
        """The state was replaced wholesale: the child finishes its jobs and leaves."""
        with self._lock:
            child, self._child = self._child, None
        if child is not None:
            child.inbox.put(None)

    def submit(self, name: str, arg: object) -> Future[Any]:
        """Run `handlers[name](arg)` in the child, after every delta sent so far."""
        if name not in self._handlers:
            raise KeyError(name)
        message = _message(_JOB, (name, arg))
        future: Future[Any] = Future()
        future.set_running_or_notify_cancel()
        while True:
            with self._lock:
                if self._stopping:
                    future.set_exception(RunnerStoppedError(self.name))
                    return future
                child = self._child
                if child is not None and child.alive:
                    child.futures.append(future)
                    child.inbox.put(message)
                    return future
            self._spawn()

    def stats(self) -> ReplicaRunnerStats:
        """A consistent copy of the counters."""
        with self._lock:
            return ReplicaRunnerStats(
                forks=self._forks,
                deltas_sent=self._deltas,
                jobs_returned=self._returned,
                jobs_raised=self._raised,
                children_lost=self._lost,
                in_flight=sum(len(c.futures) for c in self._children.values()),
            )

    def stop(self, timeout_s: float = 5.0) -> None:
        """Kill the children and fail their jobs with RunnerStoppedError; safe twice."""
        with self._lock:
            self._stopping = True
            self._child = None
            children = list(self._children.values())
            threads = list(self._threads)
        for child in children:
            child.inbox.put(None)
            with contextlib.suppress(ProcessLookupError):
                os.kill(child.pid, signal.SIGKILL)
        for thread in threads:
            thread.join(timeout_s)

    def _spawn(self) -> None:
        """Fork a child under the state's lock, unless another thread just did."""
        with self._state_lock, self._lock:
            if self._stopping or (self._child is not None and self._child.alive):
                return
            down_r, down_w = os.pipe()
            up_r, up_w = os.pipe()
            try:
                pid = fork()
            except BaseException:
                for fd in (down_r, down_w, up_r, up_w):
                    os.close(fd)
                raise
            if pid == 0:  # the child: never returns
                self._state_lock.release()  # its copy of the writer's lock, held for the fork
                self._become_child()
                self._child_main(down_r, up_w)
            os.close(down_r)
            os.close(up_w)
            child = _Child(pid=pid, to_fd=down_w, from_fd=up_r)
            self._child = self._children[pid] = child
            self._forks += 1
            for target, role in ((self._feed, "feed"), (self._collect, "collect")):
                thread = threading.Thread(
                    target=target, args=(child,), name=f"{self.name}-{role}-{pid}", daemon=True
                )
                self._threads.add(thread)
                thread.start()

    def _feed(self, child: _Child) -> None:
        """Write the child's inbox to its pipe, in order; closing the pipe lets it leave."""
        try:
            while (message := child.inbox.get()) is not None:
                write_all(child.to_fd, message)
                child.inbox.task_done()
        except OSError:  # the child died (EPIPE): its collector reports it
            pass
        finally:
            os.close(child.to_fd)
            with self._lock:
                self._threads.discard(threading.current_thread())

    def _collect(self, child: _Child) -> None:
        """Resolve the child's futures in order as results arrive; reap it at the end."""
        try:
            while True:
                header = read_exact(child.from_fd, _HEADER.size)
                if header is None:
                    break
                kind, size = _HEADER.unpack(header)
                payload = read_exact(child.from_fd, size)
                if payload is None:
                    break
                with self._lock:
                    future = child.futures.popleft()
                self._resolve(future, kind, payload, child.pid)
        except Exception:  # a bug here must not leave futures hanging: kill, then fail them
            logger.exception("compute runner %s: reading child %d failed", self.name, child.pid)
            with contextlib.suppress(ProcessLookupError):
                os.kill(child.pid, signal.SIGKILL)
        finally:
            os.close(child.from_fd)
            _, status = os.waitpid(child.pid, 0)
            self._finish(child, status)

    def _resolve(self, future: Future[Any], kind: int, payload: bytearray, pid: int) -> None:
        settle(future, kind, payload, pid, self._count)

    def _count(self, kind: int) -> None:
        with self._lock:
            self._returned += kind == RETURNED
            self._raised += kind == RAISED

    def _finish(self, child: _Child, status: int) -> None:
        with self._lock:
            child.alive = False
            if self._child is child:
                self._child = None
            self._children.pop(child.pid, None)
            self._threads.discard(threading.current_thread())
            left, stopping = list(child.futures), self._stopping
            child.futures.clear()
            self._lost += bool(left) and not stopping
        child.inbox.put(None)  # its feeder stops too
        if left and not stopping:
            logger.error("compute child %d %s", child.pid, describe(status))
        for index, future in enumerate(left):
            if stopping:
                future.set_exception(RunnerStoppedError(self.name))
            else:
                future.set_exception(ChildLostError(child.pid, describe(status), index, len(left)))

    # -- the child's side --------------------------------------------------------------

    def _become_child(self) -> None:
        """This copy of the runner lives in the child now: it forks and sends nothing."""
        self._lock = threading.Lock()  # the parent's was held for the fork
        self._stopping = True  # send() and submit() are no-ops here (apply may call send)
        self._child = None
        self._children = {}
        self._threads = set()

    def _child_main(self, read_fd: int, write_fd: int) -> NoReturn:
        """Apply deltas and run jobs in arrival order until the inbox closes."""
        status = 0
        try:
            gc.freeze()  # the parent's objects: never scanned here, so never copied for it
            keep_freed_memory()
            signal.set_wakeup_fd(-1)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            _close_all_but(read_fd, write_fd)
            if self._niceness:
                os.nice(self._niceness)
                schedule_idle()
            move_thread(self._cpus)
            while (messages := _read_waiting(read_fd)) is not None:
                # Every delta first, then the jobs, all on one snapshot: the jobs of a round
                # share its memo (resolved hops, graph, clock-skew engine) instead of each
                # starting cold on a snapshot one live batch newer than the last job's.
                for kind, payload in messages:
                    if kind == _DELTA:
                        self._apply(pickle.loads(payload))
                for kind, payload in messages:
                    if kind == _JOB:
                        started = time.process_time()
                        answer = self._run_job(payload)
                        write_all(write_fd, answer)
                        # Deltas sent meanwhile wait in the parent's inbox queue (pacing.py).
                        self._pace.rest(time.process_time() - started, pacing.sleep)
        except BaseException:  # the parent went away (EPIPE), or a delta could not apply
            status = 1
        finally:
            os._exit(status)

    def _run_job(self, payload: bytearray) -> bytes:
        """The framed answer to a job message."""
        try:
            name, arg = pickle.loads(payload)
            result = pickle.dumps(self._handlers[name](arg), protocol=pickle.HIGHEST_PROTOCOL)
            return _HEADER.pack(RETURNED, len(result)) + result
        except Exception as exc:  # sent back to the parent, which raises ChildComputeError
            text = pickle.dumps((type(exc).__qualname__, str(exc), traceback.format_exc()))
            return _HEADER.pack(RAISED, len(text)) + text
