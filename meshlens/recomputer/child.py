"""What a compute child is and does to itself, shared by ForkRunner and ReplicaRunner.

- The frames on a child's result pipe: a header (kind, length) then a pickle; `settle`
  turns one into a future's value or a `ChildComputeError`.
- `fork()`, without Python's warning about forking a threaded process (the rules that make
  it safe are in fork_runner.py's docstring).
- What the child does first: lowest priority (`schedule_idle`), keep freed memory
  (`keep_freed_memory`), die with its parent (`die_with_parent`). The libc functions are
  looked up here, at import, in the parent: a child must not dlopen (the loader's lock).
"""

from __future__ import annotations

# For its at-fork hooks alone (it takes a lock before every fork and releases it after).
# asyncio imports it the first time a loop uses its default executor; if that import ran
# in another thread during one of our forks, the parent would run the new `after` hook
# without its `before` and release a lock that thread held ("RuntimeError: release
# unlocked lock" in `meshlens serve`'s shutdown, seen once in CI). Imported here, before
# any fork, the hooks are always whole.
import concurrent.futures.thread  # noqa: F401
import contextlib
import os
import pickle
import signal
import struct
import warnings
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from meshlens.errors import MeshlensError
from meshlens.heap import libc_function

HEADER = struct.Struct("!BQ")  # frame kind, payload length
RETURNED, RAISED = 0, 1


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
    if kind == RETURNED:
        try:
            value = pickle.loads(payload)
        except Exception as exc:  # e.g. the result's class cannot be imported here
            future.set_exception(exc)
            return
        count(RETURNED)
        future.set_result(value)
        return
    exc_type, detail, child_traceback = pickle.loads(payload)
    error = ChildComputeError(exc_type, detail, child_traceback, pid)
    error.__cause__ = _ChildTracebackError(child_traceback)
    count(RAISED)
    future.set_exception(error)


def fork() -> int:
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


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def schedule_idle() -> None:
    """Run only on CPU time nothing else wants (Linux SCHED_IDLE), where the OS offers it.

    Niceness alone still gives a CPU-bound child a share of a busy core; SCHED_IDLE gives
    it only what the serving process and the machine leave over.
    """
    policy = getattr(os, "SCHED_IDLE", None)
    if policy is None:
        return
    with contextlib.suppress(OSError):
        os.sched_setscheduler(0, policy, os.sched_param(0))


# Looked up here, in the parent: a child must not dlopen (the loader's lock). Without
# glibc (musl, macOS) children keep malloc's defaults; off Linux a child outlives a
# killed parent.
_MALLOPT = libc_function("mallopt")
_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3
_PRCTL = libc_function("prctl")
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


def keep_freed_memory() -> None:
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


def read_exact(fd: int, size: int) -> bytearray | None:
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


def describe(status: int) -> str:
    code = os.waitstatus_to_exitcode(status)
    if code < 0:
        return f"was killed by {signal.Signals(-code).name}"
    return f"exited with status {code}"
