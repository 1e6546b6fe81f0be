"""Receipt against the real Mosquitto: the link's sessions, and a receipt process that dies."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import psutil
import pytest

from meshlens.config import Settings
from meshlens.config.mqtt_sources import BrokerUrl, MqttSource
from meshlens.ingest.mqtt import MqttFeed
from meshlens.ingest.mqtt_link import Login, MqttLink, open_link
from meshlens.ingest.mqtt_process import ChildReceipt
from meshlens.ingest.mqtt_receipt import Acks, Receipt, RoutedBatch
from meshlens.ingest.mqtt_transport import Endpoint
from meshlens.ingest.routing import RoutingRules
from meshlens.ingest.worker import IngestWorker
from meshlens.storage import open_storage
from meshlens.wire.channels import PUBLIC_KEY_HEX
from tests.ingest.brokers import Publisher, unique_prefix
from tests.ingest.helpers import channel_frame, packet_message
from tests.ingest.test_mqtt_end_to_end import wait_for

pytestmark = pytest.mark.broker

KEY = bytes.fromhex(PUBLIC_KEY_HEX)


def receive(link: MqttLink, count: int) -> list[tuple[str, bytes, int | None]]:
    """(topic, payload, packet id) of the next `count` messages."""
    got: list[tuple[str, bytes, int | None]] = []
    while len(got) < count:
        got += [(p.topic, p.payload, p.packet_id) for p in link.receive()]
    return got


def test_an_unacknowledged_qos1_message_comes_again_on_the_next_connection(
    shared_broker: int, publisher: Publisher
) -> None:
    prefix = unique_prefix()
    endpoint = Endpoint("127.0.0.1", shared_broker, connect_timeout_s=10)
    login = Login(f"meshlens-{prefix}", clean_start=True, session_expiry_s=60)
    link, present = open_link(endpoint, login)
    assert not present
    assert link.subscribe([f"{prefix}/#"], qos=1, timeout_s=10) == ()
    publisher.publish_all([(f"{prefix}/a", b"one"), (f"{prefix}/b", b"two")], qos=1)
    first = receive(link, 2)
    assert [(t, p) for t, p, _ in first] == [(f"{prefix}/a", b"one"), (f"{prefix}/b", b"two")]
    assert all(packet_id is not None for _, _, packet_id in first)
    link.ack([first[0][2]])  # type: ignore[list-item]
    link.close()

    # The session was kept; the acknowledged message is done, the other is sent again.
    again, present = open_link(endpoint, Login(login.client_id, clean_start=False,
                                               session_expiry_s=0))  # fmt: skip
    try:
        assert present
        assert [(t, p) for t, p, _ in receive(again, 1)] == [(f"{prefix}/b", b"two")]
    finally:
        again.close()


def test_a_killed_receipt_process_is_replaced_and_messages_keep_arriving(
    tmp_path: Path, shared_broker: int, publisher: Publisher
) -> None:
    prefix = unique_prefix()
    storage = open_storage(Settings(db_path=tmp_path / "child.db"))
    worker = IngestWorker(storage.pipeline, batch_latency_s=0.01)
    worker.start()
    source = MqttSource("child", BrokerUrl("mqtt", "127.0.0.1", shared_broker),
                        topics=(f"{prefix}/+/+/packets",), reconnect_max_s=0.5)  # fmt: skip
    feed = MqttFeed(source, RoutingRules(), child_process=True)
    topic = f"{prefix}/SEA/OBS1/packets"

    def messages(tag: str) -> list[tuple[str, bytes]]:
        return [
            (topic, packet_message(channel_frame(KEY, f"{prefix} {tag} {i}"))) for i in range(20)
        ]

    try:
        feed.start(worker)
        assert feed.wait_subscribed(timeout_s=30)
        publisher.publish_all(messages("before"))
        wait_for(lambda: feed.snapshot().decoded == 20)
        pid = feed.receipt_pid
        assert pid is not None and pid != os.getpid()
        os.kill(pid, signal.SIGKILL)
        wait_for(lambda: feed.state.failures == 1)
        assert "receipt process exited (code -9)" in (feed.state.last_error or "")
        assert feed.wait_subscribed(connects=2, timeout_s=30)
        publisher.publish_all(messages("after"))
        wait_for(lambda: feed.snapshot().decoded == 40)
    finally:
        feed.stop()
        worker.stop()
        storage.close()
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert feed.receipt_pid is None or not psutil.pid_exists(feed.receipt_pid)
    assert worker.counters.snapshot().stored_observations == 40


class Deliveries:
    """ReceiptEvents that keep how many messages each delivered batch held."""

    def __init__(self) -> None:
        self.sizes: list[int] = []
        self.subscribed_ = threading.Event()
        self.all_in = threading.Event()
        self.expected = 0

    def connected(self, session_present: bool) -> None:
        del session_present

    def subscribed(self, refused: list[str]) -> None:
        del refused
        self.subscribed_.set()

    def lost(self, reason: str, protocol_error: bool) -> None:
        del reason, protocol_error

    def failed(self, reason: str) -> None:
        del reason

    def disconnected(self) -> None:
        pass

    def deliver(self, batch: RoutedBatch, acks: Acks) -> None:
        del acks
        self.sizes.append(batch.received)
        if sum(self.sizes) >= self.expected:
            self.all_in.set()


def test_receive_waiting_returns_at_once_with_what_has_arrived(
    shared_broker: int, publisher: Publisher
) -> None:
    prefix = unique_prefix()
    endpoint = Endpoint("127.0.0.1", shared_broker, connect_timeout_s=10)
    link, _ = open_link(endpoint, Login(f"meshlens-{prefix}", clean_start=True))
    try:
        assert link.subscribe([f"{prefix}/#"], qos=0, timeout_s=10) == ()
        assert link.receive_waiting() == []  # nothing sent: no wait for anything
        publisher.publish_all([(f"{prefix}/{i}", b"x") for i in range(20)])
        got = [p.topic for p in link.receive()]
        while len(got) < 20:
            got += [p.topic for p in link.receive_waiting()]
        assert got == [f"{prefix}/{i}" for i in range(20)]
        assert link.receive_waiting() == []
    finally:
        link.close()


@pytest.mark.parametrize(("gather_s", "child"), [(0.0, False), (2.0, False), (2.0, True)])
def test_a_gathering_receipt_reads_a_trickle_in_one_batch_and_loses_none(
    shared_broker: int, publisher: Publisher, gather_s: float, child: bool
) -> None:
    prefix = unique_prefix()
    source = MqttSource("s", BrokerUrl("mqtt", "127.0.0.1", shared_broker), topics=(f"{prefix}/#",))
    events = Deliveries()
    events.expected = 10
    receipt: Receipt | ChildReceipt = (
        ChildReceipt(source, RoutingRules(), events, min_backoff_s=0.1)
        if child  # told before its child process starts, which is then sent the setting
        else Receipt(source, RoutingRules(), events)
    )
    receipt.set_gather(gather_s)
    thread = threading.Thread(target=receipt.run)
    thread.start()
    try:
        assert events.subscribed_.wait(30)
        frames = [packet_message(channel_frame(KEY, f"msg {i}")) for i in range(10)]
        for i, body in enumerate(frames):  # a trickle: one message every 20 ms
            publisher.publish_all([(f"{prefix}/MRY/{'AB' * 32}/packets", body)])
            if i < 9:
                time.sleep(0.02)  # the spacing is the point: a broker's real arrivals
        assert events.all_in.wait(10)
        assert sum(events.sizes) == 10
        if gather_s:  # the first message's read, then the other nine gathered
            assert len(events.sizes) <= 2
        else:
            assert len(events.sizes) >= 5
    finally:
        receipt.stop()
        thread.join(10)
