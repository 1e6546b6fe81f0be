"""The resource endpoints as the route table calls them: parameters in, Answers out.

Relay counts (a scan of the last day's hops) and per-node hash sizes are the costly inputs;
they are computed in a worker thread and reused for RELAY_TTL_S, served stale while one
refresh runs.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Mapping

from meshlens.analytics.hash_info import hash_info
from meshlens.api.resources import channels, nodes, observers, packets, stats
from meshlens.api.resources.context import Answer, Resources
from meshlens.api.resources.relays import RelayInfo, relay_stats
from meshlens.recomputer import OnDemandCache
from meshlens.store.snapshot import Snapshot

RELAY_TTL_S = 30.0
HOUR_MS = 3_600_000

Relays = Mapping[str, RelayInfo]


def _extras(snap: Snapshot, first_row: int, now_ms: int, window_h: float) -> nodes.Extras:
    """Relay counts and per-node hash sizes (off the event loop)."""
    return relay_stats(snap, first_row, now_ms, window_h), hash_info(snap, now_ms)


class ResourceService:
    """Answers the resource routes; every method runs on the server's event loop."""

    def __init__(
        self,
        resources: Resources,
        *,
        store_bytes: Callable[[], int],
        rss_bytes: Callable[[], int],
    ) -> None:
        self.resources = resources
        self._store_bytes = store_bytes
        self._rss_bytes = rss_bytes
        self._observers: tuple[float, Answer] | None = None
        self._relays: OnDemandCache[nodes.Extras] = OnDemandCache(
            ttl_s=RELAY_TTL_S,
            size_of=lambda value: 128 * len(value[0]) + 64,
            max_entries=1,
            clock=resources.clock,
        )

    async def relays(self) -> nodes.Extras:
        """Relay counts and hash sizes of the nodes, at most RELAY_TTL_S old."""
        res = self.resources
        snap = res.store.snapshot()
        now = res.clock.now_ms()
        window_h = max(24.0, res.settings.health_thresholds.relay_active_hours)
        first_row = res.index.tail_start(snap, now - int(window_h * HOUR_MS))
        job = functools.partial(_extras, snap, first_row, now, window_h)
        return await self._relays.get("relays", functools.partial(asyncio.to_thread, job))

    def stats(self) -> Answer:
        """GET /api/stats."""
        return stats.stats(self.resources, store_bytes=self._store_bytes, rss_bytes=self._rss_bytes)

    async def nodes(self, q: Mapping[str, str]) -> Answer:
        """GET /api/nodes."""
        return nodes.list_nodes(self.resources, q, await self.relays())

    async def node(self, key: str) -> Answer:
        """GET /api/nodes/{pubkey}."""
        nodes.find_node(self.resources, self.resources.store.snapshot(), key)  # 404 first
        return nodes.node_detail(self.resources, key, await self.relays())

    def network_status(self) -> Answer:
        """GET /api/nodes/network-status."""
        return nodes.network_status(self.resources)

    def observers(self, q: Mapping[str, str]) -> Answer:
        """GET /api/observers; without a query string, a snapshot reused for a while (§7)."""
        res = self.resources
        if q:
            return observers.list_observers(res, q)
        now = res.clock.monotonic_s()
        cached = self._observers
        if cached is None or now - cached[0] >= res.settings.observers_cache.ttl_s:
            cached = self._observers = (now, observers.list_observers(res, q))
        built, answer = cached
        age = (b"x-cache-age-seconds", str(int(now - built)).encode())
        return Answer(answer.body, [*answer.headers, age])

    def observer(self, observer_id: str) -> Answer:
        """GET /api/observers/{id}."""
        return observers.observer_detail(self.resources, observer_id)

    def packets(self, q: Mapping[str, str]) -> Answer:
        """GET /api/packets."""
        return packets.list_packets(self.resources, q)

    def timestamps(self, q: Mapping[str, str]) -> Answer:
        """GET /api/packets/timestamps."""
        return packets.timestamps(self.resources, q)

    def packet(self, key: str) -> Answer:
        """GET /api/packets/{id}."""
        return packets.packet_detail(self.resources, key)

    def channels(self, q: Mapping[str, str]) -> Answer:
        """GET /api/channels."""
        return channels.list_channels(self.resources, q)

    def messages(self, channel: str, q: Mapping[str, str]) -> Answer:
        """GET /api/channels/{hash}/messages."""
        return channels.channel_messages(self.resources, channel, q)
