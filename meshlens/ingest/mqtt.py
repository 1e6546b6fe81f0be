"""Live MQTT sources: one paho client per broker, each on its own supervised thread.

A source connects, subscribes to its topics, and offers what arrives to the IngestWorker.
When the connection drops (or never comes up) it waits with a capped exponential backoff
and tries again, re-subscribing on every connect; one broker failing never touches the
others. With `qos: 1` a message is acknowledged only once its write has committed, so
with a persistent session nothing the broker accepted is lost if meshlens dies.
"""

from __future__ import annotations

import logging
import secrets
import ssl
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from meshlens.config import MqttSource
from meshlens.errors import InputError
from meshlens.ingest.pipeline import Result
from meshlens.ingest.routing import Filtered, RoutingRules, route_message
from meshlens.ingest.source_counters import SourceCounters, SourceSnapshot
from meshlens.ingest.status import ObserverStatus
from meshlens.ingest.worker import IngestWorker
from meshlens.records import Clock, SystemClock

log = logging.getLogger("meshlens.mqtt")

KEEPALIVE_S = 30  # protocol §2.1
MIN_BACKOFF_S = 0.25
# With QoS 1 a full queue makes the broker wait a moment rather than lose the message.
QOS1_WAIT_S = 1.0
_FAILURE_LOG_EVERY_S = 60.0
_READ_AHEAD_BYTES = 64 * 1024


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


class _ReadAhead:
    """A TCP or TLS socket that reads in large chunks and hands paho the bytes it asks for.

    paho reads each packet with three or four tiny recv calls, and at thousands of
    messages a second those system calls cost more than the rest of receiving one.
    `pending` tells paho's loop that bytes wait here, so it does not block in select.
    """

    def __init__(self, sock: Any) -> None:
        self._sock = sock
        self._buf = bytearray(_READ_AHEAD_BYTES)
        self._view = memoryview(self._buf)
        self._pos = self._end = 0

    def recv(self, size: int) -> bytes:
        """Up to `size` bytes: from what was read ahead, else after one large read."""
        if self._pos == self._end:
            got = self._sock.recv_into(self._buf)
            if got == 0:
                return b""  # the peer closed
            self._pos, self._end = 0, got
        take = min(size, self._end - self._pos)
        out = bytes(self._view[self._pos : self._pos + take])
        self._pos += take
        return out

    def pending(self) -> int:
        """Bytes read ahead (plus what a TLS layer holds)."""
        inner = self._sock.pending() if hasattr(self._sock, "pending") else 0
        return self._end - self._pos + int(inner)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class _Client(mqtt.Client):
    """paho's client, reading ahead on TCP and TLS sockets (websockets frame their own).

    It also closes what a failed connection attempt opened: paho drops a socket whose TLS
    or websocket handshake failed and leaves it to the garbage collector (with a
    ResourceWarning), once per retry of a source that cannot connect.
    """

    _opened: list[Any]

    def _create_socket(self) -> Any:
        self._opened = []
        try:
            sock = super()._create_socket()
        except BaseException:
            for opened in reversed(self._opened):
                opened.close()
            raise
        finally:
            self._opened = []  # keep no reference to this attempt's sockets
        return sock if self._transport == "websockets" else _ReadAhead(sock)

    def _create_socket_connection(self) -> Any:
        sock = super()._create_socket_connection()
        self._opened.append(sock)
        return sock

    def _ssl_wrap_socket(self, tcp_sock: Any) -> Any:
        # paho's steps, with the TLS socket recorded before its handshake can fail. The
        # context (tls_set in _build_client) checks the chain and, when verifying, the
        # host name itself, so paho's fallback checks for older contexts are not needed.
        context = self._ssl_context
        assert context is not None
        sock = context.wrap_socket(
            tcp_sock, server_hostname=self._host, do_handshake_on_connect=False
        )
        self._opened.append(sock)
        sock.settimeout(self._connect_timeout)
        sock.do_handshake()
        return sock


