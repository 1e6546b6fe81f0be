"""Receipt against the real Mosquitto: the link's sessions, and a receipt process that dies."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import psutil
import pytest

from meshlens.config import Settings
from meshlens.config.mqtt_sources import BrokerUrl, MqttSource
from meshlens.ingest.mqtt import MqttFeed
from meshlens.ingest.mqtt_link import Login, MqttLink, open_link
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
