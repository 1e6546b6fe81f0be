"""The MQTT v5 link: framing, keepalive, and hostile bytes, over a scripted byte stream."""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Iterable

import mqtt5
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meshlens.ingest.mqtt_errors import (
    ConnectRefusedError,
    LinkClosedError,
    LinkTimeoutError,
    MalformedPacketError,
    ProtocolViolationError,
)
from meshlens.ingest.mqtt_link import Login, MqttLink, puback
from meshlens.records import FakeClock

QOS1 = mqtt5.QoS.AT_LEAST_ONCE


class ScriptedBroker:
    """A transport that hands the link scripted chunks; None is a read that times out.

    A timed-out read moves the fake clock by the time the link asked to wait, as a real
    socket would have; when the script runs out the broker has closed the connection.
    """

    def __init__(self, clock: FakeClock, chunks: Iterable[bytes | None] = ()) -> None:
        self.clock = clock
        self.chunks: deque[bytes | None] = deque(chunks)
        self.sent: list[bytes] = []
        self.waits: list[float] = []
        self.closed = False

    def recv_into(self, buffer: memoryview, timeout_s: float) -> int:
        self.waits.append(timeout_s)
        if not self.chunks:
            return 0
        chunk = self.chunks.popleft()
        if chunk is None:
            self.clock.advance(timeout_s)
            raise TimeoutError
        take = min(len(chunk), len(buffer))
        buffer[:take] = chunk[:take]
        if take < len(chunk):
            self.chunks.appendleft(chunk[take:])
        return take

    def send(self, data: bytes) -> None:
        self.sent.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def sent_packets(self) -> list[object]:
        """What the link sent, parsed."""
        data = memoryview(b"".join(self.sent))
        out: list[object] = []
        pos = 0
        while pos < len(data):
            packet, size = mqtt5.read(data[pos:])
            out.append(packet)
            pos += size
        return out


def publish(topic: str, body: bytes, packet_id: int | None = None) -> bytes:
    """A PUBLISH as a broker sends it: QoS 1 when it has a packet id."""
    if packet_id is None:
        return mqtt5.PublishPacket(topic, body).write()
    return mqtt5.PublishPacket(topic, body, qos=QOS1, packet_id=packet_id).write()


def receive_all(link: MqttLink, count: int) -> list[mqtt5.PublishPacket]:
    """Receive until `count` messages have arrived."""
    got: list[mqtt5.PublishPacket] = []
    while len(got) < count:
        got += link.receive()
    return got


MESSAGES = [(f"meshcore/SEA/OBS{i}/packets", bytes([i]) * (i * 37 % 300)) for i in range(40)]
STREAM = b"".join(publish(t, b, i + 1 if i % 3 else None) for i, (t, b) in enumerate(MESSAGES))


@settings(max_examples=60, deadline=None)
@given(cuts=st.lists(st.integers(0, len(STREAM)), max_size=30), chunk=st.sampled_from([64, 4096]))
def test_packets_split_anywhere_across_reads_arrive_whole_and_in_order(
    cuts: list[int], chunk: int
) -> None:
    clock = FakeClock()
    points = sorted({0, len(STREAM), *cuts})
    broker = ScriptedBroker(clock, [STREAM[a:b] for a, b in itertools.pairwise(points)])
    # A 64-byte buffer is smaller than most of these packets: it grows to hold one.
    link = MqttLink(broker, clock=clock, chunk_bytes=chunk)
    got = receive_all(link, len(MESSAGES))
    assert [(p.topic, p.payload) for p in got] == MESSAGES
    assert [p.packet_id for p in got] == [i + 1 if i % 3 else None for i in range(40)]
    with pytest.raises(LinkClosedError, match="the broker closed the connection"):
        link.receive()


