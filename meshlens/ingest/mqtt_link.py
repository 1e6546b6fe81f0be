"""One MQTT v5 subscriber connection: blocking I/O on its caller's thread, whole batches out.

Built on the `mqtt5` codec (packets to and from bytes, in Rust, no I/O of its own): the
link reads the socket in large chunks and parses every complete packet in them at once,
so receiving a message costs a few microseconds where paho spent ~40 (docs/architecture.md,
"Live MQTT receipt"). It speaks only what a subscriber needs: CONNECT, SUBSCRIBE, PUBLISH
in (QoS 0 and 1), PUBACK out, PINGREQ when idle and DISCONNECT on close, over a
transport of meshlens/ingest/mqtt_transport.py (TCP, TLS or WebSocket).

Everything the broker sends is hostile until parsed: a malformed packet, a protocol
violation, a dead link or a closed connection each raise a LinkError subclass
(meshlens/ingest/mqtt_errors.py), and the caller drops this connection and makes a new one.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

import mqtt5

from meshlens.ingest.mqtt_errors import (
    ConnectRefusedError,
    LinkClosedError,
    LinkError,
    LinkTimeoutError,
    MalformedPacketError,
    ProtocolViolationError,
)
from meshlens.ingest.mqtt_transport import Endpoint, Transport, open_transport
from meshlens.records import Clock, SystemClock

KEEPALIVE_S = 30  # protocol §2.1
# Read this much per system call: hundreds of messages at a time under load.
CHUNK_BYTES = 256 * 1024
# The largest packet accepted (told to the broker in CONNECT, which then never sends a
# larger one); far above any meshcoretomqtt message, which routing caps at 16 KiB.
MAX_PACKET_BYTES = 1024 * 1024
_PACKET_TYPES_SENT_TO_US = "CONNACK, PUBLISH, PUBACK, SUBACK, PINGRESP, DISCONNECT"
_Answer = TypeVar("_Answer", mqtt5.ConnAckPacket, mqtt5.SubAckPacket)


@dataclass(frozen=True, slots=True)
class Login:
    """The CONNECT packet's session and credentials."""

    client_id: str
    username: str | None = None
    password: str | None = None
    clean_start: bool = True
    session_expiry_s: int = 0  # 0: the session ends with the connection
    keepalive_s: int = KEEPALIVE_S


@dataclass(frozen=True, slots=True)
class Subscription:
    """The broker's answers to CONNECT and SUBSCRIBE."""

    session_present: bool
    refused: tuple[str, ...]  # "<filter>: <reason>" for each filter the broker refused


def puback(packet_id: int) -> bytes:
    """A PUBACK with reason Success and no properties (its shortest form, §3.4.2.1)."""
    return bytes((0x40, 2, packet_id >> 8, packet_id & 0xFF))


