"""Pacing: background computes take at most a set share of one CPU, job by job.

On a busy 2-core machine, a compute that runs whenever a core has a free moment still
slows serving, even at the lowest priority (SCHED_IDLE): an idle-priority child that
spins without pause doubled the p99 of reads under load, one that ran 10 % of the time
raised it by a tenth (docs/benchmarks.md, "Serving"). So a runner that is paced rests
after each job for as long as the job's CPU time makes the share come out right: a job
that took 200 ms of CPU at share 0.1 is followed by 1.8 s in which that runner starts
nothing. Results are handed back before the rest, so pacing spaces computes out; it
never delays a result that is ready.
"""

from __future__ import annotations

import threading


class Pace:
    """The share of one CPU a runner's jobs may average; changeable while it runs.

    A share of 1 means no rest at all. The server starts its recomputers unpaced, so the
    first pass (which lifts the warm-up gate) runs at full speed, then sets the share.
    """

    def __init__(self, share: float = 1.0) -> None:
        self._lock = threading.Lock()
        self._share = _checked(share)

    @property
    def share(self) -> float:
        """The share now in force."""
        with self._lock:
            return self._share

    @share.setter
    def share(self, value: float) -> None:
        checked = _checked(value)
        with self._lock:
            self._share = checked

    def rest_after(self, cpu_s: float) -> float:
        """Seconds to rest after a job that used `cpu_s` of CPU time, at today's share."""
        return rest_for(cpu_s, self.share)


def rest_for(cpu_s: float, share: float) -> float:
    """Seconds of rest that make `cpu_s` of CPU time come to `share` of the whole."""
    if share >= 1.0 or cpu_s <= 0.0:
        return 0.0
    return cpu_s * (1.0 / share - 1.0)


def _checked(share: float) -> float:
    if not 0.0 < share <= 1.0:
        raise ValueError(f"a compute CPU share must be in (0, 1], not {share!r}")
    return float(share)
