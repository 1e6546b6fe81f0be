"""MQTT over TLS and websockets, end to end: a configured source's packets reach SQLite.

Each test writes `mqttSources` into a config file, builds the feeds the way `meshlens
serve` does (load_settings, live_feeds), and publishes through a real Mosquitto. The TLS
tests start a Mosquitto of their own with a TLS listener and a throwaway CA's certificate.
This Mosquitto build cannot listen on websockets, so the ws:// and wss:// tests put a
small websocket-to-TCP relay (tests/ingest/websocket_relay.py) in front of the broker's
TCP listener: the only part of these tests that is not the broker itself.
"""

from __future__ import annotations

import json
import sqlite3
import ssl
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

from meshlens.config.loader import load_settings
from meshlens.ingest.feeds import live_feeds
from meshlens.ingest.mqtt import MqttFeed
from meshlens.ingest.worker import IngestWorker
from meshlens.storage import open_storage
from meshlens.wire.channels import PUBLIC_KEY_HEX
from tests.ingest.brokers import Mosquitto, Publisher, unique_prefix
from tests.ingest.certificates import ServerCertificate, make_server_certificate
from tests.ingest.helpers import channel_frame, packet_message
from tests.ingest.test_mqtt_end_to_end import wait_for
from tests.ingest.websocket_relay import WebsocketRelay

pytestmark = pytest.mark.broker

KEY = bytes.fromhex(PUBLIC_KEY_HEX)
DB_NAME = "transports.db"
WAIT_S = 10.0  # generous: CI shares two cores; the tests normally take well under a second


@pytest.fixture
def certificate(tmp_path: Path) -> ServerCertificate:
    """A new CA and a server certificate for 127.0.0.1 and localhost."""
    return make_server_certificate(tmp_path / "tls")


@pytest.fixture
def tls_broker(tmp_path: Path, certificate: ServerCertificate) -> Iterator[Mosquitto]:
    """A Mosquitto of this test's own with a plain listener and a TLS one."""
    broker = Mosquitto(tmp_path, tls=certificate)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


def server_context(certificate: ServerCertificate) -> ssl.SSLContext:
    """What the wss relay presents: the test CA's server certificate."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate.cert_file, certificate.key_file)
    return context


def configured_feeds(
    tmp_path: Path, prefix: str, sources: list[dict[str, object]]
) -> list[MqttFeed]:
    """The feeds `meshlens serve` would run for this `mqttSources`, on this test's topics."""
    for source in sources:
        source.setdefault("topics", [f"{prefix}/+/+/packets"])
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"dbPath": str(tmp_path / DB_NAME), "mqttSources": sources}))
    settings, _ = load_settings(config, {}, {})
    assert settings.db_path == tmp_path / DB_NAME
    return live_feeds(settings)


@contextmanager
def ingesting(tmp_path: Path, feeds: Sequence[MqttFeed]) -> Iterator[IngestWorker]:
    """A real database and ingest worker with `feeds` started; all stopped at the end."""
    storage = open_storage(load_settings(tmp_path / "config.json", {}, {})[0])
    worker = IngestWorker(storage.pipeline, batch_latency_s=0.01)
    worker.start()
    for feed in feeds:
        feed.start(worker)
    try:
        yield worker
    finally:
        for feed in feeds:
            feed.stop()
        worker.stop()
        storage.close()


def publish_packets(port: int, prefix: str, tag: str, n: int) -> None:
    """n distinct packets from one observer, published over plain MQTT to 127.0.0.1:port."""
    publisher = Publisher(port)
    try:
        publisher.publish_all(
            [
                (f"{prefix}/SEA/OBS1/packets", packet_message(channel_frame(KEY, f"{tag} {i}")))
                for i in range(n)
            ],
            qos=1,
        )
    finally:
        publisher.close()


def assert_ingests(tmp_path: Path, feed: MqttFeed, broker_port: int, prefix: str) -> None:
    """With `feed` running: it subscribes, and five published packets are stored."""
    with ingesting(tmp_path, [feed]) as worker:
        assert feed.wait_subscribed(timeout_s=WAIT_S), feed.state
        publish_packets(broker_port, prefix, "hello", 5)
        wait_for(lambda: worker.counters.snapshot().stored_observations == 5, WAIT_S)
        assert feed.state.connected and feed.state.failures == 0
    snapshot = feed.snapshot()
    assert (snapshot.received, snapshot.stored, snapshot.rejected) == (5, 5, {})
    with sqlite3.connect(tmp_path / DB_NAME) as conn:
        rows = conn.execute("SELECT COUNT(*) FROM observations").fetchone()[0]
    assert rows == 5


# --- mqtts:// ------------------------------------------------------------------------


def test_mqtts_without_verification_connects_and_ingests(
    tmp_path: Path, tls_broker: Mosquitto
) -> None:
    prefix = unique_prefix()
    (feed,) = configured_feeds(tmp_path, prefix, [
        {"name": "tls", "broker": f"mqtts://127.0.0.1:{tls_broker.tls_port}",
         "rejectUnauthorized": False},
    ])  # fmt: skip
    assert_ingests(tmp_path, feed, tls_broker.port, prefix)


