"""What the resource endpoints read: the store, the indexes that grow with it, the filters."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from meshlens.api.resources.index import ObservationIndex
from meshlens.api.resources.labels import ChannelLabels
from meshlens.api.resources.node_table import NodeCache
from meshlens.api.resources.pins import SnapshotPins
from meshlens.api.resources.render import DecodedCache
from meshlens.api.resources.visibility import Visibility
from meshlens.config import Settings
from meshlens.records import Clock, JSONValue
from meshlens.store.store import PacketStore

Headers = list[tuple[bytes, bytes]]


@dataclass(frozen=True, slots=True)
class Answer:
    """A resource endpoint's JSON body and the extra headers it sends."""

    body: JSONValue
    headers: Headers = field(default_factory=list)


@dataclass(slots=True)
class Resources:
    """Everything the resource endpoints need; built once per server, used on its loop."""

    settings: Settings
    store: PacketStore
    clock: Clock
    visibility: Visibility
    decoded: DecodedCache
    pins: SnapshotPins
    index: ObservationIndex
    # Indexed database lookups for what the store does not hold (None: no database).
    observation_score: Callable[[int], int | None] | None = None
    dropped_count: Callable[[], int] | None = None
    started_ms: int = 0
    cached: dict[str, tuple[float, JSONValue]] = field(default_factory=dict)
    node_cache: NodeCache = field(default_factory=NodeCache)
    labels: ChannelLabels = field(default_factory=ChannelLabels)

    def cache(self, key: str, ttl_s: float, build: Callable[[], JSONValue]) -> JSONValue:
        """A value reused for `ttl_s` seconds (the reference's response caches)."""
        now = self.clock.monotonic_s()
        found = self.cached.get(key)
        if found is not None and now - found[0] < ttl_s:
            return found[1]
        value = build()
        self.cached[key] = (now, value)
        return value
