"""Pacing: background computes take at most a set share of one CPU.

On a busy 2-core machine, a compute that runs whenever a core has a free moment still
slows serving, even at the lowest priority (SCHED_IDLE), and the cost grows with how
much of the time computes run (docs/benchmarks.md, "Serving"). So a runner that is paced
rests after its work (a job, or a fork runner's round) for as long as that work's CPU time
makes the share come out right: 200 ms of CPU at share 0.1 is followed by 1.8 s in which
that runner starts nothing. Results are handed back before the rest, so pacing spaces
computes out; it never delays a result that is ready.

The share lives in a page of shared memory, so the long-lived replica child (which
copies everything else) reads the share of the moment, and a rest reads it again every
RECHECK_S: the server paces its computes only while reads keep it busy and lets them run
freely otherwise.
"""

from __future__ import annotations

import mmap
import struct
import time
from collections.abc import Callable

_SHARE = struct.Struct("d")
RECHECK_S = 0.25  # a rest reads the share again this often, so a change applies mid-rest


class Pace:
    """The share of one CPU a runner's jobs may average; changeable while they run.

    A share of 1 means no rest at all. Children forked after the Pace was made see every
    later change (the value is in a shared anonymous mapping).
    """

    def __init__(self, share: float = 1.0) -> None:
        self._cell = mmap.mmap(-1, _SHARE.size)  # MAP_SHARED | MAP_ANONYMOUS
        self.share = share

    @property
    def share(self) -> float:
        """The share now in force."""
        value: float = _SHARE.unpack_from(self._cell)[0]
        return value

    @share.setter
    def share(self, value: float) -> None:
        _SHARE.pack_into(self._cell, 0, _checked(value))

    def rest_after(self, cpu_s: float) -> float:
        """Seconds to rest after a job that used `cpu_s` of CPU time, at today's share."""
        return rest_for(cpu_s, self.share)

    def rest(self, cpu_s: float, wait: Callable[[float], bool], since: float | None = None) -> None:
        """Rest after a job that used `cpu_s` of CPU time, re-reading the share as it goes.

        The rest counts from `since` (a `time.monotonic()`; default now). `wait(s)` waits
        up to `s` seconds and returns True to end the rest at once (the runner is
        stopping); a share raised meanwhile shortens the rest within RECHECK_S.
        """
        start = time.monotonic() if since is None else since
        while (left := start + self.rest_after(cpu_s) - time.monotonic()) > 0:
            if wait(min(left, RECHECK_S)):
                return


def sleep(seconds: float) -> bool:
    """A `Pace.rest` wait for a process with nothing else to wait for: never cut short."""
    time.sleep(seconds)
    return False


def rest_for(cpu_s: float, share: float) -> float:
    """Seconds of rest that make `cpu_s` of CPU time come to `share` of the whole."""
    if share >= 1.0 or cpu_s <= 0.0:
        return 0.0
    return cpu_s * (1.0 / share - 1.0)


def _checked(share: float) -> float:
    if not 0.0 < share <= 1.0:
        raise ValueError(f"a compute CPU share must be in (0, 1], not {share!r}")
    return float(share)
