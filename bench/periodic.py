"""Benchmark loads that do one thing at a steady rate, on a thread of their own."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Self


def run_every(
    period_s: float,
    tick: Callable[[], object],
    stop: threading.Event,
    clock: Callable[[], float] = time.perf_counter,
) -> int:
    """Call `tick` at once, then at the start of every period, until `stop`; how many ran.

    The periods run from the start, so a tick's own time does not slow the rate; a tick
    that overran its period is followed at once by one more, not by every one it missed.
    """
    ticks, due = 0, clock()
    while True:
        tick()
        ticks += 1
        due = max(due + period_s, clock())
        if stop.wait(due - clock()):
            return ticks


class Periodic:
    """While entered, calls `tick` at once and then every `period_s` on a thread of its own."""

    def __init__(self, period_s: float, name: str) -> None:
        self._period_s = period_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name)
        self.ticks = 0  # how many ran, once left

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        self.ticks = run_every(self._period_s, self.tick, self._stop)

    def tick(self) -> None:
        """One period's work."""
        raise NotImplementedError
