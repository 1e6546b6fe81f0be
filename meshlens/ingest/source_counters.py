"""Counters of one live source: what arrived, what became of it, and the connection."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from meshlens.ingest.counters import IngestCounters
from meshlens.ingest.outcome import Outcome, Result
from meshlens.records import Clock


@dataclass(frozen=True, slots=True)
class SourceSnapshot:
    """One source's counters at one moment.

    Every message received ends as exactly one of: a status applied, filtered, rejected
    (before or by the pipeline), dropped (queue full), decoded (stored or a duplicate),
    or still queued; so `received` is their sum once the queue has drained.
    """

    name: str
    received: int
    decoded: int
    stored: int  # observations written
    new_transmissions: int
    duplicates: int
    statuses: int  # observer status messages applied
    dropped: int
    rejected: dict[str, int]
    filtered: dict[str, int]
    last_message_ms: int | None


class SourceCounters(IngestCounters):
    """IngestCounters plus what only a source knows: decoded, statuses, filtered."""

    def __init__(self, name: str, clock: Clock | None = None) -> None:
        super().__init__(name, clock)
        self._decoded = 0
        self._statuses = 0
        self._filtered: Counter[str] = Counter()
        self._late_lock = threading.Lock()  # the results arrive on the ingest thread

    def filtered(self, reason: str) -> None:
        """A message a rule says not to ingest (iataFilter, blacklist...)."""
        with self._late_lock:
            self._filtered[reason] += 1

    def status_applied(self, n: int = 1) -> None:
        """Observer status messages were written."""
        with self._late_lock:
            self._statuses += n

    def settle(self, results: Sequence[Result]) -> None:
        """Count what the pipeline made of this source's sightings (already logged there)."""
        stored = new = duplicates = decoded = 0
        refused: list[str] = []
        for result in results:
            outcome = result.outcome
            if outcome is Outcome.REJECTED:
                refused.append(result.reason or "rejected")
                continue
            decoded += 1
            if outcome is Outcome.DUPLICATE:
                duplicates += 1
            else:
                stored += 1
                new += outcome is Outcome.NEW
        self.stored(stored, new, duplicates)
        with self._late_lock:
            self._decoded += decoded
        for reason in refused:
            self.rejected_quietly(reason)

    def rejected_quietly(self, reason: str) -> None:
        """Count a rejection that another counter has logged already."""
        with self._lock:
            self._rejected[reason] += 1

    def source_snapshot(self) -> SourceSnapshot:
        """A copy of every counter."""
        base = self.snapshot()
        with self._late_lock:
            decoded, statuses, filtered = self._decoded, self._statuses, dict(self._filtered)
        return SourceSnapshot(
            name=self.name,
            received=base.received,
            decoded=decoded,
            stored=base.stored_observations,
            new_transmissions=base.new_transmissions,
            duplicates=base.duplicates,
            statuses=statuses,
            dropped=base.dropped,
            rejected=base.rejected,
            filtered=filtered,
            last_message_ms=base.last_message_ms,
        )