def test_every_complete_packet_in_one_read_comes_back_as_one_batch() -> None:
    clock = FakeClock()
    packets = [publish(t, b) for t, b in MESSAGES]
    pingresp = mqtt5.PingRespPacket().write()
    # Ten whole packets, a PINGRESP and half of the eleventh; then the rest.
    first = b"".join(packets[:10]) + pingresp + packets[10][:5]
    broker = ScriptedBroker(clock, [first, packets[10][5:] + b"".join(packets[11:])])
    link = MqttLink(broker, clock=clock)
    assert [p.topic for p in link.receive()] == [t for t, _ in MESSAGES[:10]]
    assert [p.topic for p in link.receive()] == [t for t, _ in MESSAGES[10:]]


def iter_packets(data: bytes) -> Iterable[object]:
    """The complete packets at the start of `data`."""
    view, pos = memoryview(data), 0
    while True:
        try:
            packet, size = mqtt5.read(view[pos:])
        except IndexError:
            return
        pos += size
        yield packet


def test_connect_sends_the_login_and_reads_the_session_flag() -> None:
    clock = FakeClock()
    connack = mqtt5.ConnAckPacket(session_present=True).write()
    broker = ScriptedBroker(clock, [connack])
    link = MqttLink(broker, clock=clock)
    login = Login("meshlens-x", username="u", password="p", clean_start=False,
                  session_expiry_s=600)  # fmt: skip
    assert link.connect(login, timeout_s=5) is True
    (connect,) = broker.sent_packets()
    assert isinstance(connect, mqtt5.ConnectPacket)
    assert (connect.client_id, connect.username, connect.password) == ("meshlens-x", "u", b"p")
    assert (connect.clean_start, connect.session_expiry_interval, connect.keep_alive) == (
        False, 600, 30
    )  # fmt: skip


def test_a_refused_connect_is_a_typed_error_with_the_reason() -> None:
    clock = FakeClock()
    connack = mqtt5.ConnAckPacket(reason_code=mqtt5.ConnAckReasonCode.NOT_AUTHORIZED).write()
    link = MqttLink(ScriptedBroker(clock, [connack]), clock=clock)
    with pytest.raises(ConnectRefusedError, match="NOT_AUTHORIZED"):
        link.connect(Login("x"), timeout_s=5)


def test_no_connack_within_the_timeout_is_a_timeout() -> None:
    clock = FakeClock()
    link = MqttLink(ScriptedBroker(clock, [None, None]), clock=clock)
    with pytest.raises(LinkTimeoutError, match="no CONNACK within 5 s"):
        link.connect(Login("x"), timeout_s=5)


def test_refused_filters_are_reported_and_messages_before_suback_are_kept() -> None:
    clock = FakeClock()
    codes = [mqtt5.SubAckReasonCode.GRANTED_QOS_AT_LEAST_ONCE,
             mqtt5.SubAckReasonCode.SHARED_SUBSCRIPTIONS_NOT_SUPPORTED]  # fmt: skip
    early = publish("a/SEA/O/packets", b"{}", packet_id=7)  # a persistent session's backlog
    broker = ScriptedBroker(clock, [early + mqtt5.SubAckPacket(1, codes).write()])
    link = MqttLink(broker, clock=clock)
    refused = link.subscribe(["a/#", "$share/g/b/#"], qos=1, timeout_s=5)
    assert refused == ("$share/g/b/#: SHARED_SUBSCRIPTIONS_NOT_SUPPORTED",)
    (subscribe,) = broker.sent_packets()
    assert isinstance(subscribe, mqtt5.SubscribePacket)
    assert [f.pattern for f in subscribe.topic_filters] == ["a/#", "$share/g/b/#"]
    assert [int(f.max_qos) for f in subscribe.topic_filters] == [1, 1]
    assert [(p.topic, p.packet_id) for p in link.receive()] == [("a/SEA/O/packets", 7)]


def test_acks_are_pubacks_with_the_packet_ids() -> None:
    clock = FakeClock()
    broker = ScriptedBroker(clock)
    link = MqttLink(broker, clock=clock)
    link.ack([1, 258, 65535])
    link.ack([])  # nothing to send
    assert b"".join(broker.sent) == b"".join(mqtt5.PubAckPacket(i).write() for i in (1, 258, 65535))
    assert puback(258) == b"\x40\x02\x01\x02"
    link.close()
    link.ack([3])  # after close: nowhere to go, and no error
    assert isinstance(broker.sent_packets()[-1], mqtt5.DisconnectPacket)
    assert broker.closed


