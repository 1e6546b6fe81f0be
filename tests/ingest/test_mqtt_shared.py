"""MQTT v5 shared subscriptions: two sources in one group split one feed between them."""

from __future__ import annotations

from pathlib import Path

import pytest

from meshlens.config import Settings
from meshlens.config.mqtt_sources import BrokerUrl, MqttSource
from meshlens.ingest.mqtt import MqttFeed
from meshlens.ingest.routing import RoutingRules
from meshlens.ingest.worker import IngestWorker
from meshlens.storage import open_storage
from meshlens.wire.channels import PUBLIC_KEY_HEX
from tests.ingest.brokers import Publisher, unique_prefix
from tests.ingest.helpers import channel_frame, packet_message
from tests.ingest.test_mqtt_end_to_end import wait_for

pytestmark = pytest.mark.broker


def test_a_shared_subscription_delivers_each_message_to_one_member_of_the_group(
    tmp_path: Path, shared_broker: int, publisher: Publisher
) -> None:
    prefix = unique_prefix()
    storage = open_storage(Settings(db_path=tmp_path / "shared.db"))
    worker = IngestWorker(storage.pipeline, batch_latency_s=0.01)
    worker.start()
    group = f"$share/{prefix}/{prefix}/+/+/packets"
    broker = BrokerUrl("mqtt", "127.0.0.1", shared_broker)
    feeds = [MqttFeed(MqttSource(name, broker, topics=(group,)), RoutingRules())
             for name in ("ingest-a", "ingest-b")]  # fmt: skip
    try:
        for feed in feeds:
            feed.start(worker)
            assert feed.wait_subscribed(timeout_s=10)
        key = bytes.fromhex(PUBLIC_KEY_HEX)
        topic = f"{prefix}/SEA/OBS1/packets"
        frames = [channel_frame(key, f"{prefix} {i}") for i in range(100)]
        publisher.publish_all([(topic, packet_message(frame)) for frame in frames])
        wait_for(lambda: sum(f.snapshot().decoded for f in feeds) == 100)
    finally:
        for feed in feeds:
            feed.stop()
        worker.stop()
        storage.close()
    received = [f.snapshot().received for f in feeds]
    assert sum(received) == 100
    assert all(n > 0 for n in received), received
    assert worker.counters.snapshot().stored_observations == 100
