"""Hostile MQTT messages: each is counted under its reason and logged, and ingest goes on."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from meshlens.config import Settings
from meshlens.config.mqtt_sources import BrokerUrl, MqttSource
from meshlens.ingest.mqtt import MqttFeed
from meshlens.ingest.routing import MAX_MESSAGE_BYTES, RoutingRules
from meshlens.ingest.worker import IngestWorker
from meshlens.storage import open_storage
from meshlens.wire.channels import PUBLIC_KEY_HEX
from tests.ingest.brokers import Publisher, unique_prefix
from tests.ingest.helpers import channel_frame, packet_message
from tests.ingest.test_mqtt_end_to_end import settled, wait_for

pytestmark = pytest.mark.broker


@pytest.fixture
def live(tmp_path: Path, shared_broker: int) -> Iterator[tuple[str, MqttFeed, IngestWorker]]:
    """A feed subscribed to everything under a fresh prefix, writing into a fresh database."""
    prefix = unique_prefix()
    storage = open_storage(Settings(db_path=tmp_path / "bad.db"))
    worker = IngestWorker(storage.pipeline, batch_latency_s=0.01)
    src = MqttSource("hostile", BrokerUrl("mqtt", "127.0.0.1", shared_broker),
                     topics=(f"{prefix}/#",))  # fmt: skip
    feed = MqttFeed(src, RoutingRules())
    worker.start()
    feed.start(worker)
    try:
        assert feed.wait_subscribed(timeout_s=10)
        yield prefix, feed, worker
    finally:
        feed.stop()
        worker.stop()
        storage.close()


def test_each_kind_of_bad_message_is_counted_under_its_reason_and_ingest_goes_on(
    live: tuple[str, MqttFeed, IngestWorker], publisher: Publisher, caplog: pytest.LogCaptureFixture
) -> None:
    prefix, feed, worker = live
    key = bytes.fromhex(PUBLIC_KEY_HEX)
    good = channel_frame(key, f"{prefix} still flowing")
    topic = f"{prefix}/SEA/OBS1/packets"
    bad: list[tuple[str, bytes]] = [
        (topic, b"{not json"),
        (topic, b"[1, 2, 3]"),
        (topic, orjson.dumps({"origin": "no raw here"})),
        (topic, orjson.dumps({"raw": 1234})),
        (topic, orjson.dumps({"raw": "ZZ11"})),
        (topic, orjson.dumps({"raw": "AB" * 400})),
        (topic, b" " * (MAX_MESSAGE_BYTES + 1)),
        (topic, orjson.dumps({"raw": "11"})),  # hex, but not a frame
        (f"{prefix}/SEA/OBS1/debug", orjson.dumps({"message": "chatter"})),
        (f"{prefix}/SEA//status", orjson.dumps({"status": "online"})),
        (f"{prefix}/SEA/OBS1/packets", packet_message(good, snr=True, rssi=[1])),
    ]
    bad += [(topic, b"{not json")] * 9  # ten in all: only five are logged
    with caplog.at_level(logging.WARNING, logger="meshlens.ingest"):
        publisher.publish_all(bad)
        wait_for(settled(feed, len(bad)))

    s = feed.snapshot()
    assert s.rejected == {
        "bad_json": 10,
        "not_an_object": 1,
        "missing_raw": 1,
        "bad_raw": 1,
        "bad_hex": 1,
        "oversized": 2,
        "decode_error": 1,
        "unknown_topic": 1,
        "missing_observer": 1,
    }
    # Wrong-typed SNR/RSSI read as absent; the frame itself is good and is stored.
    assert (s.decoded, s.stored) == (1, 1)
    assert worker.counters.snapshot().stored_observations == 1
    lines = [r.getMessage() for r in caplog.records if "bad_json" in r.getMessage()]
    assert len(lines) == 5, lines  # rate-limited
    assert all(f"topic {topic}" in line for line in lines)  # what and where
    oversized = next(r.getMessage() for r in caplog.records if "oversized" in r.getMessage())
    assert str(MAX_MESSAGE_BYTES) in oversized or "hex digits" in oversized
