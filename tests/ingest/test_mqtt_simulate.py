"""`meshlens simulate --mqtt URL --rate N` feeds a server subscribed to the same broker."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from meshlens.config import Settings
from meshlens.config.mqtt_sources import BrokerUrl, MqttSource
from meshlens.ingest.feeds import live_feeds
from tests.api.probe import REGISTRY
from tests.api.running import start
from tests.conftest import REPO
from tests.ingest.brokers import Mosquitto
from tests.ingest.test_mqtt_end_to_end import wait_for

pytestmark = pytest.mark.broker


def test_simulate_publishes_live_into_a_serving_meshlens(
    tmp_path: Path, own_broker: Mosquitto
) -> None:
    # Our own broker: the simulator publishes under meshcore/, which other tests' servers
    # on the shared broker would otherwise hear.
    broker = BrokerUrl("mqtt", "127.0.0.1", own_broker.port)
    settings = Settings(db_path=tmp_path / "sim.db", mqtt_sources=(MqttSource("sim", broker),))
    feeds = live_feeds(settings)
    running = start(settings, analytics=REGISTRY, feeds=feeds)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    simulate = None
    try:
        assert feeds[0].wait_subscribed(timeout_s=10)
        simulate = subprocess.Popen(
            [sys.executable, "-m", "meshlens", "simulate", "--profile", "small", "--quiet",
             "--mqtt", own_broker.url, "--rate", "2000"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip

        def arrived() -> bool:
            s = feeds[0].snapshot()
            return s.stored >= 300 and s.statuses >= 1

        wait_for(arrived, 60)
        s = feeds[0].snapshot()
        assert s.rejected == {} and s.dropped == 0
        snap = running.server.store.snapshot()
        assert len(snap.obs) >= 300
        assert any(o.model for o in snap.observers)  # status messages reached observers
    finally:
        if simulate is not None:
            simulate.terminate()
            simulate.wait(30)
        running.stop()
