"""`meshlens serve` killed with SIGKILL during a sustained MQTT feed loses nothing committed."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import REPO
from tests.ingest.brokers import Mosquitto, Publisher
from tests.ingest.helpers import packet_message
from tests.ingest.test_mqtt_end_to_end import wait_for

pytestmark = pytest.mark.broker

MESSAGES = 4000


def _frames(n: int) -> list[bytes]:
    from meshlens.wire.channels import PUBLIC_KEY_HEX
    from tests.ingest.helpers import channel_frame

    key = bytes.fromhex(PUBLIC_KEY_HEX)
    return [channel_frame(key, f"sustained {i}", timestamp=1_767_225_600 + i) for i in range(n)]


def _sustained(publisher: Publisher, messages: list[tuple[str, bytes]]) -> None:
    """Publish at QoS 1 in chunks of 100, 20 ms apart, so the feed is still going at the kill.

    Published all at once, the 4,000 could arrive as one backlog, written in one batch of
    up to 20,000 before the test saw 500 stored: then nothing was killed mid-feed.
    """
    for start in range(0, len(messages), 100):
        publisher.publish_all(messages[start : start + 100], 1)
        time.sleep(0.02)


class ServeProcess:
    """`meshlens serve` in a child process, its log in a file."""

    def __init__(self, config: Path, db: Path, log: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MESHLENS_")}
        env["PYTHONPATH"] = str(REPO)
        self._log = log
        with log.open("a") as out:
            self.child = subprocess.Popen(
                [sys.executable, "-m", "meshlens", "serve", "--config", str(config), "--db",
                 str(db), "--host", "127.0.0.1", "--port", "0"],
                cwd=config.parent, env=env, stdout=subprocess.DEVNULL, stderr=out,
            )  # fmt: skip
        self.port = self._port()

    def _port(self) -> int:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.child.poll() is None, self._log.read_text()
            found = re.findall(r"listening on http://127\.0\.0\.1:(\d+)", self._log.read_text())
            if found:
                return int(found[-1])
            time.sleep(0.02)
        raise AssertionError("meshlens serve did not start listening")

    def subscribed(self) -> bool:
        """True once the MQTT source is subscribed (from /api/ingest/status)."""
        try:
            body = httpx.get(f"http://127.0.0.1:{self.port}/api/ingest/status", timeout=2).json()
        except httpx.HTTPError:
            return False
        return bool(body["mqtt"]["sources"][0]["subscribed"])

    def kill(self, sig: int) -> None:
        """Send `sig` and wait for the process to end."""
        self.child.send_signal(sig)
        self.child.wait(60)


def _stored(db: Path) -> set[tuple[str, str]]:
    """(content hash, observer) of every committed observation."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10) as conn:
        rows = conn.execute(
            "SELECT t.hash, ob.id FROM observations o JOIN transmissions t"
            " ON t.id = o.transmission_id JOIN observers ob ON ob.idx = o.observer_idx"
        ).fetchall()
    return {(h, o) for h, o in rows}


def test_sigkill_mid_feed_keeps_every_committed_observation_and_qos1_redelivers_the_rest(
    tmp_path: Path, own_broker: Mosquitto
) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"mqttSources": [{
        "name": "durable", "broker": own_broker.url, "topics": ["live/+/+/packets"],
        "qos": 1, "clientId": "meshlens-sigkill-test", "persistentSession": True,
        "sessionExpirySec": 300, "reconnectMaxSec": 1,
    }]}))  # fmt: skip
    db = tmp_path / "killed.db"
    log = tmp_path / "serve.log"
    serve = ServeProcess(config, db, log)
    publisher = Publisher(own_broker.port)
    try:
        wait_for(serve.subscribed, 60)
        messages = [("live/SEA/OBS1/packets", packet_message(f)) for f in _frames(MESSAGES)]
        feeding = threading.Thread(target=_sustained, args=(publisher, messages))
        feeding.start()
        wait_for(lambda: db.exists() and len(_stored(db)) >= 500, 60)
        committed = _stored(db)  # every one of these was in a committed transaction
        serve.kill(signal.SIGKILL)
        feeding.join(60)

        with sqlite3.connect(db) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        after_kill = _stored(db)
        assert committed <= after_kill
        assert len(after_kill) < MESSAGES, "the feed ended before the kill; nothing was tested"

        serve = ServeProcess(config, db, log)
        wait_for(lambda: len(_stored(db)) == MESSAGES, 60)  # redelivered, none twice
        serve.kill(signal.SIGTERM)
        assert serve.child.returncode == 0, log.read_text()[-3000:]
    finally:
        publisher.close()
        if serve.child.poll() is None:
            serve.kill(signal.SIGKILL)
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT COUNT(*) FROM observations").fetchone()[0] == MESSAGES
