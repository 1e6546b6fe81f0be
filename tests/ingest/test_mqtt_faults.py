"""Faults: the broker goes away and comes back; meshlens goes away and comes back."""

from __future__ import annotations

from pathlib import Path

import pytest

from meshlens.config import Settings
from meshlens.config.mqtt_sources import BrokerUrl, MqttSource
from meshlens.db import schema
from meshlens.ingest.mqtt import MqttFeed
from meshlens.ingest.routing import RoutingRules
from meshlens.ingest.worker import IngestWorker
from meshlens.storage import open_storage
from meshlens.wire.channels import PUBLIC_KEY_HEX
from tests.ingest.brokers import Mosquitto, Publisher
from tests.ingest.helpers import channel_frame, packet_message
from tests.ingest.test_mqtt_end_to_end import wait_for

pytestmark = pytest.mark.broker

KEY = bytes.fromhex(PUBLIC_KEY_HEX)


def batch(tag: str, n: int) -> list[tuple[str, bytes]]:
    """n distinct packet messages from one observer."""
    return [
        ("live/SEA/OBS1/packets", packet_message(channel_frame(KEY, f"{tag} {i}")))
        for i in range(n)
    ]


def persistent(broker: Mosquitto) -> MqttSource:
    """A QoS 1 source with a persistent session on `broker`."""
    return MqttSource(
        "durable",
        BrokerUrl("mqtt", "127.0.0.1", broker.port),
        topics=("live/+/+/packets",),
        qos=1,
        client_id="meshlens-fault-test",
        persistent_session=True,
        session_expiry_s=300,
        reconnect_max_s=1.0,
    )


@pytest.mark.parametrize("child_process", [False, True], ids=["thread", "child"])
def test_a_restarted_broker_is_reconnected_to_and_qos1_loses_nothing(
    tmp_path: Path, own_broker: Mosquitto, child_process: bool
) -> None:
    storage = open_storage(Settings(db_path=tmp_path / "faults.db"))
    worker = IngestWorker(storage.pipeline, batch_latency_s=0.01)
    worker.start()
    feed = MqttFeed(persistent(own_broker), RoutingRules(), child_process=child_process)
    feed.start(worker)

    def stored() -> int:
        return worker.counters.snapshot().stored_observations

    try:
        assert feed.wait_subscribed(timeout_s=10)
        publisher = Publisher(own_broker.port)
        publisher.publish_all(batch("before", 200), qos=1)
        publisher.close()
        # Stopped mid-stream: some messages are still on their way to meshlens or not yet
        # written; unacknowledged ones are redelivered after the reconnect.
        own_broker.stop()
        wait_for(lambda: not feed.state.connected)
        own_broker.start()
        # Reconnected and re-subscribed (within reconnectMaxSec of the broker's return).
        assert feed.wait_subscribed(connects=2, timeout_s=30)
        assert feed.state.session_present

        publisher = Publisher(own_broker.port)
        publisher.publish_all(batch("after", 200), qos=1)
        wait_for(lambda: stored() == 400)

        # meshlens away: the broker keeps what arrives for the persistent session...
        feed.stop()
        publisher.publish_all(batch("while away", 300), qos=1)
        publisher.close()
        # ...across its own restart too (persistence on)...
        own_broker.stop()
        own_broker.start()
        # ...and hands all of it to the next meshlens with the same client id.
        again = MqttFeed(persistent(own_broker), RoutingRules(), child_process=child_process)
        again.start(worker)
        try:
            wait_for(lambda: stored() == 700)
        finally:
            again.stop()
    finally:
        feed.stop()
        worker.stop()
        counts = storage.db.read(schema.count_rows)
        storage.close()
    assert counts.observations == 700
    assert feed.snapshot().rejected == {}
