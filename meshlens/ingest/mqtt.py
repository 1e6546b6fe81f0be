"""Live MQTT sources: one MQTT v5 link per broker, each on its own supervised thread.

A source connects, subscribes to its topics, and offers each batch of what arrives to
the IngestWorker in one call. When the connection drops (or never comes up) it waits
with a capped exponential backoff and tries again, re-subscribing on every connect; one
broker failing never touches the others. With `qos: 1` a message is acknowledged only
once its write has committed, so with a persistent session nothing the broker accepted
is lost if meshlens dies.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import mqtt5

from meshlens.config import MqttSource
from meshlens.errors import InputError
from meshlens.ingest.mqtt_link import (
    KEEPALIVE_S,
    Endpoint,
    LinkError,
    Login,
    MalformedPacketError,
    MqttLink,
    ProtocolViolationError,
    open_link,
)
from meshlens.ingest.pipeline import Result
from meshlens.ingest.routing import Filtered, RoutingRules, route_message
from meshlens.ingest.source_counters import SourceCounters, SourceSnapshot
from meshlens.ingest.status import ObserverStatus
from meshlens.ingest.worker import IngestWorker
from meshlens.records import Clock, Sighting, SystemClock

log = logging.getLogger("meshlens.mqtt")

MIN_BACKOFF_S = 0.25
# With QoS 1 a full queue makes the broker wait a moment rather than lose the message.
QOS1_WAIT_S = 1.0
_FAILURE_LOG_EVERY_S = 60.0


@dataclass(frozen=True, slots=True)
class ConnectionState:
    """A source's link to its broker, as /api/ingest/status reports it."""

    connected: bool = False
    subscribed: bool = False  # the broker acknowledged this connection's subscriptions
    connects: int = 0  # successful CONNACKs so far
    disconnects: int = 0
    failures: int = 0  # connection attempts that failed
    last_error: str | None = None
    since_ms: int | None = None  # when `connected` last changed
    session_present: bool = False  # the broker kept our session (persistent sessions)
    protocol_errors: int = 0  # connections dropped for a malformed or unexpected packet


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


