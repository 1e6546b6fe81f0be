"""Ingest counters (received, stored, rejected by reason...) and rate-limited rejection logs."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from dataclasses import dataclass

from meshlens.records import Clock, SystemClock

log = logging.getLogger("meshlens.ingest")


@dataclass(frozen=True, slots=True)
class CounterSnapshot:
    """The counters at one moment."""

    received: int
    stored_observations: int
    new_transmissions: int
    duplicates: int
    dropped: int  # lost to a full queue
    rejected: dict[str, int]
    last_message_ms: int | None


class IngestCounters:
    """Thread-safe counters for one source (or the total); cheap to bump from any thread."""

    def __init__(self, name: str, clock: Clock | None = None, *, log_rejected: bool = True) -> None:
        self.name = name
        self._clock = clock or SystemClock()
        self._log_rejected = log_rejected  # False: another process's counters log them
        self._lock = threading.Lock()
        self._received = 0
        self._stored = 0
        self._new_tx = 0
        self._duplicates = 0
        self._dropped = 0
        self._rejected: Counter[str] = Counter()
        self._last_ms: int | None = None
        self._log_window_start = 0.0
        self._logged_in_window: Counter[str] = Counter()

    def received(self, n: int = 1) -> None:
        """Messages taken in."""
        with self._lock:
            self._received += n
            self._last_ms = self._clock.now_ms()

    def stored(self, observations: int, new_transmissions: int, duplicates: int) -> None:
        """Outcome of a written batch."""
        with self._lock:
            self._stored += observations
            self._new_tx += new_transmissions
            self._duplicates += duplicates

    def dropped(self, n: int = 1) -> None:
        """Messages lost because the queue was full (never silent)."""
        with self._lock:
            self._dropped += n

    def rejected(self, reason: str, where: str, detail: str = "") -> None:
        """A message refused for `reason`; logged at most 5 times per reason per minute."""
        now = self._clock.monotonic_s()
        with self._lock:
            self._rejected[reason] += 1
            if now - self._log_window_start >= 60.0:
                self._log_window_start = now
                self._logged_in_window.clear()
            self._logged_in_window[reason] += 1
            should_log = self._logged_in_window[reason] <= 5
        if should_log and self._log_rejected:
            log.warning("rejected (%s) %s%s", reason, where, f": {detail}" if detail else "")

    def snapshot(self) -> CounterSnapshot:
        """A consistent copy of the counters."""
        with self._lock:
            return CounterSnapshot(
                received=self._received,
                stored_observations=self._stored,
                new_transmissions=self._new_tx,
                duplicates=self._duplicates,
                dropped=self._dropped,
                rejected=dict(self._rejected),
                last_message_ms=self._last_ms,
            )
