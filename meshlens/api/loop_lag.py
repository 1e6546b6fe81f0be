"""How late the event loop wakes up: /api/health's `eventLoop` block, measured honestly.

A task sleeps for a fixed period and records how much later than asked it woke; that
delay is what every request on the loop waited too (api-resources §2 fills the same
block from Go's GC pauses).
"""

from __future__ import annotations

import asyncio
import collections
import time

from meshlens.analytics.stats import round1

SAMPLES = 256  # api-resources §2: percentiles over the last 256 samples


def percentile(sorted_values: list[float], p: float) -> float:
    """Element int(n·p) of a sorted list, clamped to the last (api-resources §2)."""
    if not sorted_values:
        return 0.0
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * p))]


class LoopLag:
    """Samples the loop's wake-up delay every `period_s` while `run()` is awaited."""

    def __init__(self, period_s: float = 0.5) -> None:
        self._period_s = period_s
        self._lags_ms: collections.deque[float] = collections.deque(maxlen=SAMPLES)

    async def run(self) -> None:
        """Sample forever (cancel the task to stop)."""
        while True:
            asked = time.perf_counter()
            await asyncio.sleep(self._period_s)
            self.add(max(0.0, (time.perf_counter() - asked - self._period_s) * 1000.0))

    def add(self, lag_ms: float) -> None:
        """Record one sample."""
        self._lags_ms.append(lag_ms)

    def summary(self) -> dict[str, float]:
        """currentLagMs, maxLagMs and percentiles, rounded to 1 decimal."""
        values = list(self._lags_ms)
        ordered = sorted(values)
        out = {
            "currentLagMs": values[-1] if values else 0.0,
            "maxLagMs": ordered[-1] if ordered else 0.0,
            "p50Ms": percentile(ordered, 0.50),
            "p95Ms": percentile(ordered, 0.95),
            "p99Ms": percentile(ordered, 0.99),
        }
        return {key: round1(value) for key, value in out.items()}