class MqttFeed:
    """One configured MQTT source, offering what it receives to the ingest worker."""

    def __init__(
        self,
        source: MqttSource,
        rules: RoutingRules,
        *,
        clock: Clock | None = None,
        min_backoff_s: float = MIN_BACKOFF_S,
    ) -> None:
        self.name = source.name
        self.source = source
        # The shared rules of §2.3 plus this source's own filter and default region.
        self.rules = replace(rules, iata_filter=frozenset(source.iata_filter), region=source.region)
        self._clock = clock or SystemClock()
        self.counters = SourceCounters(source.name, self._clock)
        self._state = ConnectionState()
        self._state_lock = threading.Lock()
        self._stop = threading.Event()
        self._connected = threading.Condition()
        self._backoff = Backoff(min_backoff_s, source.reconnect_max_s)
        self._worker: IngestWorker | None = None
        self._thread: threading.Thread | None = None
        self._link: MqttLink | None = None
        self._link_lock = threading.Lock()
        self._client_id = client_id_for(source)
        self._last_failure_log = -_FAILURE_LOG_EVERY_S
        self._wait_s = QOS1_WAIT_S if source.qos == 1 else 0.0

    # --- the Feed protocol -------------------------------------------------------------

    def start(self, worker: IngestWorker) -> None:
        """Connect in the background; messages queue in `worker` from then on."""
        self._worker = worker
        self._thread = threading.Thread(
            target=self._supervise, name=f"mqtt-{self.name}", daemon=True
        )
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Disconnect and stop reconnecting; returns once nothing more will be offered."""
        self._stop.set()
        with self._link_lock:
            link = self._link
        if link is not None:
            link.close()  # DISCONNECT; the receiving thread wakes and sees the stop
        if self._thread is not None:
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                log.error("mqtt source %s did not stop within %.0f s", self.name, timeout_s)

    # --- status ------------------------------------------------------------------------

    @property
    def state(self) -> ConnectionState:
        """The connection as it is now."""
        with self._state_lock:
            return self._state

    def snapshot(self) -> SourceSnapshot:
        """This source's counters."""
        return self.counters.source_snapshot()

    def wait_subscribed(self, connects: int = 1, timeout_s: float = 30.0) -> bool:
        """Block until the source has connected `connects` times and is subscribed."""

        def ready() -> bool:
            state = self.state
            return state.subscribed and state.connects >= connects

        with self._connected:
            return self._connected.wait_for(ready, timeout_s)

    def _set_state(self, **changes: Any) -> None:
        with self._state_lock:
            self._state = replace(self._state, **changes)
        with self._connected:
            self._connected.notify_all()

    # --- the connection's thread -------------------------------------------------------

    def _supervise(self) -> None:
        """Connect, receive until the link drops, back off, repeat."""
        while not self._stop.is_set():
            try:
                self._connect_and_receive()
            except Exception as err:  # a failed attempt: count it, log it, try again
                self._failed(err)
            if self._stop.is_set():
                break
            self._stop.wait(self._backoff.next_s())

    def _connect_and_receive(self) -> None:
        source = self.source
        link, present = open_link(
            endpoint_for(source), login_for(source, self._client_id), clock=self._clock
        )
        with self._link_lock:
            self._link = link
        if self._stop.is_set():  # stop() came while this connection was being made
            link.close()
            return
        try:
            self._connected_as(present)
            refused = link.subscribe(source.topics, source.qos, source.connect_timeout_s)
            self._subscribed(refused)
            self._backoff.reset()
            while True:
                self._receive(link, link.receive())
        except LinkError as err:
            if self._stop.is_set():
                return
            if isinstance(err, MalformedPacketError | ProtocolViolationError):
                self._set_state(protocol_errors=self.state.protocol_errors + 1)
            self._lost(f"{type(err).__name__}: {err}")
        finally:
            link.close()
            self._disconnected()

    def _failed(self, err: Exception) -> None:
        text = f"{type(err).__name__}: {err}"
        with self._state_lock:
            failures = self._state.failures + 1
        self._set_state(failures=failures, last_error=text)
        now = self._clock.monotonic_s()
        if now - self._last_failure_log >= _FAILURE_LOG_EVERY_S:
            self._last_failure_log = now
            log.warning(
                "mqtt source %s: cannot reach %s (%s); retrying every %g s at most",
                self.name, self.source.broker, text, self.source.reconnect_max_s,
            )  # fmt: skip

    def _connected_as(self, session_present: bool) -> None:
        with self._state_lock:
            connects = self._state.connects + 1
        self._set_state(
            connected=True, connects=connects, since_ms=self._clock.now_ms(),
            session_present=session_present, last_error=None,
        )  # fmt: skip

    def _subscribed(self, refused: Sequence[str]) -> None:
        if refused:  # e.g. a broker without shared subscriptions, or an ACL
            log.error("mqtt source %s: subscription refused: %s", self.name, ", ".join(refused))
            self._set_state(last_error=f"subscription refused: {', '.join(refused)}")
        self._set_state(subscribed=True)
        log.info(
            "mqtt source %s: connected to %s, subscribed to %s%s",
            self.name, self.source.broker, ", ".join(self.source.topics),
            " (session resumed)" if self.state.session_present else "",
        )  # fmt: skip

    def _lost(self, reason: str) -> None:
        self._set_state(last_error=f"disconnected: {reason}")
        log.warning("mqtt source %s: connection lost (%s); reconnecting", self.name, reason)

    def _disconnected(self) -> None:
        with self._link_lock:
            self._link = None
        was = self.state
        if not was.connected:
            return
        self._set_state(
            connected=False, subscribed=False, disconnects=was.disconnects + 1,
            since_ms=self._clock.now_ms(),
        )  # fmt: skip

    # --- messages (the connection's thread) ----------------------------------------------

    def _receive(self, link: MqttLink, packets: list[mqtt5.PublishPacket]) -> None:
        """Route a received batch and offer it to the worker in one call."""
        counters, rules, name = self.counters, self.rules, self.name
        counters.received(len(packets))
        received_at_ms = self._clock.now_ms()
        sightings: list[Sighting] = []
        statuses: list[ObserverStatus] = []
        to_ack: list[int] = []
        for packet in packets:
            packet_id = packet.packet_id
            if packet_id is not None:  # QoS 1: acknowledged once its batch is written
                to_ack.append(packet_id)
            try:
                routed = route_message(
                    packet.topic, packet.payload, rules, received_at_ms=received_at_ms
                )
            except InputError as err:
                counters.rejected(err.reason, err.where, err.detail)
                continue
            except Exception:  # a bug must not lose the connection; count and carry on
                counters.rejected("internal_error", f"source {name}", "see traceback")
                log.exception("mqtt source %s: message handling failed", name)
                continue
            if type(routed) is Sighting:
                sightings.append(routed)
            elif isinstance(routed, Filtered):
                counters.filtered(routed.reason)
            else:
                statuses.append(routed)  # type: ignore[arg-type]
        if not sightings and not statuses:
            link.ack(to_ack)
            return
        worker = self._worker
        assert worker is not None
        worker.offer_batch(
            sightings, counters, statuses=statuses,
            done=self._batch_done(link, to_ack, len(statuses)), wait_s=self._wait_s,
        )  # fmt: skip
        # Dropped (queue full): with QoS 1 it is not acknowledged, so the broker sends it
        # again after the next reconnect; with QoS 0 it is gone, and counted.

    def _batch_done(
        self, link: MqttLink, to_ack: list[int], statuses: int
    ) -> Callable[[Sequence[Result]], None]:
        counters = self.counters

        def done(results: Sequence[Result]) -> None:
            counters.settle(results)
            if statuses:
                counters.status_applied(statuses)
            # The link is this connection: once it has closed, its acks go nowhere, and
            # the broker redelivers those messages on the next connection.
            link.ack(to_ack)

        return done


def mqtt_feeds(sources: Sequence[MqttSource], rules: RoutingRules) -> list[MqttFeed]:
    """One feed per configured source, each with the shared rules plus its own filters."""
    return [MqttFeed(source, rules) for source in sources]
