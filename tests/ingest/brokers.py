"""Real MQTT brokers for tests: the shared Mosquitto on 1883, or one of our own to kill."""

from __future__ import annotations

import getpass
import shutil
import socket
import subprocess
import threading
import time
import uuid
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from tests.conftest import require
from tests.ingest.certificates import ServerCertificate

SHARED_HOST, SHARED_PORT = "127.0.0.1", 1883
MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    """True when something accepts TCP connections there."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def require_shared_broker() -> None:
    """The machine's Mosquitto; mandatory in CI."""
    require(port_open(SHARED_PORT), f"Mosquitto at {SHARED_HOST}:{SHARED_PORT}")


def unique_prefix() -> str:
    """A topic root no other test uses (tests run in parallel on one broker)."""
    return f"t{uuid.uuid4().hex[:12]}"


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Mosquitto:
    """A Mosquitto of our own on a free port, with persistence, that a test may stop.

    With `tls`, a second listener on `tls_port` speaks MQTT over TLS with that certificate
    (the plain one stays, for publishers).
    """

    def __init__(self, workdir: Path, tls: ServerCertificate | None = None) -> None:
        require(Path(MOSQUITTO).is_file(), f"the mosquitto binary ({MOSQUITTO})")
        self.port = free_port()
        self.url = f"mqtt://127.0.0.1:{self.port}"
        self.tls_port = free_port() if tls else None
        tls_listener = (
            f"listener {self.tls_port} 127.0.0.1\n"
            f"certfile {tls.cert_file}\n"
            f"keyfile {tls.key_file}\n"
            if tls
            else ""
        )
        data = workdir / "mosquitto-data"
        data.mkdir(parents=True, exist_ok=True)
        self.config = workdir / "mosquitto.conf"
        self.config.write_text(
            f"listener {self.port} 127.0.0.1\n"
            "allow_anonymous true\n"
            "persistence true\n"
            f"persistence_location {data}/\n"
            "autosave_interval 1\n"
            "max_queued_messages 0\n"  # a persistent session keeps everything for us
            "max_inflight_messages 0\n"
            f"user {getpass.getuser()}\n"
            f"log_dest file {workdir / 'mosquitto.log'}\n"
            # per_listener_settings is off: the settings above hold for every listener.
            f"{tls_listener}"
        )
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start (or restart) it and wait until it accepts connections."""
        self._process = subprocess.Popen(
            [MOSQUITTO, "-c", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        ports = [self.port] + ([self.tls_port] if self.tls_port else [])
        while not all(port_open(port) for port in ports):
            assert self._process.poll() is None, "mosquitto exited at start"
            assert time.monotonic() < deadline, "mosquitto did not start listening"
            time.sleep(0.01)

    def stop(self) -> None:
        """Stop it gracefully (it saves its persistence file)."""
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            self._process.wait(10)
        self._process = None


class Publisher:
    """A plain MQTT client that publishes what a test tells it to, and waits for the broker."""

    def __init__(self, port: int = SHARED_PORT) -> None:
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
        self._client.max_inflight_messages_set(1000)
        self._client.max_queued_messages_set(0)
        self._client.connect("127.0.0.1", port)
        self._client.loop_start()
        self._lock = threading.Lock()

    def publish(self, topic: str, body: bytes | str, qos: int = 0) -> mqtt.MQTTMessageInfo:
        """Publish one message."""
        with self._lock:
            return self._client.publish(topic, body, qos=qos)

    def publish_all(self, messages: list[tuple[str, bytes]], qos: int = 0) -> None:
        """Publish messages and wait until the broker has each (QoS 1) or it is sent."""
        infos = [self.publish(topic, body, qos) for topic, body in messages]
        for info in infos:
            info.wait_for_publish(30)

    def close(self) -> None:
        """Disconnect."""
        # In this order the network thread sends DISCONNECT and ends at once; stopping
        # it first waits out its one-second select.
        self._client.disconnect()
        self._client.loop_stop()