def test_an_idle_link_pings_and_a_dead_one_times_out() -> None:
    clock = FakeClock()
    pingresp = mqtt5.PingRespPacket().write()
    # Silence, a PINGRESP, silence, then no answer to the second PINGREQ.
    broker = ScriptedBroker(clock, [None, pingresp, None, None])
    link = MqttLink(broker, clock=clock, keepalive_s=30)
    start = clock.monotonic_s()
    with pytest.raises(LinkTimeoutError, match="no answer to PINGREQ within 30 s"):
        link.receive()
    sent = broker.sent_packets()
    assert [type(p).__name__ for p in sent] == ["PingReqPacket", "PingReqPacket"]
    # It waited a keepalive before each ping, and a keepalive for the missing answer.
    assert broker.waits == [30.0, 30.0, 30.0, 30.0]
    assert clock.monotonic_s() - start == pytest.approx(90.0)


def test_a_busy_qos0_link_still_pings_once_per_keepalive() -> None:
    clock = FakeClock()
    one = publish("a/SEA/O/packets", b"{}")
    broker = ScriptedBroker(clock, [one, one])
    link = MqttLink(broker, clock=clock, keepalive_s=30)
    assert len(link.receive()) == 1
    assert broker.sent == []
    clock.advance(31)  # receiving all the while, but sending nothing
    assert len(link.receive()) == 1
    assert [type(p).__name__ for p in broker.sent_packets()] == ["PingReqPacket"]


QOS2 = mqtt5.PublishPacket("t", b"", qos=mqtt5.QoS.EXACTLY_ONCE, packet_id=1).write()
TAKEN_OVER = mqtt5.DisconnectPacket(
    reason_code=mqtt5.DisconnectReasonCode.SESSION_TAKEN_OVER
).write()
UNRAISABLE = "ignore::pytest.PytestUnraisableExceptionWarning"
BAD_BYTES = [
    (b"\x00\x00", MalformedPacketError, "PacketType"),  # packet type 0 does not exist
    (b"\x30\xff\xff\xff\xff\x01", MalformedPacketError, "remaining length|variable byte"),
    # A topic that is not UTF-8: the codec panics (and prints why); still a typed error.
    pytest.param(
        b"\x30\x05\x00\x02\xff\xfe\x00",
        MalformedPacketError,
        "undecodable",
        marks=pytest.mark.filterwarnings(UNRAISABLE),
    ),
    (b"\x30\x03\x00\x09a", MalformedPacketError, "."),  # topic longer than the packet
    (b"\x30\xff\xff\x7f", MalformedPacketError, "packet of"),  # past our maximum size
    (mqtt5.ConnAckPacket().write(), ProtocolViolationError, "unexpected ConnAckPacket"),
    (QOS2, ProtocolViolationError, "QoS 2"),
    (TAKEN_OVER, LinkClosedError, "SESSION_TAKEN_OVER"),
]


@pytest.mark.parametrize(("data", "error", "match"), BAD_BYTES)
def test_hostile_bytes_end_the_link_with_a_typed_error(
    data: bytes, error: type[Exception], match: str
) -> None:
    clock = FakeClock()
    good = publish("a/SEA/O/packets", b"{}")
    link = MqttLink(ScriptedBroker(clock, [good, data + good]), clock=clock)
    assert len(link.receive()) == 1
    with pytest.raises(error, match=match):
        link.receive()


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=64))
def test_any_bytes_from_the_broker_give_packets_or_a_link_error_never_another_exception(
    data: bytes,
) -> None:
    clock = FakeClock()
    link = MqttLink(ScriptedBroker(clock, [STREAM[:200] + data]), clock=clock)
    with pytest.raises((LinkClosedError, MalformedPacketError, ProtocolViolationError)):
        while True:
            link.receive()