class MqttLink:
    """A subscriber's half of one MQTT v5 connection, over a connected transport."""

    def __init__(
        self,
        transport: Transport,
        *,
        keepalive_s: float = KEEPALIVE_S,
        clock: Clock | None = None,
        chunk_bytes: int = CHUNK_BYTES,
        max_packet_bytes: int = MAX_PACKET_BYTES,
    ) -> None:
        self._transport = transport
        self._clock = clock or SystemClock()
        self._keepalive_s = float(keepalive_s)
        self._buf = bytearray(chunk_bytes)
        self._view = memoryview(self._buf)
        self._start = self._end = 0  # unparsed bytes are _buf[_start:_end]
        self._max_packet = max_packet_bytes
        self._send_lock = threading.Lock()  # acks come from the ingest worker's thread
        self._closed = False
        now = self._clock.monotonic_s()
        self._last_sent = self._last_received = now
        self._ping_sent_at: float | None = None
        self._held: list[mqtt5.PublishPacket] = []  # arrived before SUBACK
        self._expecting: type | None = None  # CONNACK or SUBACK, while waiting for it
        self._answer: object = None
        self._packet_ids = 0

    # --- setting up ----------------------------------------------------------------

    def connect(self, login: Login, timeout_s: float) -> bool:
        """Send CONNECT and wait for CONNACK; whether the broker kept our session."""
        packet = mqtt5.ConnectPacket(
            login.client_id,
            username=login.username,
            password=login.password.encode() if login.password is not None else None,
            clean_start=login.clean_start,
            keep_alive=int(self._keepalive_s),
            session_expiry_interval=login.session_expiry_s,
            max_packet_size=self._max_packet,
            topic_alias_max=0,  # every PUBLISH carries its topic
        )
        self._send(packet.write())
        connack = self._await(mqtt5.ConnAckPacket, timeout_s, "CONNACK")
        if connack.reason_code != mqtt5.ConnAckReasonCode.SUCCESS:
            why = f": {connack.reason_str}" if connack.reason_str else ""
            raise ConnectRefusedError(
                f"broker refused the connection ({connack.reason_code.name}{why})"
            )
        if connack.server_keep_alive is not None:  # the broker's choice wins (§3.2.2.3.14)
            self._keepalive_s = float(connack.server_keep_alive)
        return bool(connack.session_present)

    def subscribe(self, filters: Sequence[str], qos: int, timeout_s: float) -> tuple[str, ...]:
        """Subscribe to `filters` and wait for SUBACK; the refused ones with their reasons."""
        max_qos = mqtt5.QoS.AT_LEAST_ONCE if qos else mqtt5.QoS.AT_MOST_ONCE
        packet_id = self._next_packet_id()
        topic_filters = [mqtt5.TopicFilter(f, max_qos=max_qos) for f in filters]
        self._send(mqtt5.SubscribePacket(packet_id, topic_filters).write())
        suback = self._await(mqtt5.SubAckPacket, timeout_s, "SUBACK")
        if suback.packet_id != packet_id:
            raise ProtocolViolationError(f"SUBACK for packet {suback.packet_id}, not {packet_id}")
        codes = list(suback.reason_codes)
        if len(codes) != len(filters):
            raise ProtocolViolationError(
                f"SUBACK has {len(codes)} reasons for {len(filters)} filters"
            )
        return tuple(
            f"{topic}: {code.name}"
            for topic, code in zip(filters, codes, strict=True)
            if int(code) >= 0x80
        )

    def _await(self, kind: type[_Answer], timeout_s: float, name: str) -> _Answer:
        """Read until a packet of `kind` arrives; PUBLISHes meanwhile are held for `receive`."""
        deadline = self._clock.monotonic_s() + timeout_s
        self._expecting, self._answer = kind, None
        try:
            while True:
                self._held += self._parse()
                if isinstance(self._answer, kind):
                    return self._answer
                remaining = deadline - self._clock.monotonic_s()
                if remaining <= 0:
                    raise LinkTimeoutError(f"no {name} within {timeout_s:.0f} s")
                self._fill(remaining)
        finally:
            self._expecting, self._answer = None, None

    # --- receiving -----------------------------------------------------------------

    def receive(self) -> list[mqtt5.PublishPacket]:
        """The next PUBLISH packets: every complete one received so far (at least one).

        Blocks until one arrives, sending PINGREQ while idle; raises LinkError when the
        connection fails or `close` is called.
        """
        if self._held:
            held, self._held = self._held, []
            return held
        while True:
            batch = self._parse()
            now = self._clock.monotonic_s()
            if batch:
                if now - self._last_sent >= self._keepalive_s:
                    self._ping()  # busy receiving but sending nothing (QoS 0)
                return batch
            self._fill(self._keep_alive(now))

    def receive_waiting(self) -> list[mqtt5.PublishPacket]:
        """The PUBLISH packets that have arrived by now, without waiting (maybe none).

        One read of what the transport holds; a packet only partly here stays for the next.
        """
        self._fill(0.0)
        return self._parse()

    def _fill(self, timeout_s: float) -> None:
        """One read from the transport into the buffer (making room first)."""
        if self._start == self._end:
            self._start = self._end = 0
        elif self._end == len(self._buf):
            self._make_room()
        try:
            got = self._transport.recv_into(self._view[self._end :], timeout_s)
        except TimeoutError:
            return
        except OSError as err:
            raise LinkClosedError(self._why_closed(f"{type(err).__name__}: {err}")) from None
        if got == 0:
            raise LinkClosedError(self._why_closed("the broker closed the connection"))
        self._end += got
        self._last_received = self._clock.monotonic_s()
        self._ping_sent_at = None  # anything received shows the link is alive

    def _make_room(self) -> None:
        """Move a partial packet to the front, or grow the buffer for one that large."""
        pending = self._end - self._start
        if pending == len(self._buf):
            if len(self._buf) >= self._max_packet + 5:  # fixed header at most 5 bytes
                raise MalformedPacketError(f"a packet larger than {self._max_packet} bytes")
            grown = bytearray(min(2 * len(self._buf), self._max_packet + 5))
            grown[:pending] = self._view[self._start : self._end]
            self._view.release()
            self._buf, self._view = grown, memoryview(grown)
        else:
            self._view[:pending] = self._view[self._start : self._end]
        self._start, self._end = 0, pending

    def _parse(self) -> list[mqtt5.PublishPacket]:
        """Every complete packet in the buffer: PUBLISHes returned, the rest handled here."""
        out: list[mqtt5.PublishPacket] = []
        view, pos, end = self._view, self._start, self._end
        read, publish, exactly_once = mqtt5.read, mqtt5.PublishPacket, mqtt5.QoS.EXACTLY_ONCE
        try:
            while pos < end:
                try:
                    packet, size = read(view[pos:end])
                except IndexError:  # "Not enough bytes": the rest is still on its way
                    self._check_incomplete(pos, end)
                    break
                pos += size
                if type(packet) is publish:
                    if packet.qos == exactly_once:
                        raise ProtocolViolationError("a QoS 2 PUBLISH on a QoS 0/1 subscription")
                    out.append(packet)
                elif self._expecting is not None and type(packet) is self._expecting:
                    self._answer = packet
                else:
                    self._control(packet)
        except ValueError as err:  # the codec's word for a malformed packet
            raise MalformedPacketError(str(err)) from None
        except BaseException as err:
            # The codec panics (pyo3's PanicException, a BaseException) on some invalid
            # UTF-8 strings; that is a malformed packet too, not a reason to stop.
            if type(err).__name__ != "PanicException":
                raise
            raise MalformedPacketError(f"undecodable packet ({err})") from None
        finally:
            self._start = pos
        return out

    def _check_incomplete(self, pos: int, end: int) -> None:
        """Raise if the packet at `pos` says it is complete yet the codec wanted more."""
        length, shift, index = 0, 0, pos + 1
        while index < end and index <= pos + 4:
            byte = self._buf[index]
            length |= (byte & 0x7F) << shift
            shift += 7
            index += 1
            if not byte & 0x80:
                total = index - pos + length
                if total > self._max_packet + 5:
                    raise MalformedPacketError(
                        f"a packet of {total} bytes (limit {self._max_packet})"
                    )
                if end - pos >= total:
                    raise MalformedPacketError("a packet shorter than its contents")
                return
        if index > pos + 4:
            raise MalformedPacketError("invalid remaining length")

    def _control(self, packet: object) -> None:
        """A packet other than PUBLISH."""
        if isinstance(packet, mqtt5.PingRespPacket | mqtt5.PubAckPacket):
            return  # the link is alive (noted on receipt); we never publish, so no PUBACK
        if isinstance(packet, mqtt5.DisconnectPacket):
            why = f": {packet.reason_str}" if packet.reason_str else ""
            raise LinkClosedError(f"the broker disconnected us ({packet.reason_code.name}{why})")
        raise ProtocolViolationError(
            f"unexpected {type(packet).__name__} (a subscriber expects {_PACKET_TYPES_SENT_TO_US})"
        )

    def _keep_alive(self, now: float) -> float:
        """PINGREQ when due; raise when a ping went unanswered; seconds until next check."""
        keepalive = self._keepalive_s
        if keepalive <= 0:
            return 1.0  # no keepalive agreed: just poll, so `close` is noticed
        if self._ping_sent_at is not None:
            waited = now - self._ping_sent_at
            if waited >= keepalive:
                raise LinkTimeoutError(f"no answer to PINGREQ within {keepalive:.0f} s")
            return keepalive - waited
        # Ping when we have sent nothing for a keepalive (the broker's rule), and also
        # when we have heard nothing for one (ours: a silent broker may be a dead one).
        due = min(self._last_sent, self._last_received) + keepalive
        if now >= due:
            self._ping()
            return keepalive
        return due - now

    def _ping(self) -> None:
        self._send(mqtt5.PingReqPacket().write())
        self._ping_sent_at = self._clock.monotonic_s()

    # --- sending -------------------------------------------------------------------

    def ack(self, packet_ids: Sequence[int]) -> None:
        """PUBACK these QoS 1 messages (any thread); ignored once the link is closed.

        A message left unacknowledged on a connection that failed is sent again by the
        broker on the next one, so an ack that cannot be sent is not an error here.
        """
        if not packet_ids:
            return
        with contextlib.suppress(LinkError):
            self._send(b"".join(map(puback, packet_ids)))

    def close(self) -> None:
        """DISCONNECT (normal) and close; safe from any thread, and twice."""
        with self._send_lock:
            if self._closed:
                return
            self._closed = True
            with contextlib.suppress(OSError):  # the connection may be gone already
                self._transport.send(mqtt5.DisconnectPacket().write())
        self._transport.close()

    @property
    def closed(self) -> bool:
        """Whether `close` was called."""
        return self._closed

    def _send(self, data: bytes) -> None:
        with self._send_lock:
            if self._closed:
                raise LinkClosedError("the link is closed")
            try:
                self._transport.send(data)
            except OSError as err:
                raise LinkClosedError(f"sending failed: {type(err).__name__}: {err}") from None
            self._last_sent = self._clock.monotonic_s()

    def _next_packet_id(self) -> int:
        self._packet_ids = self._packet_ids % 0xFFFF + 1
        return self._packet_ids

    def _why_closed(self, detail: str) -> str:
        return "the link was closed" if self._closed else detail


def open_link(
    endpoint: Endpoint, login: Login, *, clock: Clock | None = None
) -> tuple[MqttLink, bool]:
    """Connect and log in within the connect timeout: the link and whether the session was kept."""
    transport = open_transport(endpoint)
    link = MqttLink(transport, keepalive_s=login.keepalive_s, clock=clock)
    try:
        present = link.connect(login, endpoint.connect_timeout_s)
    except BaseException:
        link.close()
        raise
    return link, present
