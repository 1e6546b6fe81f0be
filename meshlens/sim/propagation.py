"""How one transmission spreads: flood routing, direct routing, and who overhears it.

Flooding: every repeater forwards the first copy it hears, once (duplicate suppression),
after a random delay, appending its own hash prefix to the path; it stops forwarding
past the hop limit. Because each forwarder's rebroadcast reaches all its neighbours at
once, the first copy a node hears comes from the earliest forwarder in range, so a
priority queue keyed by transmit time settles each node the first time it is reached.
Direct routing: the packet follows a planned route of relays; each relay strips itself
from the front of the path. Observers report every copy their radio decodes.
"""

from __future__ import annotations

import heapq
import math
import random
from dataclasses import dataclass

import numpy as np

from meshlens.sim.mesh import Mesh
from meshlens.sim.radio import CAPTURE_DB, FADING_SIGMA_DB, SNR_FLOOR_DB, SOLID_ABOVE_DB, Links


@dataclass(frozen=True, slots=True)
class Broadcast:
    """One node putting a copy of the frame on the air."""

    node: int
    at_ms: float  # when it started transmitting
    path: tuple[int, ...]  # relay nodes in the copy's path, in path order


@dataclass(frozen=True, slots=True)
class Heard:
    """One observer decoding one broadcast."""

    observer: int  # index into Mesh.observers
    at_ms: float  # when the frame had fully arrived
    broadcast: Broadcast
    snr_db: float
    rssi_dbm: float


Reached = dict[int, tuple[float, tuple[int, ...]]]  # node -> (transmit time, its path)


def _success(snr: float) -> float:
    """Probability that a frame with mean SNR `snr` survives fading and decodes."""
    return 0.5 * math.erfc((SNR_FLOOR_DB - snr) / (FADING_SIGMA_DB * math.sqrt(2.0)))


