"""`--mqtt` publishes meshcoretomqtt messages to a real broker."""

from __future__ import annotations

import socket
import threading
import uuid

import orjson
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from meshlens.sim.publisher import publish_mqtt
from meshlens.sim.simulation import SimulationSpec
from tests.conftest import require


def _broker_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 1883), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.mark.broker
def test_publisher_sends_packet_and_status_messages(small_spec: SimulationSpec) -> None:
    require(_broker_up(), "Mosquitto at 127.0.0.1:1883")  # mandatory in CI

    prefix = f"test-{uuid.uuid4().hex[:8]}"
    received: list[tuple[str, dict[str, object]]] = []
    subscribed = threading.Event()
    done = threading.Event()
    client = mqtt.Client(CallbackAPIVersion.VERSION2)
    client.on_subscribe = lambda *args: subscribed.set()

    def on_message(_c: object, _u: object, message: mqtt.MQTTMessage) -> None:
        received.append((message.topic, orjson.loads(message.payload)))
        if len(received) >= 40:
            done.set()

    client.on_message = on_message
    client.connect("127.0.0.1", 1883)
    client.subscribe(f"{prefix}/#")
    client.loop_start()
    try:
        assert subscribed.wait(5)
        report = publish_mqtt(
            small_spec, "mqtt://127.0.0.1:1883", 2000.0, topic_prefix=prefix, limit=40
        )
        assert done.wait(10)
    finally:
        client.loop_stop()
        client.disconnect()
    assert report.observations + report.status_messages == 40
    kinds = {topic.rsplit("/", 1)[1] for topic, _ in received}
    assert "packets" in kinds
    packet = next(p for t, p in received if t.endswith("/packets"))
    assert {"raw", "SNR", "RSSI", "origin", "timestamp"} <= set(packet)
    assert str(packet["timestamp"]).endswith("+00:00")
