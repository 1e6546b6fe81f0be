"""Live MQTT ingest against the real Mosquitto: messages in, rows, store and analytics out."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from meshlens.analytics.registry import ANALYTICS
from meshlens.config import Settings
from meshlens.config.mqtt_sources import BrokerUrl, MqttSource
from meshlens.ingest.mqtt import MqttFeed
from meshlens.ingest.routing import RoutingRules
from meshlens.wire.channels import PUBLIC_KEY_HEX
from tests.api.running import start
from tests.api.test_openapi import _validate
from tests.ingest.brokers import Publisher, unique_prefix
from tests.ingest.helpers import channel_frame, packet_message, status_message

pytestmark = pytest.mark.broker

RF = tuple(a for a in ANALYTICS if a.name == "rf")


def wait_for(check: Callable[[], bool], timeout_s: float = 20.0) -> None:
    """Poll real background work until `check` holds."""
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.01)


def source(prefix: str, port: int, **options: object) -> MqttSource:
    """A source on 127.0.0.1:port subscribed to this test's own topics."""
    topics = (f"{prefix}/+/+/packets", f"{prefix}/+/+/status")
    return MqttSource(
        "test",
        BrokerUrl("mqtt", "127.0.0.1", port),
        topics=topics,
        **options,  # type: ignore[arg-type]
    )


def settled(feed: MqttFeed, expected: int) -> Callable[[], bool]:
    """True once every one of `expected` messages has an outcome."""

    def check() -> bool:
        s = feed.snapshot()
        done = s.decoded + s.statuses + sum(s.rejected.values()) + sum(s.filtered.values())
        return done + s.dropped >= expected

    return check


def test_published_packets_reach_sqlite_the_store_and_the_analytics(
    tmp_path: Path, shared_broker: int, publisher: Publisher
) -> None:
    prefix = unique_prefix()
    feed = MqttFeed(source(prefix, shared_broker, iata_filter=("SEA", "PDX")), RoutingRules())
    settings = Settings(db_path=tmp_path / "live.db")
    running = start(settings, analytics=RF, feeds=[feed], interval_override_s=0.05)
    try:
        running.wait_ready()
        assert feed.wait_subscribed(timeout_s=10)
        key = bytes.fromhex(PUBLIC_KEY_HEX)
        messages: list[tuple[str, bytes]] = []
        for i in range(12):
            raw = channel_frame(key, f"{prefix} message {i}", timestamp=1_767_225_600 + i)
            region = "SEA" if i % 2 else "PDX"
            messages.append((f"{prefix}/{region}/OBS{i % 3}/packets",
                             packet_message(raw, origin=f"Observer {i % 3}")))  # fmt: skip
        shared = channel_frame(key, f"{prefix} heard by three", timestamp=1_767_225_700)
        for observer in range(3):  # one transmission heard by three observers...
            messages.append((f"{prefix}/SEA/OBS{observer}/packets", packet_message(shared)))
        messages.append((f"{prefix}/SEA/OBS0/packets", packet_message(shared)))  # ...twice by one
        filtered = channel_frame(key, f"{prefix} from LAX", timestamp=1_767_225_800)
        messages.append((f"{prefix}/LAX/OBS9/packets", packet_message(filtered)))
        messages.append((f"{prefix}/sea/OBS9/packets", packet_message(filtered)))  # case matters
        messages.append((f"{prefix}/SEA/OBS0/status", status_message("Observer 0", repeat="off")))
        publisher.publish_all(messages)
        wait_for(settled(feed, len(messages)))

        s = feed.snapshot()
        assert s.received == len(messages)
        assert s.decoded == 16 and s.stored == 15 and s.duplicates == 1
        assert s.new_transmissions == 13
        assert s.filtered == {"iata_filter": 2}
        assert s.statuses == 1
        assert s.rejected == {} and s.dropped == 0

        with sqlite3.connect(settings.db_path) as conn:
            tx = conn.execute("SELECT COUNT(*) FROM transmissions").fetchone()[0]
            obs = conn.execute("SELECT COUNT(*) FROM observations").fetchone()[0]
            heard = conn.execute(
                "SELECT COUNT(*) FROM observations o JOIN transmissions t"
                " ON t.id = o.transmission_id WHERE t.hash = ?",
                (_content_hash(shared),),
            ).fetchone()[0]
            model, battery, relay, count = conn.execute(
                "SELECT model, battery_mv, can_relay, packet_count FROM observers WHERE id = 'OBS0'"
            ).fetchone()
            metrics = conn.execute("SELECT COUNT(*) FROM observer_metrics").fetchone()[0]
        assert (tx, obs, heard) == (13, 15, 3)
        assert (model, battery, relay) == ("Heltec V3", 4209, 0)
        assert count >= 2  # packet messages and the status message both count
        assert metrics == 1

        snap = running.server.store.snapshot()
        assert (len(snap.tx), len(snap.obs)) == (13, 15)
        status_row = snap.observer("OBS0")
        assert status_row is not None and status_row.model == "Heltec V3"

        with running.client() as http:
            wait_for(lambda: http.get("/api/analytics/rf").json().get("totalPackets") == 15)
            answer = http.get("/api/ingest/status")
            _validate(http.get("/openapi.json").json(), "get", "/api/ingest/status", answer)
            status = answer.json()
            metrics_text = http.get("/metrics").text
        (src,) = status["mqtt"]["sources"]
        assert src["name"] == "test" and src["connected"] and src["subscribed"]
        assert src["received"] == len(messages) and src["filtered"] == {"iata_filter": 2}
        assert status["mqtt"]["total"]["storedObservations"] == 15
        assert status["pipeline"]["storedObservations"] == 15
        assert 'meshlens_mqtt_received_total{source="test"} 19.0' in metrics_text
        assert (
            'meshlens_mqtt_filtered_total{reason="iata_filter",source="test"} 2.0' in metrics_text
        )
    finally:
        running.stop()


def _content_hash(raw: bytes) -> str:
    from meshlens.wire import peek_frame

    return peek_frame(raw).content_hash
