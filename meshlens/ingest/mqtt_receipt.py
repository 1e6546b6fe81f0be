"""Receiving one MQTT source: connect, subscribe, route each received batch, reconnect.

A Receipt owns the connection's thread: it opens an MQTT v5 link, routes every batch the
link hands over (§2.3) and reports to its events, which are the feed itself when
receipt runs on a thread of the server, or a pipe to it when receipt runs in a child
process (meshlens/ingest/mqtt_process.py). When the connection drops (or never comes
up) it waits with a capped exponential backoff and tries again.
"""

from __future__ import annotations

import logging
import secrets
import threading
from dataclasses import dataclass, field
from typing import Protocol

import mqtt5

from meshlens.config import MqttSource
from meshlens.errors import InputError
from meshlens.gil import Turns
from meshlens.ingest.mqtt_errors import LinkError, MalformedPacketError, ProtocolViolationError
from meshlens.ingest.mqtt_link import KEEPALIVE_S, Login, MqttLink, open_link
from meshlens.ingest.mqtt_transport import Endpoint
from meshlens.ingest.routing import Filtered, RoutingRules, route_message
from meshlens.ingest.status import ObserverStatus
from meshlens.records import Clock, Sighting, SystemClock

log = logging.getLogger("meshlens.mqtt")

MIN_BACKOFF_S = 0.25
# Most PUBLISHes one gathering reads before handing them on: the worker's backlog batch.
GATHER_MAX = 20_000


@dataclass(slots=True)
class RoutedBatch:
    """What one received batch of messages turned out to be."""

    received: int
    sightings: list[Sighting] = field(default_factory=list)
    statuses: list[ObserverStatus] = field(default_factory=list)
    to_ack: list[int] = field(default_factory=list)  # QoS 1 packet ids, all of the batch
    rejected: list[tuple[str, str, str]] = field(default_factory=list)  # reason, where, detail
    filtered: list[str] = field(default_factory=list)  # reasons


class Acks(Protocol):
    """Where a batch's QoS 1 acknowledgements go: the connection it arrived on."""

    def ack(self, packet_ids: list[int]) -> None:
        """PUBACK these; a no-op once that connection has closed."""
        ...


class ReceiptEvents(Protocol):
    """What a Receipt reports: the connection's life, and each routed batch."""

    def connected(self, session_present: bool) -> None:
        """CONNACK accepted."""
        ...

    def subscribed(self, refused: list[str]) -> None:
        """SUBACK arrived; the filters the broker refused, with reasons."""
        ...

    def lost(self, reason: str, protocol_error: bool) -> None:
        """An established connection failed (not by `stop`)."""
        ...

    def failed(self, reason: str) -> None:
        """A connection attempt failed."""
        ...

    def disconnected(self) -> None:
        """The connection (established or not) is closed."""
        ...

    def deliver(self, batch: RoutedBatch, acks: Acks) -> None:
        """A routed batch; its QoS 1 messages are acknowledged through `acks`."""
        ...


class Backoff:
    """Capped exponential delays: min, 2*min, 4*min ... up to max; `reset` after success."""

    def __init__(self, min_s: float, max_s: float) -> None:
        self._min_s = min(min_s, max_s)
        self._max_s = max_s
        self._next_s = self._min_s

    def next_s(self) -> float:
        """The delay before the next attempt."""
        delay = self._next_s
        self._next_s = min(self._next_s * 2, self._max_s)
        return delay

    def reset(self) -> None:
        """Start again from the shortest delay."""
        self._next_s = self._min_s


def client_id_for(source: MqttSource) -> str:
    """The configured id; a fixed one for a persistent session (the broker keys it by id)."""
    if source.client_id:
        return source.client_id
    if source.persistent_session:
        return f"meshlens-{source.name}"
    return f"meshlens-{source.name}-{secrets.token_hex(4)}"


def endpoint_for(source: MqttSource) -> Endpoint:
    """How to reach a source's broker."""
    broker = source.broker
    return Endpoint(
        host=broker.host,
        port=broker.port,
        tls=broker.tls,
        verify_tls=source.reject_unauthorized,
        websocket=broker.transport == "websockets",
        path=broker.path or "/mqtt",
        connect_timeout_s=float(source.connect_timeout_s),
    )


def login_for(source: MqttSource, client_id: str) -> Login:
    """A source's CONNECT: credentials, and a session that outlives us when persistent."""
    return Login(
        client_id=client_id,
        username=source.username or None,
        password=source.password.reveal() if source.password else None,
        clean_start=not source.persistent_session,
        session_expiry_s=source.session_expiry_s if source.persistent_session else 0,
        keepalive_s=KEEPALIVE_S,
    )


