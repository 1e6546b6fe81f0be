"""The simulation loop: scheduled activities in time order, and the frames they put on air.

Each node has recurring activities (adverts, channel posts, direct messages, requests,
traces, discovery) drawn as Poisson processes shaped by the time of day. An activity
sends frames through `Propagation`; every copy an observer decodes becomes an
`Observation`, emitted in true-time order. Follow-ups (path returns, acks, responses,
retries, bot replies) are scheduled as activities of their own.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Final

from meshlens.sim.events import Event, Observation, StatusReport
from meshlens.sim.mesh import Mesh
from meshlens.sim.propagation import Broadcast, Heard, Propagation, Reached
from meshlens.sim.radio import build_links
from meshlens.wire import content_hash, peek_frame
from meshlens.wire.airtime import airtime_ms
from meshlens.wire.header import header_byte

FLOOD: Final = 1
DIRECT: Final = 2
TRANSPORT_FLOOD: Final = 0
HOUR_MS: Final = 3_600_000
DAY_MS: Final = 24 * HOUR_MS
UTC_OFFSET_H: Final = -8  # the regions' local time, for the daily rhythm

Action = Callable[[int, int], None]  # (time, node)


@dataclass(frozen=True, slots=True)
class Route:
    """A learned direct route: the relays to the destination and their hash width."""

    relays: tuple[int, ...]
    width: int
    learned_ms: int


class Engine:
    """Runs one mesh's traffic; `events(until_ms)` yields what the observers publish."""

    def __init__(self, mesh: Mesh) -> None:
        self.mesh = mesh
        self.links = build_links(mesh)
        self.prop = Propagation(mesh, self.links)
        self.rnd = random.Random(f"traffic/{mesh.seed}/{mesh.profile.name}")
        self.sent: Counter[int] = Counter()  # transmissions by payload type
        self.routes: dict[tuple[int, int], Route] = {}
        self._agenda: list[tuple[int, int, Action, int]] = []
        self._out: list[tuple[int, int, Event]] = []
        self._seq = itertools.count()
        self._prefix = [[n.public_key[:w] for n in mesh.nodes] for w in range(4)]
        self._observer_heard = [0] * len(mesh.observers)
        self._observer_air_ms = [0.0] * len(mesh.observers)
        # Imported here to keep this module about the loop; traffic.py holds the activities.
        from meshlens.sim.traffic import Traffic  # noqa: PLC0415

        self.traffic = Traffic(self)

    # -- the loop ------------------------------------------------------------------------

    def at(self, when_ms: float, action: Action, node: int) -> None:
        """Schedule `action(time, node)`."""
        heapq.heappush(self._agenda, (int(when_ms), next(self._seq), action, node))

    def events(self, until_ms: int) -> Iterator[Event]:
        """Run activities up to `until_ms`, yielding every event published before it."""
        agenda, out = self._agenda, self._out
        while agenda and agenda[0][0] < until_ms:
            t, _, action, node = heapq.heappop(agenda)
            while out and out[0][0] <= t:
                yield heapq.heappop(out)[2]
            action(t, node)
        while out and out[0][0] < until_ms:
            yield heapq.heappop(out)[2]

    def emit(self, at_ms: int, event: Event) -> None:
        """Queue an event for publication at true time `at_ms`."""
        heapq.heappush(self._out, (at_ms, next(self._seq), event))

    def diurnal(self, at_ms: int) -> float:
        """Activity level 0.1..1 by local hour: quiet before dawn, busiest in the evening."""
        hour = (at_ms / HOUR_MS + UTC_OFFSET_H) % 24
        return 0.55 + 0.45 * math.cos(2 * math.pi * (hour - 19) / 24)

    def every(
        self,
        action: Action,
        node: int,
        per_day: float,
        *,
        first: int | None = None,
        rhythm: bool = True,
    ) -> None:
        """Schedule a recurring activity at `per_day` (at peak hours when `rhythm`)."""
        if per_day <= 0:
            return
        start = self.mesh.start_ms if first is None else first

        def recur(t: int, n: int) -> None:
            if self.prop.active(n, t) and (not rhythm or self.rnd.random() < self.diurnal(t)):
                action(t, n)
            self.at(t + self.rnd.expovariate(per_day) * DAY_MS, recur, n)

        self.at(start + self.rnd.expovariate(per_day) * DAY_MS, recur, node)

    # -- sending -------------------------------------------------------------------------

    def head(self, route: int, payload_type: int, codes: bytes = b"") -> bytes:
        """Header byte (and transport codes) of a frame."""
        return bytes((header_byte(route, payload_type, 0),)) + codes

    def flood(
        self, origin: int, t: int, payload_type: int, payload: bytes, *, codes: bytes = b""
    ) -> tuple[Reached, float, int]:
        """Flood a frame from `origin`; returns who forwarded it, its airtime and hash size."""
        node = self.mesh.nodes[origin]
        width = node.hash_size(t)
        limit = min(self.mesh.profile.flood_max_hops, 63, 64 // width)
        route = TRANSPORT_FLOOD if codes else FLOOD
        head = self.head(route, payload_type, codes)
        air = airtime_ms(len(head) + 1 + 4 * width + len(payload))
        reached = self.prop.flood(origin, t, air, limit, self.rnd)
        self.observe(
            self.prop.watched_copies(reached),
            air,
            head=head,
            payload_type=payload_type,
            payload=payload,
            width=width,
        )
        self.sent[payload_type] += 1
        return reached, air, width

    def direct(
        self,
        origin: int,
        relays: tuple[int, ...],
        *,
        width: int = 1,
        dest: int | None = None,
        at_ms: float,
        payload_type: int,
        payload: bytes,
    ) -> float | None:
        """Send along a route; returns when `dest` received it, or None when it was lost."""
        head = self.head(DIRECT, payload_type)
        air = airtime_ms(len(head) + 1 + width * len(relays) + len(payload))
        copies, got = self.prop.direct(
            origin, relays, dest, start_ms=at_ms, air_ms=air, rnd=self.rnd
        )
        self.observe(
            copies,
            air,
            head=head,
            payload_type=payload_type,
            payload=payload,
            width=width if relays else 1,
        )
        self.sent[payload_type] += 1
        return got

    def observe(
        self,
        copies: list[Broadcast],
        air: float,
        *,
        head: bytes,
        payload_type: int,
        payload: bytes,
        width: int,
    ) -> None:
        """Turn every observer decode of `copies` into an Observation."""
        heard_list = self.prop.overheard(copies, air, self.rnd)
        if not heard_list:
            return
        prefix = self._prefix[width]
        size_bits = (width - 1) << 6
        # Not a TRACE, so the path is not part of the content hash: one hash for all copies.
        tx_hash = int(content_hash(payload_type, 0, payload), 16)
        for heard in heard_list:
            path = heard.broadcast.path
            raw = head + bytes((size_bits | len(path),)) + b"".join(prefix[n] for n in path)
            self._publish(heard, raw + payload, air, path, (tx_hash, width))

    def observe_raw(self, copy: Broadcast, air: float, raw: bytes, relays: tuple[int, ...]) -> None:
        """Observer decodes of one copy whose frame bytes the caller built (TRACE)."""
        heard_list = self.prop.overheard([copy], air, self.rnd)
        if heard_list:
            frame = peek_frame(raw)
            identity = (int(frame.content_hash, 16), frame.path_hop_width)
            for heard in heard_list:
                self._publish(heard, raw, air, relays, identity)

    def _publish(
        self,
        heard: Heard,
        raw: bytes,
        air: float,
        relays: tuple[int, ...],
        identity: tuple[int, int],
    ) -> None:
        slot, snr, rssi = heard.observer, heard.snr_db, heard.rssi_dbm
        observer = self.mesh.observers[slot]
        at = int(heard.at_ms + self.rnd.uniform(20, 400))
        snr_reported = float(math.trunc(max(-20.0, min(snr, 14.75))))
        score = max(0, min(1000, round(1000 * (snr + 10) / 24)))
        self._observer_heard[slot] += 1
        self._observer_air_ms[slot] += air
        self.emit(
            at,
            Observation(
                slot,
                at,
                at + observer.host_offset_ms,
                raw,
                snr_reported,
                float(round(max(-135.0, min(rssi, -20.0)))),
                score,
                round(air),
                relays,
                *identity,
            ),
        )

    # -- observers -----------------------------------------------------------------------

    def status(self, t: int, slot: int) -> None:
        """Publish an observer's status and schedule the next one."""
        observer = self.mesh.observers[slot]
        node = self.mesh.nodes[observer.node]
        uptime = (t - self.mesh.start_ms) // 1000 + 3600 * (1 + slot % 17)
        heard = self._observer_heard[slot]
        self.emit(
            t,
            StatusReport(
                slot,
                t,
                t + observer.host_offset_ms,
                uptime_secs=uptime,
                battery_mv=None
                if observer.battery_mv is None
                else observer.battery_mv - self.rnd.randrange(0, 60),
                noise_floor=round(node.noise_floor_dbm + self.rnd.gauss(0, 1.0)),
                tx_air_secs=round(self._observer_air_ms[slot] / 1000 * 0.3),
                rx_air_secs=round(self._observer_air_ms[slot] / 1000),
                recv_errors=round(heard * 0.04),
                packets_recv=heard,
            ),
        )
        interval = self.mesh.profile.status_interval_s * 1000
        self.at(t + interval * self.rnd.uniform(0.9, 1.1), self.status, slot)

    def start_observers(self) -> None:
        """Schedule every observer's first status message."""
        interval = self.mesh.profile.status_interval_s * 1000
        for slot in range(len(self.mesh.observers)):
            self.at(self.mesh.start_ms + self.rnd.uniform(0, interval), self.status, slot)
