"""Which CPUs serve reads and which run background work.

On a machine busy serving reads, what slows them most is a compute child streaming the
store's columns on the CPU the event loop was just on: the loop comes back to caches the
child emptied. Keeping the two apart is worth more than any priority (docs/benchmarks.md,
"The serving CPU"). So, with two CPUs or more: compute children and ingest's threads
always run on every CPU but one, and while reads keep the loop busy the loop's thread runs
on that one. When reads calm down the loop may run anywhere again.

granian's threads (its Rust runtime: sockets, HTTP parsing) run anywhere, but while a
compute child lives they keep to the serving CPU as well: a CPU busy with a child, even
at SCHED_IDLE, must be interrupted for every wake-up of a thread that lands on it, where
an idle one is woken for free (docs/architecture.md, "The serving CPU"). Python does not
start them, so they are found as the process's threads that Python's `threading` does
not know (`native_threads`).

Linux only (`sched_setaffinity`); elsewhere, or when the OS refuses, nothing moves.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterable, Set
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CpuSplit:
    """The CPU the busy event loop keeps, and the CPUs background work runs on."""

    serving: frozenset[int]
    background: frozenset[int]

    @staticmethod
    def of(allowed: Set[int]) -> CpuSplit | None:
        """The lowest allowed CPU for serving, the rest for background; None under two."""
        if len(allowed) < 2:
            return None
        serving = min(allowed)
        return CpuSplit(frozenset({serving}), frozenset(allowed) - {serving})

    @property
    def allowed(self) -> frozenset[int]:
        """Every CPU of the split: where the calm loop may run."""
        return self.serving | self.background


def allowed_cpus() -> frozenset[int]:
    """The CPUs this process may run on (empty where the OS does not say)."""
    try:
        return frozenset(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return frozenset()


def move_thread(cpus: Set[int] | None) -> None:
    """Run the calling thread, and what it starts from now on, only on `cpus`.

    None leaves it where it is; so does an OS without CPU affinity or one that refuses.
    """
    move_threads((0,), cpus)  # thread id 0 is the caller alone: Linux keeps one per thread


def native_threads() -> frozenset[int]:
    """Kernel ids of this process's threads not started by Python (Linux; else empty)."""
    try:
        listed = os.listdir("/proc/self/task")
    except OSError:
        return frozenset()
    python = {thread.native_id for thread in threading.enumerate()}
    return frozenset(int(tid) for tid in listed) - python


def move_threads(tids: Iterable[int], cpus: Set[int] | None) -> None:
    """Run the threads `tids` of this process only on `cpus` (None: leave them).

    A thread that has ended meanwhile, or an OS that refuses, leaves that one alone.
    """
    if not cpus:
        return
    for tid in tids:
        with contextlib.suppress(AttributeError, OSError):
            os.sched_setaffinity(tid, cpus)