def route_batch(
    packets: list[mqtt5.PublishPacket], rules: RoutingRules, received_at_ms: int, where: str
) -> RoutedBatch:
    """Route every message of a received batch; never raises."""
    batch = RoutedBatch(len(packets))
    sightings, statuses, to_ack = batch.sightings, batch.statuses, batch.to_ack
    turn = Turns()  # while reads are busy, the event loop's turns between ours
    for packet in packets:
        turn()
        packet_id = packet.packet_id
        if packet_id is not None:  # QoS 1: acknowledged once its batch is written
            to_ack.append(packet_id)
        try:
            routed = route_message(
                packet.topic, packet.payload, rules, received_at_ms=received_at_ms
            )
        except InputError as err:
            batch.rejected.append((err.reason, err.where, err.detail))
            continue
        except Exception:  # a bug must not lose the connection; count and carry on
            batch.rejected.append(("internal_error", where, "see traceback"))
            log.exception("%s: message handling failed", where)
            continue
        if type(routed) is Sighting:
            sightings.append(routed)
        elif isinstance(routed, Filtered):
            batch.filtered.append(routed.reason)
        else:
            statuses.append(routed)  # type: ignore[arg-type]
    return batch


def _gathered(link: MqttLink, packets: list[mqtt5.PublishPacket]) -> list[mqtt5.PublishPacket]:
    """`packets` and the PUBLISHes that arrived behind them, read without waiting."""
    while len(packets) < GATHER_MAX:
        more = link.receive_waiting()
        if not more:
            return packets
        packets += more
    return packets


class Receipt:
    """One source's connection loop, on the thread that calls `run`."""

    def __init__(
        self,
        source: MqttSource,
        rules: RoutingRules,
        events: ReceiptEvents,
        *,
        clock: Clock | None = None,
        min_backoff_s: float = MIN_BACKOFF_S,
    ) -> None:
        self.source = source
        self.rules = rules
        self._events = events
        self._clock = clock or SystemClock()
        self._backoff = Backoff(min_backoff_s, source.reconnect_max_s)
        self._client_id = client_id_for(source)
        self._where = f"source {source.name}"
        self._stop = threading.Event()
        self._link: MqttLink | None = None
        self._link_lock = threading.Lock()
        self._gather_s = 0.0

    def set_gather(self, seconds: float) -> None:
        """After each arrival, let messages gather this long before reading them (0: don't).

        Every read takes the GIL from the server's event loop, and at 500 messages a second
        messages arrive one or two at a time: hundreds of handoffs a second, each of which
        can cost the loop its CPU on a busy machine (docs/benchmarks.md, "Wake-ups"). While
        reads keep the server busy it gathers; what gathered is then read without waiting,
        all of it, so a backlog drains as fast as before.
        """
        self._gather_s = max(0.0, seconds)

    def run(self) -> None:
        """Connect, receive until the link drops, back off, repeat; until `stop`."""
        while not self._stop.is_set():
            try:
                self._connect_and_receive()
            except Exception as err:  # a failed attempt: reported, and tried again
                self._events.failed(f"{type(err).__name__}: {err}")
            if self._stop.is_set():
                break
            self._stop.wait(self._backoff.next_s())

    def stop(self) -> None:
        """Stop reconnecting and close the connection (DISCONNECT); `run` then returns."""
        self._stop.set()
        with self._link_lock:
            link = self._link
        if link is not None:
            link.close()  # the receiving thread wakes and sees the stop

    def _connect_and_receive(self) -> None:
        source, events = self.source, self._events
        link, present = open_link(
            endpoint_for(source), login_for(source, self._client_id), clock=self._clock
        )
        with self._link_lock:
            self._link = link
        if self._stop.is_set():  # stop() came while this connection was being made
            link.close()
            return
        try:
            events.connected(present)
            events.subscribed(
                list(link.subscribe(source.topics, source.qos, source.connect_timeout_s))
            )
            self._backoff.reset()
            rules, where, clock = self.rules, self._where, self._clock
            while True:
                packets = link.receive()
                gather_s = self._gather_s
                if gather_s and not self._stop.wait(gather_s):
                    packets = _gathered(link, packets)
                events.deliver(route_batch(packets, rules, clock.now_ms(), where), link)
        except LinkError as err:
            if not self._stop.is_set():
                protocol_error = isinstance(err, MalformedPacketError | ProtocolViolationError)
                events.lost(f"{type(err).__name__}: {err}", protocol_error)
        finally:
            with self._link_lock:
                self._link = None
            link.close()
            events.disconnected()
