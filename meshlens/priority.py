"""Lower the calling thread's CPU priority: background threads yield the CPU to reads.

Linux schedules each thread as a task of its own, so a thread's niceness is its own and
is inherited by the threads and processes it starts. Raising it again needs privileges
an unprivileged server does not have, so it is only ever lowered.
"""

from __future__ import annotations

import contextlib
import os
import threading


def lower_thread_priority(niceness: int) -> None:
    """Add `niceness` to the calling thread's (at most 19); where not possible, do nothing."""
    if niceness <= 0:
        return
    # Not Linux, or not permitted: the thread runs at its normal priority.
    with contextlib.suppress(AttributeError, OSError):
        thread = threading.get_native_id()
        current = os.getpriority(os.PRIO_PROCESS, thread)
        os.setpriority(os.PRIO_PROCESS, thread, min(19, current + niceness))


def thread_niceness() -> int:
    """The calling thread's niceness (0 where it cannot be read)."""
    try:
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    except (AttributeError, OSError):
        return 0


def lower_thread_priority_to(niceness: int) -> None:
    """Make the calling thread's niceness `niceness` (at most 19), if that lowers it."""
    lower_thread_priority(min(19, niceness) - thread_niceness())
