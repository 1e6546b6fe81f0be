"""What the nodes do: adverts, channel chatter, direct messages, requests, traces.

Direct messages and requests use a learned route when one is fresh, and flood otherwise;
a flooded message teaches the receiver the way back, and its path return (a flooded PATH
packet) teaches the sender the way there, as the firmware does. A lost direct packet
makes the sender forget the route and flood its next try.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Final

from meshlens.sim import payloads, texts
from meshlens.sim.mesh import ADV_COMPANION, ADV_REPEATER, ADV_ROOM, ADV_SENSOR, SimNode
from meshlens.sim.peers import ADVERT, GRP_DATA, GRP_TXT, Peers
from meshlens.wire import Region, encode

if TYPE_CHECKING:
    from meshlens.sim.engine import Action, Engine

HOUR_MS: Final = 3_600_000
_RHYTHM_MEAN: Final = 0.55  # mean of Engine.diurnal: rates are per day on average

# Activities per node per day (companions' are scaled by their chattiness).
COMPANION_RATES: Final = {
    "advert": 0.25,
    "channel": 2.4,
    "dm": 0.45,
    "request": 0.8,
    "login": 0.25,
    "trace": 0.06,
    "discover": 0.12,
}
ADVERT_PERIOD_H: Final = {ADV_REPEATER: 12.0, ADV_ROOM: 12.0, ADV_SENSOR: 3.0}


class Traffic:
    """The activities of every node, scheduled on an Engine."""

    def __init__(self, engine: Engine) -> None:
        self.e = engine
        mesh = engine.mesh
        self.nodes = mesh.nodes
        setup = random.Random(f"social/{mesh.seed}/{mesh.profile.name}")
        self.keys = {
            name: texts.channel_key(name, mesh.seed)
            for name in ("Public", *texts.HASHTAG_CHANNELS, *texts.PRIVATE_CHANNELS)
        }
        friends, servers = self._social(setup)
        self.servers = servers
        self.peers = Peers(engine, friends, servers)
        self.bots = self._bots(setup)
        self.scoped = {
            n.index: Region.named(mesh.regions[n.region].code.lower())
            for n in self.nodes
            if n.advert_type == ADV_COMPANION and setup.random() < 0.05
        }
        self.towns = [n.name.split()[0] for n in self.nodes]
        self._schedule(setup)

    # -- who talks to whom -----------------------------------------------------------

    def _social(self, rng: random.Random) -> tuple[dict[int, list[int]], dict[int, list[int]]]:
        by_region: dict[int, list[SimNode]] = {}
        for n in self.nodes:
            by_region.setdefault(n.region, []).append(n)
        friends: dict[int, list[int]] = {}
        servers: dict[int, list[int]] = {}
        everyone = [n.index for n in self.nodes if n.advert_type == ADV_COMPANION]
        for local in by_region.values():
            companions = [n for n in local if n.advert_type == ADV_COMPANION]
            hosts = [n for n in local if n.advert_type != ADV_COMPANION]
            for n in companions:
                near = sorted(
                    companions, key=lambda m: (m.x_km - n.x_km) ** 2 + (m.y_km - n.y_km) ** 2
                )
                pool = [m.index for m in near[1:40]]
                picks = rng.sample(pool, min(len(pool), rng.randint(1, 4)))
                if rng.random() < 0.15 and everyone:
                    picks.append(rng.choice(everyone))
                friends[n.index] = [p for p in picks if p != n.index]
                by_distance = sorted(
                    hosts, key=lambda m: (m.x_km - n.x_km) ** 2 + (m.y_km - n.y_km) ** 2
                )
                servers[n.index] = [m.index for m in by_distance[: rng.randint(2, 6)]]
        return friends, servers

    def _bots(self, rng: random.Random) -> dict[int, int]:
        bots: dict[int, int] = {}
        for region in range(len(self.e.mesh.regions)):
            local = [
                n.index
                for n in self.nodes
                if n.region == region
                and n.advert_type == ADV_COMPANION
                and self.e.prop.hears_from(n.index)
            ]
            if local:
                bots[region] = rng.choice(local)
        return bots

    def _schedule(self, rng: random.Random) -> None:
        e = self.e
        scale = e.mesh.profile.traffic_scale
        start, end = e.mesh.start_ms, e.mesh.end_ms
        for n in self.nodes:
            i = n.index
            if start < n.active_from_ms < end:
                e.at(n.active_from_ms + 5_000, self.advert, i)  # a boot advert
            for reboot in getattr(n.clock, "reboots_ms", ()):
                if start < reboot < end:
                    e.at(reboot + 8_000, self.advert, i)
            if n.advert_type == ADV_COMPANION:
                r = {k: v * scale * n.activity / 1.6487 for k, v in COMPANION_RATES.items()}
                e.every(self.advert, i, r["advert"], rhythm=False)
                e.every(self.channel, i, r["channel"] / _RHYTHM_MEAN)
                peers = self.peers
                e.every(peers.dm, i, r["dm"] / _RHYTHM_MEAN)
                e.every(peers.request, i, r["request"] / _RHYTHM_MEAN)
                e.every(peers.login, i, r["login"] / _RHYTHM_MEAN)
                e.every(peers.trace, i, r["trace"] / _RHYTHM_MEAN)
                e.every(peers.discover, i, r["discover"] / _RHYTHM_MEAN)
                continue
            period = ADVERT_PERIOD_H[n.advert_type] * HOUR_MS / scale
            e.at(start + rng.uniform(0, period), self._periodic_advert(period), i)
            if n.advert_type == ADV_REPEATER:
                e.every(self.zero_hop_advert, i, 1.0 * scale, rhythm=False)
            elif n.advert_type == ADV_ROOM:
                e.every(self.peers.room_post, i, 3.0 * scale / _RHYTHM_MEAN)
            elif n.advert_type == ADV_SENSOR:
                e.every(self.sensor_data, i, 2.0 * scale, rhythm=False)
        e.start_observers()

    def _periodic_advert(self, period: float) -> Action:
        def run(t: int, node: int) -> None:
            if self.e.prop.active(node, t):
                self.advert(t, node)
            self.e.at(t + period * self.e.rnd.uniform(0.95, 1.05), run, node)

        return run

    # -- adverts and channels ------------------------------------------------------------

    def advert(self, t: int, node: int) -> None:
        """A flooded advert."""
        self.e.flood(node, t, ADVERT, payloads.advert(self.nodes[node], t, self.e.rnd))

    def zero_hop_advert(self, t: int, node: int) -> None:
        """An advert only direct neighbours hear (DIRECT, no hops)."""
        payload = payloads.advert(self.nodes[node], t, self.e.rnd)
        self.e.direct(node, (), at_ms=t, payload_type=ADVERT, payload=payload)

    def channel(self, t: int, node: int) -> None:
        """A channel post; bots answer on #bot and #test."""
        rnd = self.e.rnd
        name = texts.pick_channel(rnd)
        near = self.servers.get(node) or [node]
        text = texts.message_text(
            rnd, name, town=self.towns[near[0]], repeater=self.nodes[near[0]].name
        )
        payload = payloads.group_text(self.keys[name], self.nodes[node], text, t)
        region = self.scoped.get(node)
        codes = encode.transport_codes(region, GRP_TXT, payload) if region else b""
        reached, air, _ = self.e.flood(node, t, GRP_TXT, payload, codes=codes)
        bot = self.bots.get(self.nodes[node].region)
        if name not in ("#bot", "#test") or bot is None or bot == node or rnd.random() > 0.8:
            return
        first = self.e.prop.first_heard(reached, bot, air, rnd)
        if first is not None:
            hops = len(self.e.prop.path_to(reached, first[0]))
            reply = texts.bot_reply(rnd, self.nodes[node].name, hops)
            self.e.at(first[1] + rnd.uniform(1500, 6000), self._say(name, reply), bot)

    def _say(self, channel: str, text: str) -> Action:
        def run(t: int, node: int) -> None:
            payload = payloads.group_text(self.keys[channel], self.nodes[node], text, t)
            self.e.flood(node, t, GRP_TXT, payload)

        return run

    def sensor_data(self, t: int, node: int) -> None:
        """A sensor reading on #sensors (GRP_DATA)."""
        self.e.flood(node, t, GRP_DATA, payloads.group_data(self.keys["#sensors"], self.e.rnd))
