"""What a recomputer reports: a copy of its counters, and its rate-limited failure log."""

from __future__ import annotations

import logging
from dataclasses import dataclass

logger = logging.getLogger("meshlens.recomputer")


@dataclass(frozen=True, slots=True)
class RecomputerStats:
    """A consistent copy of one recomputer's counters, for /-/recomputers and /metrics."""

    name: str
    interval_s: float
    runs: int  # computes that returned (published or kept)
    skipped: int  # ticks skipped because the generation had not moved
    failures: int
    consecutive_failures: int
    overruns: int  # computes that took longer than the interval
    last_error: str | None
    last_duration_s: float | None
    last_success_ms: int | None
    snapshot_age_s: float | None  # since the published snapshot's compute started
    unverified_s: float | None  # since the snapshot was last known current
    stale: bool  # unverified for longer than max_staleness_s
    in_flight: bool
    next_due_in_s: float  # until the next scheduled attempt (<= 0: due now)
    generation: int | None  # of the published snapshot


class FailureLog:
    """Logs a failure's traceback at most once per period and counts the ones it held back."""

    def __init__(self, name: str, every_s: float) -> None:
        self._name = name
        self._every_s = every_s
        self._last_s: float | None = None
        self._held = 0

    def failed(self, exc: BaseException, now_s: float, consecutive: int) -> None:
        """Log this failure unless one was logged less than a period ago."""
        if self._last_s is not None and now_s - self._last_s < self._every_s:
            self._held += 1
            return
        logger.error(
            "recompute %s failed (%d in a row, %d similar not logged)",
            self._name,
            consecutive,
            self._held,
            exc_info=exc,
        )
        self._last_s = now_s
        self._held = 0

    def recovered(self, after: int) -> None:
        """Say that computes succeed again."""
        logger.warning("recompute %s recovered after %d failures", self._name, after)
        self._last_s = None
        self._held = 0