def client_id_for(source: MqttSource) -> str:
    """The configured id; a fixed one for a persistent session (the broker keys it by id)."""
    if source.client_id:
        return source.client_id
    if source.persistent_session:
        return f"meshlens-{source.name}"
    return f"meshlens-{source.name}-{secrets.token_hex(4)}"


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
        self._epoch = 0  # bumped per connection: an ack never crosses into a new one
        self._stop = threading.Event()
        self._connected = threading.Condition()
        self._backoff = Backoff(min_backoff_s, source.reconnect_max_s)
        self._worker: IngestWorker | None = None
        self._thread: threading.Thread | None = None
        self._client = self._build_client()
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
        self._client.disconnect()
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

    def _build_client(self) -> mqtt.Client:
        source = self.source
        client = _Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id_for(source),
            protocol=mqtt.MQTTv5 if source.protocol_version == 5 else mqtt.MQTTv311,
            clean_session=None if source.protocol_version == 5 else not source.persistent_session,
            transport="websockets" if source.broker.transport == "websockets" else "tcp",
            reconnect_on_failure=False,  # _supervise reconnects, with its own backoff
            manual_ack=source.qos == 1,
        )
        client.connect_timeout = float(source.connect_timeout_s)
        if source.username:
            password = source.password.reveal() if source.password else None
            client.username_pw_set(source.username, password)
        if source.broker.tls:
            verify = source.reject_unauthorized
            client.tls_set(cert_reqs=ssl.CERT_REQUIRED if verify else ssl.CERT_NONE)
            client.tls_insecure_set(not verify)
        if source.broker.transport == "websockets":
            client.ws_set_options(path=source.broker.path or "/mqtt")
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        return client

    def _supervise(self) -> None:
        """Connect, run the network loop until the link drops, back off, repeat."""
        while not self._stop.is_set():
            try:
                self._connect_and_loop()
            except Exception as err:  # a failed attempt: count it, log it, try again
                self._failed(err)
            if self._stop.is_set():
                break
            self._stop.wait(self._backoff.next_s())

    def _connect_and_loop(self) -> None:
        source = self.source
        if source.protocol_version == 5:
            properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            properties.SessionExpiryInterval = (
                source.session_expiry_s if source.persistent_session else 0
            )
            self._client.connect(
                source.broker.host, source.broker.port, keepalive=KEEPALIVE_S,
                clean_start=not source.persistent_session, properties=properties,
            )  # fmt: skip
        else:  # 3.1.1: the session's lifetime is the broker's to decide
            self._client.connect(source.broker.host, source.broker.port, keepalive=KEEPALIVE_S)
        self._client.loop_forever()

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

    def _on_connect(
        self, client: mqtt.Client, _: object, flags: Any, reason: Any, __: object
    ) -> None:
        if reason.is_failure:
            self._failed(ConnectionError(f"broker refused the connection: {reason}"))
            return
        if self._stop.is_set():  # stop() came while this connection was being made
            client.disconnect()
            return
        qos, topics = self.source.qos, self.source.topics
        if self.source.protocol_version == 5:
            client.subscribe([(topic, SubscribeOptions(qos=qos)) for topic in topics])
        else:
            client.subscribe([(topic, qos) for topic in topics])
        self._backoff.reset()
        self._epoch += 1
        present = bool(getattr(flags, "session_present", False))
        with self._state_lock:
            connects = self._state.connects + 1
        self._set_state(
            connected=True, connects=connects, since_ms=self._clock.now_ms(),
            session_present=present, last_error=None,
        )  # fmt: skip
        log.info(
            "mqtt source %s: connected to %s, subscribed to %s%s",
            self.name, self.source.broker, ", ".join(self.source.topics),
            " (session resumed)" if present else "",
        )  # fmt: skip

    def _on_subscribe(
        self, _: mqtt.Client, __: object, ___: int, reasons: list[Any], ____: object
    ) -> None:
        refused = [str(r) for r in reasons if r.is_failure]
        if refused:  # e.g. a broker without shared subscriptions, or an ACL
            log.error("mqtt source %s: subscription refused: %s", self.name, ", ".join(refused))
            self._set_state(last_error=f"subscription refused: {', '.join(refused)}")
        self._set_state(subscribed=True)

    def _on_disconnect(
        self, _: mqtt.Client, __: object, ___: Any, reason: Any, ____: object
    ) -> None:
        was = self.state
        if not was.connected:
            return
        self._set_state(
            connected=False, subscribed=False, disconnects=was.disconnects + 1,
            since_ms=self._clock.now_ms(),
            last_error=None if self._stop.is_set() else f"disconnected: {reason}",
        )  # fmt: skip
        if not self._stop.is_set():
            log.warning("mqtt source %s: connection lost (%s); reconnecting", self.name, reason)

    # --- messages (paho's thread; must never raise) ------------------------------------

    def _on_message(self, client: mqtt.Client, _: object, message: mqtt.MQTTMessage) -> None:
        try:
            self._receive(client, message)
        except Exception:  # a bug must not kill the network thread; count and carry on
            self.counters.rejected("internal_error", f"source {self.name}", "see traceback")
            log.exception("mqtt source %s: message handling failed", self.name)

    def _receive(self, client: mqtt.Client, message: mqtt.MQTTMessage) -> None:
        counters = self.counters
        counters.received()
        ack = self._acker(client, message)
        try:
            topic = message.topic
        except UnicodeDecodeError:
            counters.rejected("bad_topic", f"source {self.name}", "topic is not UTF-8")
            ack()
            return
        try:
            routed = route_message(
                topic, message.payload, self.rules, received_at_ms=self._clock.now_ms()
            )
        except InputError as err:
            counters.rejected(err.reason, err.where, err.detail)
            ack()
            return
        if isinstance(routed, Filtered):
            counters.filtered(routed.reason)
            ack()
            return
        worker = self._worker
        assert worker is not None
        if isinstance(routed, ObserverStatus):
            worker.offer_status(routed, counters, done=self._status_done(ack), wait_s=self._wait_s)
        else:
            worker.offer(routed, counters, done=self._sighting_done(ack), wait_s=self._wait_s)
        # Dropped (queue full): with QoS 1 it is not acknowledged, so the broker sends it
        # again after the next reconnect; with QoS 0 it is gone, and counted.

    def _acker(self, client: mqtt.Client, message: mqtt.MQTTMessage) -> Callable[[], None]:
        if message.qos == 0 or self.source.qos == 0:
            return _nothing
        epoch, mid, qos = self._epoch, message.mid, message.qos

        def ack() -> None:
            # A message from an earlier connection is redelivered by the broker; acking
            # its old id now could acknowledge a different message with the same id.
            if epoch == self._epoch:
                client.ack(mid, qos)

        return ack

    def _sighting_done(self, ack: Callable[[], None]) -> Callable[[Sequence[Result]], None]:
        if ack is _nothing:
            return self.counters.settle

        def done(results: Sequence[Result]) -> None:
            self.counters.settle(results)
            ack()

        return done

    def _status_done(self, ack: Callable[[], None]) -> Callable[[Sequence[Result]], None]:
        def done(_: Sequence[Result]) -> None:
            self.counters.status_applied()
            ack()

        return done


def _nothing() -> None:
    """The acknowledgement of a QoS 0 message: there is none."""


def mqtt_feeds(sources: Sequence[MqttSource], rules: RoutingRules) -> list[MqttFeed]:
    """One feed per configured source, each with the shared rules plus its own filters."""
    return [MqttFeed(source, rules) for source in sources]