class Propagation:
    """Flood and direct routing over one mesh's links, with per-transmission fading."""

    def __init__(self, mesh: Mesh, links: Links) -> None:
        nodes = mesh.nodes
        self._n = len(nodes)
        self._from = [n.active_from_ms for n in nodes]
        self._until = [n.active_until_ms for n in nodes]
        self._churn = tuple(
            n.index
            for n in nodes
            if n.active_from_ms >= mesh.start_ms or n.active_until_ms <= mesh.end_ms
        )
        noise = [n.noise_floor_dbm for n in nodes]
        observer_slot = {o.node: slot for slot, o in enumerate(mesh.observers)}
        solid: list[list[int]] = [[] for _ in nodes]
        marginal: list[list[tuple[int, float]]] = [[] for _ in nodes]
        watchers: list[list[tuple[int, float, float]]] = [[] for _ in nodes]
        hears: list[list[tuple[int, float]]] = [[] for _ in nodes]
        self._snr: dict[tuple[int, int], float] = {}
        for tx, heard_by in enumerate(links.heard_by):
            for rx, snr in heard_by:
                self._snr[(tx, rx)] = snr
                hears[rx].append((tx, snr))
                if nodes[rx].relays:
                    if snr >= SOLID_ABOVE_DB:
                        solid[tx].append(rx)
                    else:
                        marginal[tx].append((rx, _success(snr)))
                slot = observer_slot.get(rx)
                if slot is not None:
                    watchers[tx].append((slot, snr, snr + noise[rx]))
        self._solid = [tuple(v) for v in solid]
        self._marginal = [tuple(v) for v in marginal]
        self._watchers = [tuple(v) for v in watchers]
        self._watched = frozenset(i for i, w in enumerate(watchers) if w)
        self._hears = [tuple(v) for v in hears]
        # Fading draws come from a fixed pool of normal deviates: random.gauss per copy
        # per observer dominated the run time, and a seeded pool is just as deterministic.
        normals = np.random.default_rng(mesh.seed).standard_normal(1 << 20) * FADING_SIGMA_DB
        self._normals: list[float] = normals.tolist()

    def active(self, node: int, at_ms: float) -> bool:
        """True while the node is on the air."""
        return self._from[node] <= at_ms < self._until[node]

    def link_ok(self, tx: int, rx: int, rnd: random.Random) -> bool:
        """Whether one frame from tx decodes at rx this time (fading drawn fresh)."""
        snr = self._snr.get((tx, rx))
        if snr is None:
            return False
        return snr >= SOLID_ABOVE_DB or snr + rnd.gauss(0.0, FADING_SIGMA_DB) >= SNR_FLOOR_DB

    def flood(
        self, origin: int, start_ms: float, air_ms: float, hop_limit: int, rnd: random.Random
    ) -> Reached:
        """Every node that transmits a copy of a flood: when, and the path its copy carries."""
        reached: Reached = {origin: (start_ms, ())}
        seen = bytearray(self._n)
        seen[origin] = 1
        for node in self._churn:  # nodes off the air never hear it
            if not self._from[node] <= start_ms < self._until[node]:
                seen[node] = 1
        queue = [(start_ms, origin)]
        rand = rnd.random
        solid, marginal = self._solid, self._marginal
        pop, push = heapq.heappop, heapq.heappush
        while queue:
            t, u = pop(queue)
            path = reached[u][1]
            if len(path) >= hop_limit:
                continue
            arrive = t + air_ms
            for v in solid[u]:
                if not seen[v]:
                    seen[v] = 1
                    sent = arrive + air_ms * (0.2 + 2.3 * rand()) + 40.0
                    reached[v] = (sent, (*path, v))
                    push(queue, (sent, v))
            for v, p in marginal[u]:
                if not seen[v] and rand() < p:
                    seen[v] = 1
                    sent = arrive + air_ms * (0.2 + 2.3 * rand()) + 40.0
                    reached[v] = (sent, (*path, v))
                    push(queue, (sent, v))
        return reached

    @staticmethod
    def path_to(reached: Reached, node: int) -> tuple[int, ...]:
        """The relays a flood copy went through to `node`, first relay first, node last."""
        return reached[node][1]

    def watched_copies(self, reached: Reached) -> list[Broadcast]:
        """The copies of a flood that some observer can hear, in node order."""
        return [Broadcast(n, *reached[n]) for n in sorted(self._watched.intersection(reached))]

    def watched(self, node: int) -> bool:
        """True when some observer can hear this node's transmissions."""
        return bool(self._watchers[node])

    def hears_from(self, node: int) -> tuple[tuple[int, float], ...]:
        """The nodes `node` can hear, with the mean SNR of each link."""
        return self._hears[node]

    def link_snr(self, tx: int, rx: int, rnd: random.Random) -> float | None:
        """The faded SNR of one frame tx -> rx, or None when it was not decoded."""
        snr = self._snr.get((tx, rx))
        if snr is None:
            return None
        faded = snr + rnd.gauss(0.0, FADING_SIGMA_DB)
        return faded if faded >= SNR_FLOOR_DB else None

    def first_heard(
        self, reached: Reached, dest: int, air_ms: float, rnd: random.Random
    ) -> tuple[int, float] | None:
        """Which transmitter `dest` first decoded the flood from, and when; None if never."""
        best: tuple[int, float] | None = None
        for tx, snr in self._hears[dest]:
            entry = reached.get(tx)
            if entry is None or (best is not None and entry[0] + air_ms >= best[1]):
                continue
            if snr >= SOLID_ABOVE_DB or snr + rnd.gauss(0.0, FADING_SIGMA_DB) >= SNR_FLOOR_DB:
                best = (tx, entry[0] + air_ms)
        return best

    def direct(
        self,
        origin: int,
        route: tuple[int, ...],
        dest: int | None,
        *,
        start_ms: float,
        air_ms: float,
        rnd: random.Random,
    ) -> tuple[list[Broadcast], float | None]:
        """Copies of a direct packet along `route`, and when `dest` received it (or None)."""
        out = [Broadcast(origin, start_ms, route)]
        t, prev = start_ms, origin
        for i, relay in enumerate(route):
            arrive = t + air_ms
            if not self.active(relay, arrive) or not self.link_ok(prev, relay, rnd):
                return out, None
            t = arrive + air_ms * (0.1 + 0.5 * rnd.random()) + 40.0
            out.append(Broadcast(relay, t, route[i + 1 :]))
            prev = relay
        if dest is None:
            return out, t + air_ms
        if self.active(dest, t + air_ms) and self.link_ok(prev, dest, rnd):
            return out, t + air_ms
        return out, None

    def overheard(self, copies: list[Broadcast], air_ms: float, rnd: random.Random) -> list[Heard]:
        """Every observer decode of the given copies.

        Copies that overlap in time at an observer collide: the receiver keeps a frame only
        when it is at least CAPTURE_DB stronger than every other copy on the air with it
        (LoRa's capture effect), so a burst of rebroadcasts yields a few decodes, not all.
        """
        candidates: dict[int, list[tuple[float, float, float, Broadcast]]] = {}
        pool, mask = self._normals, len(self._normals) - 1
        k = rnd.getrandbits(20)  # a fresh place in the pool for every transmission
        weakest = SNR_FLOOR_DB - CAPTURE_DB  # weaker than this disturbs nothing
        for copy in copies:
            arrive = copy.at_ms + air_ms
            for slot, snr, signal in self._watchers[copy.node]:
                k += 1
                fade = pool[k & mask]
                if snr + fade >= weakest:
                    candidates.setdefault(slot, []).append(
                        (arrive, snr + fade, signal + fade, copy)
                    )
        out: list[Heard] = []
        for slot in sorted(candidates):
            heard = candidates[slot]
            heard.sort(key=_arrival)
            for i, (at, snr, signal, copy) in enumerate(heard):
                if snr < SNR_FLOOR_DB or _collides(heard, i, air_ms):
                    continue
                out.append(Heard(slot, at, copy, snr, signal))
        return out


def _arrival(item: tuple[float, float, float, Broadcast]) -> float:
    return item[0]


def _collides(heard: list[tuple[float, float, float, Broadcast]], i: int, air_ms: float) -> bool:
    """True when another reception overlaps reception i without being CAPTURE_DB weaker."""
    at, snr = heard[i][0], heard[i][1]
    count = len(heard)
    j = i - 1
    while j >= 0 and at - heard[j][0] < air_ms:
        if snr - heard[j][1] < CAPTURE_DB:
            return True
        j -= 1
    j = i + 1
    while j < count and heard[j][0] - at < air_ms:
        if snr - heard[j][1] < CAPTURE_DB:
            return True
        j += 1
    return False