def test_mqtts_with_verification_refuses_an_untrusted_certificate_and_others_carry_on(
    tmp_path: Path, tls_broker: Mosquitto
) -> None:
    prefix = unique_prefix()
    strict, lenient = configured_feeds(tmp_path, prefix, [
        {"name": "strict", "broker": f"mqtts://127.0.0.1:{tls_broker.tls_port}",
         "reconnectMaxSec": 0.5},
        {"name": "lenient", "broker": f"mqtts://127.0.0.1:{tls_broker.tls_port}",
         "rejectUnauthorized": False},
    ])  # fmt: skip
    with ingesting(tmp_path, [strict, lenient]) as worker:
        # The strict source keeps failing (and retrying) with the reason in its state...
        wait_for(lambda: strict.state.failures >= 2, WAIT_S)
        state = strict.state
        assert not state.connected and state.connects == 0
        assert state.last_error is not None
        assert "certificate verify failed" in state.last_error, state.last_error
        # ...while the other source on the same worker connects and ingests.
        assert lenient.wait_subscribed(timeout_s=WAIT_S), lenient.state
        publish_packets(tls_broker.port, prefix, "lenient", 3)
        wait_for(lambda: worker.counters.snapshot().stored_observations == 3, WAIT_S)
        assert strict.snapshot().received == 0 and not strict.state.connected
    assert lenient.snapshot().stored == 3


def test_mqtts_with_verification_accepts_a_certificate_from_a_trusted_ca(
    tmp_path: Path, tls_broker: Mosquitto, certificate: ServerCertificate,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    # SSL_CERT_FILE is how an operator trusts a private CA (docs/operations.md); it is
    # read when the source's TLS context is built. The name checked is the URL's host.
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate.ca_file))
    prefix = unique_prefix()
    by_ip, by_name = configured_feeds(tmp_path, prefix, [
        {"name": "ip", "broker": f"mqtts://127.0.0.1:{tls_broker.tls_port}"},
        {"name": "name", "broker": f"mqtts://localhost:{tls_broker.tls_port}"},
    ])  # fmt: skip
    with ingesting(tmp_path, [by_ip, by_name]) as worker:
        assert by_ip.wait_subscribed(timeout_s=WAIT_S), by_ip.state
        assert by_name.wait_subscribed(timeout_s=WAIT_S), by_name.state
        publish_packets(tls_broker.port, prefix, "trusted", 2)
        # Both sources hear both packets: two observations each, the second a duplicate.
        wait_for(lambda: by_ip.snapshot().stored + by_ip.snapshot().duplicates == 2, WAIT_S)
        wait_for(lambda: by_name.snapshot().stored + by_name.snapshot().duplicates == 2, WAIT_S)
        assert worker.counters.snapshot().stored_observations == 2
    assert by_ip.state.failures == 0 and by_name.state.failures == 0


# --- ws:// and wss:// ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("served", "url_path"),
    [("/mqtt", ""), ("/brokers/mesh", "/brokers/mesh")],
    ids=["default-path", "path-of-the-url"],
)
def test_ws_connects_on_the_path_of_the_url_and_ingests(
    tmp_path: Path, own_broker: Mosquitto, served: str, url_path: str
) -> None:
    prefix = unique_prefix()
    with WebsocketRelay(own_broker.port, served) as relay:
        (feed,) = configured_feeds(tmp_path, prefix, [
            {"name": "ws", "broker": f"ws://127.0.0.1:{relay.port}{url_path}"},
        ])  # fmt: skip
        assert_ingests(tmp_path, feed, own_broker.port, prefix)
    assert relay.connections == 1 and relay.refused_paths == []


def test_ws_to_a_path_the_server_does_not_serve_fails_with_the_reason(
    tmp_path: Path, own_broker: Mosquitto
) -> None:
    prefix = unique_prefix()
    with WebsocketRelay(own_broker.port, "/mqtt") as relay:
        (feed,) = configured_feeds(tmp_path, prefix, [
            {"name": "ws", "broker": f"ws://127.0.0.1:{relay.port}/elsewhere",
             "reconnectMaxSec": 0.5},
        ])  # fmt: skip
        with ingesting(tmp_path, [feed]):
            wait_for(lambda: feed.state.failures >= 2, WAIT_S)
        assert relay.connections == 0 and relay.refused_paths[0] == "/elsewhere"
    assert not feed.state.connected and feed.state.last_error is not None
    assert "websocket" in feed.state.last_error.lower(), feed.state.last_error


def test_wss_without_verification_connects_and_ingests(
    tmp_path: Path, own_broker: Mosquitto, certificate: ServerCertificate
) -> None:
    prefix = unique_prefix()
    with WebsocketRelay(own_broker.port, "/mqtt", server_context(certificate)) as relay:
        (feed,) = configured_feeds(tmp_path, prefix, [
            {"name": "wss", "broker": f"wss://127.0.0.1:{relay.port}/mqtt",
             "rejectUnauthorized": False},
        ])  # fmt: skip
        assert_ingests(tmp_path, feed, own_broker.port, prefix)
    assert relay.connections == 1


def test_wss_with_verification_refuses_an_untrusted_certificate(
    tmp_path: Path, own_broker: Mosquitto, certificate: ServerCertificate
) -> None:
    prefix = unique_prefix()
    with WebsocketRelay(own_broker.port, "/mqtt", server_context(certificate)) as relay:
        (feed,) = configured_feeds(tmp_path, prefix, [
            {"name": "wss", "broker": f"wss://127.0.0.1:{relay.port}/mqtt",
             "reconnectMaxSec": 0.5},
        ])  # fmt: skip
        with ingesting(tmp_path, [feed]):
            wait_for(lambda: feed.state.failures >= 2, WAIT_S)
        assert relay.connections == 0
    state = feed.state
    assert not state.connected and state.connects == 0 and state.last_error is not None
    assert "certificate verify failed" in state.last_error, state.last_error
