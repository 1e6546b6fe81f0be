"""Whether the API is busy: the share of time its event loop's thread spends on the CPU.

Ingest shares the serving process (and its GIL) with the event loop. Under heavy reads,
every ingest batch takes the GIL from the loop for a few milliseconds; fewer, larger
batches take a quarter of the CPU time that many small ones do (docs/benchmarks.md,
"Serving"), and background computes cost reads in proportion to how much of the time
they run. So while the loop is busy, ingest is told to batch for longer and the
recomputes are paced (recomputer/pacing.py); when reads calm down, both go back to
normal. The share is the loop thread's own CPU time over the wall time of each sampling
period, read on the loop itself.

Busy begins at half the time and ends only below a quarter. Under ingest and computes
the loop gets less of the CPU even while reads keep coming (it waits for the GIL and for
a core), so a single threshold read such moments as calm, unpaced the computes and made
it worse: in one churn phase computes ran paced only 80 % of the time, three rounds
instead of one (docs/benchmarks.md, "Serving").
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

BUSY_SHARE = 0.5  # the loop's thread on the CPU at least half the time
CALM_SHARE = 0.25  # and busy until it is on the CPU less than a quarter of it
PERIOD_S = 0.5


class LoopBusy:
    """Samples the loop thread's CPU share and reports each change of busy/calm."""

    def __init__(
        self,
        on_change: Callable[[bool], None],
        *,
        period_s: float = PERIOD_S,
        busy_share: float = BUSY_SHARE,
        calm_share: float = CALM_SHARE,
        cpu_clock: Callable[[], float] = time.thread_time,
        wall_clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self._on_change = on_change
        self._period_s = period_s
        self._busy_share = busy_share
        self._calm_share = calm_share
        self._cpu = cpu_clock
        self._wall = wall_clock
        self.busy = False
        self.share = 0.0

    async def run(self) -> None:
        """Sample forever on the running loop (cancel the task to stop)."""
        while True:
            cpu, wall = self._cpu(), self._wall()
            await asyncio.sleep(self._period_s)
            self.sample(self._cpu() - cpu, self._wall() - wall)

    def sample(self, cpu_s: float, wall_s: float) -> None:
        """Take one period's CPU and wall time; report when busy/calm changes."""
        self.share = cpu_s / wall_s if wall_s > 0 else 0.0
        busy = self.share >= (self._calm_share if self.busy else self._busy_share)
        if busy != self.busy:
            self.busy = busy
            self._on_change(busy)
