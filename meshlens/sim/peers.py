"""Peer-to-peer exchanges: direct messages, requests, logins, room posts, traces, discovery.

Each exchange sends over a fresh learned route when there is one and floods otherwise.
A flooded packet that arrives teaches the receiver the way back (the reversed path) and
is answered with a flooded PATH return that teaches the sender the way there; a direct
packet is answered directly along the reversed route. A lost direct packet makes the
sender forget that route, so its next try floods (the firmware's fallback).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from meshlens.sim import payloads
from meshlens.sim.mesh import ADV_ROOM, SimNode
from meshlens.sim.propagation import Broadcast
from meshlens.wire import encode
from meshlens.wire.airtime import airtime_ms

if TYPE_CHECKING:
    from meshlens.sim.engine import Action, Engine

REQ, RESPONSE, TXT_MSG, ACK, ADVERT, GRP_TXT, GRP_DATA, ANON_REQ, PATH, TRACE = range(10)
CONTROL: Final = 11
HOUR_MS: Final = 3_600_000
ROUTE_TTL_MS: Final = 36 * HOUR_MS

Delivery = tuple[float | None, bool, tuple[int, ...], int]  # when, flooded, relays, width


class Peers:
    """Exchanges between two nodes, with the route learning the firmware does."""

    def __init__(
        self,
        engine: Engine,
        friends: dict[int, list[int]],
        servers: dict[int, list[int]],
    ) -> None:
        self.e = engine
        self.nodes: tuple[SimNode, ...] = engine.mesh.nodes
        self.friends = friends
        self.servers = servers
        self.members: dict[int, list[int]] = {}

    # -- routes ----------------------------------------------------------------------

    def learn(self, a: int, b: int, relays: tuple[int, ...], width: int, at_ms: float) -> None:
        """`a` now knows a route to `b`."""
        from meshlens.sim.engine import Route  # noqa: PLC0415 - engine imports this module

        self.e.routes[(a, b)] = Route(relays, width, int(at_ms))

    def route(self, a: int, b: int, t: float) -> tuple[tuple[int, ...], int] | None:
        """A's fresh route to b, if it has one."""
        known = self.e.routes.get((a, b))
        if known is None or t - known.learned_ms > ROUTE_TTL_MS:
            return None
        return known.relays, known.width

    def send(self, t: float, a: int, b: int, payload_type: int, payload: bytes) -> Delivery:
        """Send a -> b over a known route, else flood; returns when b got it and how."""
        known = self.route(a, b, t)
        e = self.e
        if known is not None:
            relays, width = known
            got = e.direct(
                a, relays, width=width, dest=b, at_ms=t, payload_type=payload_type, payload=payload
            )
            if got is None:
                e.routes.pop((a, b), None)
            return got, False, relays, width
        reached, air, width = e.flood(a, int(t), payload_type, payload)
        first = e.prop.first_heard(reached, b, air, e.rnd)
        if first is None:
            return None, True, (), width
        return first[1], True, e.prop.path_to(reached, first[0]), width

    def answer(self, delivery: Delivery, a: int, b: int, payload_type: int, payload: bytes) -> None:
        """B answers A: a PATH return after a flood, else `payload` back along the route."""
        e = self.e
        got, flooded, relays, width = delivery
        assert got is not None
        back = tuple(reversed(relays))
        if flooded:
            self.learn(b, a, back, width, got)
            e.at(got + e.rnd.uniform(300, 2000), self._path_return(a, relays, width), b)
        else:
            e.at(
                got + e.rnd.uniform(200, 1500),
                self._direct_reply(a, back, width, payload_type, payload),
                b,
            )

    def _path_return(self, a: int, relays: tuple[int, ...], width: int) -> Action:
        def run(t: int, b: int) -> None:
            e = self.e
            payload = payloads.datagram(self.nodes[b], self.nodes[a], e.rnd, e.rnd.choice((1, 2)))
            reached, air, _ = e.flood(b, t, PATH, payload)
            if e.prop.first_heard(reached, a, air, e.rnd) is not None:
                self.learn(a, b, relays, width, t)

        return run

    def _direct_reply(
        self, a: int, back: tuple[int, ...], width: int, payload_type: int, payload: bytes
    ) -> Action:
        def run(t: int, b: int) -> None:
            got = self.e.direct(
                b, back, width=width, dest=a, at_ms=t, payload_type=payload_type, payload=payload
            )
            if got is None:
                self.e.routes.pop((b, a), None)

        return run

    # -- exchanges -----------------------------------------------------------------------

    def dm(self, t: int, a: int) -> None:
        """A direct message to a friend, acknowledged, retried up to twice."""
        friends = self.friends.get(a) or self.members.get(a)
        if friends:
            self._message(t, a, self.e.rnd.choice(friends), 0)

    def _message(self, t: float, a: int, b: int, attempt: int) -> None:
        e = self.e
        text = f"msg {t:.0f} {attempt}"
        payload = payloads.datagram(self.nodes[a], self.nodes[b], e.rnd, e.rnd.choice((1, 2, 2, 3)))
        delivery = self.send(t, a, b, TXT_MSG, payload)
        if delivery[0] is None:
            if attempt < 2:
                e.at(
                    t + e.rnd.uniform(6000, 15000),
                    lambda tt, n: self._message(tt, n, b, attempt + 1),
                    a,
                )
            return
        checksum = payloads.ack_checksum(self.nodes[a], text, int(t))
        extended = e.rnd.random() < 0.6
        ack = encode.ack_payload(
            checksum, attempt if extended else None, e.rnd.randrange(256) if extended else None
        )
        self.answer(delivery, a, b, ACK, ack)

    def request(self, t: int, a: int) -> None:
        """A request to a server the node uses (stats, telemetry, keep-alive)."""
        self._ask(
            t, a, REQ, lambda s: payloads.datagram(self.nodes[a], self.nodes[s], self.e.rnd, 1)
        )

    def login(self, t: int, a: int) -> None:
        """An anonymous login to a repeater or room server."""
        self._ask(
            t,
            a,
            ANON_REQ,
            lambda s: payloads.anon_request(self.nodes[a], self.nodes[s], self.e.rnd),
        )

    def _ask(self, t: int, a: int, payload_type: int, build: Callable[[int], bytes]) -> None:
        servers = self.servers.get(a)
        if not servers:
            return
        e = self.e
        s = e.rnd.choice(servers)
        delivery = self.send(t, a, s, payload_type, build(s))
        if delivery[0] is None or not e.prop.active(s, delivery[0]):
            return
        if self.nodes[s].advert_type == ADV_ROOM and payload_type == ANON_REQ:
            members = self.members.setdefault(s, [])
            if a not in members:
                members.append(a)
        reply = payloads.datagram(self.nodes[s], self.nodes[a], e.rnd, e.rnd.choice((1, 2, 3, 6)))
        self.answer(delivery, a, s, RESPONSE, reply)

    def room_post(self, t: int, room: int) -> None:
        """A room server pushes a post to one of its members."""
        members = self.members.get(room)
        if members:
            self._message(t, room, self.e.rnd.choice(members), 0)

    def trace(self, t: int, a: int) -> None:
        """A TRACE out along a known route and back; each forwarder adds its SNR byte."""
        e = self.e
        options = [s for s in self.servers.get(a, ()) if self.route(a, s, t)]
        if not options:
            return
        known = self.route(a, e.rnd.choice(options), t)
        assert known is not None
        relays, width = known
        if not relays:
            return
        hops = relays + tuple(reversed(relays[:-1]))
        width = 1 if width == 1 else 2
        payload = encode.trace_payload(
            tag=e.rnd.getrandbits(32),
            auth_code=e.rnd.getrandbits(32),
            flags=width - 1,
            route=b"".join(self.nodes[n].public_key[:width] for n in hops),
        )
        head = e.head(2, TRACE)
        air = airtime_ms(len(head) + 1 + len(hops) + len(payload))
        snrs: list[int] = []
        sender, at = a, float(t)
        for step in range(len(hops) + 1):
            raw = head + bytes((len(snrs),)) + bytes(snrs) + payload
            e.observe_raw(Broadcast(sender, at, ()), air, raw, hops)
            e.sent[TRACE] += 1
            if step == len(hops):
                break
            nxt = hops[step]
            snr = e.prop.link_snr(sender, nxt, e.rnd)
            if snr is None or not e.prop.active(nxt, at + air):
                break
            snrs.append(encode.snr_byte(snr))
            sender, at = nxt, at + air + air * (0.1 + 0.4 * e.rnd.random()) + 40

    def discover(self, t: int, a: int) -> None:
        """A zero-hop discovery request; repeaters in earshot answer with their keys."""
        e = self.e
        tag = e.rnd.getrandbits(32)
        request = encode.discover_request_payload(filter_types=0x04, tag=tag)
        e.direct(a, (), at_ms=t, payload_type=CONTROL, payload=request)
        air = airtime_ms(len(request) + 2)
        answered = 0
        for v, _ in _shuffled(e.links.heard_by[a], e.rnd):
            if not self.nodes[v].relays or answered >= 6:
                continue
            snr = e.prop.link_snr(a, v, e.rnd)
            if snr is None or not e.prop.active(v, t):
                continue
            answered += 1
            reply = encode.discover_response_payload(
                node_type=self.nodes[v].advert_type,
                snr_raw=int(snr * 4),
                tag=tag,
                public_key=self.nodes[v].public_key,
            )
            e.at(t + air + e.rnd.uniform(500, 4000), self._zero_hop(CONTROL, reply), v)

    def _zero_hop(self, payload_type: int, payload: bytes) -> Action:
        def run(t: int, node: int) -> None:
            self.e.direct(node, (), at_ms=t, payload_type=payload_type, payload=payload)

        return run


def _shuffled(items: tuple[tuple[int, float], ...], rnd: random.Random) -> list[tuple[int, float]]:
    out = list(items)
    rnd.shuffle(out)
    return out
