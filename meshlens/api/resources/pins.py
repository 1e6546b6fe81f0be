"""Generation-bound pages: later pages of a list read the snapshot the first page read.

Offsets counted from the newest row shift as packets arrive, so a client that pages with
`offset` alone may skip or repeat rows. Every list answer says which store generation it
read (`asOf`); a request that sends `asOf=<generation>` back is answered from that same
immutable snapshot, so its pages never skip or repeat a row. A pin costs a reference to
a snapshot (its columns are shared with newer ones), so a few are kept: at most
`max_pins`, each for `ttl_s` after its last use, and a new one at most every `reuse_s`
(requests in between share the newest, which is at most that old).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping

from meshlens.errors import ExpiredError, QueryError
from meshlens.records import Clock
from meshlens.store.snapshot import Snapshot
from meshlens.store.store import PacketStore

AS_OF = "asOf"


class SnapshotPins:
    """Snapshots that first pages were answered from, by generation (event loop only)."""

    def __init__(
        self,
        store: PacketStore,
        clock: Clock,
        *,
        max_pins: int = 16,
        ttl_s: float = 600.0,
        reuse_s: float = 1.0,
    ) -> None:
        self._store = store
        self._clock = clock
        self._max = max_pins
        self._ttl_s = ttl_s
        self._reuse_s = reuse_s
        self._pins: OrderedDict[int, tuple[Snapshot, float, float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._pins)

    def snapshot(self, params: Mapping[str, str]) -> Snapshot:
        """The snapshot a list request reads: its `asOf` pin, or a (new) pin of the latest."""
        now = self._clock.monotonic_s()
        self._expire(now)
        raw = params.get(AS_OF)
        if raw is None or raw == "":
            return self._pin_latest(now)
        try:
            generation = int(raw)
        except ValueError:
            raise QueryError(AS_OF, "a generation from an earlier answer's asOf", raw) from None
        found = self._pins.get(generation)
        if found is not None:
            snap, created, _ = found
            self._pins[generation] = (snap, created, now)
            self._pins.move_to_end(generation)
            return snap
        latest = self._store.snapshot()
        if generation == latest.generation:
            self._add(latest, now)
            return latest
        if generation > latest.generation:
            raise QueryError(AS_OF, "a generation from an earlier answer's asOf", raw)
        raise ExpiredError(
            f"page snapshot asOf={generation} has expired; request the first page again"
        )

    def _pin_latest(self, now: float) -> Snapshot:
        latest = self._store.snapshot()
        if self._pins:
            newest_gen = max(self._pins)
            snap, created, _ = self._pins[newest_gen]
            if newest_gen == latest.generation or now - created < self._reuse_s:
                self._pins[newest_gen] = (snap, created, now)
                return snap
        self._add(latest, now)
        return latest

    def _add(self, snap: Snapshot, now: float) -> None:
        self._pins[snap.generation] = (snap, now, now)
        self._pins.move_to_end(snap.generation)
        while len(self._pins) > self._max:
            self._evict_least_recent()

    def _evict_least_recent(self) -> None:
        oldest = min(self._pins, key=lambda g: self._pins[g][2])
        del self._pins[oldest]

    def _expire(self, now: float) -> None:
        for generation in [g for g, (_, _, used) in self._pins.items() if now - used > self._ttl_s]:
            del self._pins[generation]
