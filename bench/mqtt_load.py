"""The serving benchmarks' ingest: a paced MQTT publisher in a process of its own.

In production sightings reach meshlens from a broker, so the serving benchmarks feed them
the same way: this process publishes meshcoretomqtt packet messages of bench.encoder_data's
sightings to the machine's Mosquitto, and the server under test receives them through a
real `MqttFeed` (its receipt thread, link and routing, as `meshlens serve` runs them).
Every 10 ms it publishes what is due at the rate, as a broker relays many independent
observers. Lines on its stdin steer it: `go` starts publishing, `pause` stops and prints
how many messages it has published in all; end of input ends it.

    load = MqttLoad(port=1883, root="mlbench1234", rate_per_s=500, messages=20_000)
    feed = load.feed()  # give it to the Server
    load.go(); ...; published = load.pause()
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import select
import subprocess
import sys
import time

import orjson

from bench.encoder_data import sightings
from bench.mqtt_ingest import RawPublisher, publish_packet
from meshlens.app import routing_rules
from meshlens.config import Settings
from meshlens.config.mqtt_sources import BrokerUrl, MqttSource
from meshlens.ingest.mqtt import MqttFeed
from meshlens.records import Sighting

SHARED_PORT = 1883  # the machine's Mosquitto
PERIOD_S = 0.01


def message_of(sighting: Sighting, root: str) -> tuple[str, bytes]:
    """The topic and meshcoretomqtt packet message (protocol §2.4) of one sighting."""
    when = dt.datetime.fromtimestamp(sighting.received_at_ms / 1000, dt.UTC)
    body = {
        "origin": sighting.observer_name,
        "timestamp": when.isoformat(timespec="microseconds"),
        "type": "PACKET",
        "direction": sighting.direction or "rx",
        "raw": sighting.raw.hex().upper(),
        "SNR": f"{sighting.snr_db}",
        "RSSI": f"{sighting.rssi_dbm}",
    }
    return f"{root}/{sighting.region}/{sighting.observer_id}/packets", orjson.dumps(body)


class MqttLoad:
    """The publisher process, started and steered from the benchmark."""

    def __init__(
        self, *, root: str, rate_per_s: float, messages: int, seed: int = 7,
        port: int = SHARED_PORT,
    ) -> None:  # fmt: skip
        self.root, self.port = root, port
        command = [
            sys.executable, "-m", "bench.mqtt_load", "--root", root, "--port", str(port),
            "--rate", str(rate_per_s), "--messages", str(messages), "--seed", str(seed),
        ]  # fmt: skip
        self._child = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        if self._readline() != "ready":
            raise RuntimeError("the MQTT publisher did not start")

    def feed(self) -> MqttFeed:
        """The source a server under test subscribes with (its own receipt, no child)."""
        source = MqttSource(
            "bench", BrokerUrl("mqtt", "127.0.0.1", self.port), topics=(f"{self.root}/+/+/packets",)
        )
        return MqttFeed(source, routing_rules(Settings()))

    def go(self) -> None:
        """Start publishing at the rate."""
        self._send("go")

    def pause(self) -> int:
        """Stop publishing; how many messages have been published in all."""
        self._send("pause")
        return int(self._readline())

    def close(self) -> None:
        """End the publisher."""
        assert self._child.stdin is not None
        self._child.stdin.close()
        self._child.wait(30)

    def _send(self, line: str) -> None:
        assert self._child.stdin is not None
        self._child.stdin.write(line + "\n")
        self._child.stdin.flush()

    def _readline(self) -> str:
        assert self._child.stdout is not None
        line = self._child.stdout.readline()
        if not line:
            raise RuntimeError(f"the MQTT publisher ended (exit status {self._child.wait()})")
        return line.strip()


def _publish(root: str, port: int, rate: float, messages: int, seed: int) -> None:
    """The publisher process: build the messages, then publish while told to."""
    # ~30 sightings per transmission (encoder_data's mean); a few spare.
    packets = [
        publish_packet(*message_of(s, root)) for s in sightings(messages // 25 + 10, seed=seed)
    ][:messages]
    publisher = RawPublisher(port, client_id=f"{root}-publisher".encode(), keepalive_s=0)
    print("ready", flush=True)
    stdin = sys.stdin.fileno()
    pending = b""
    sent, publishing, started, at_start = 0, False, 0.0, 0
    while True:
        ready, _, _ = select.select([stdin], [], [], PERIOD_S if publishing else None)
        if ready:
            data = os.read(stdin, 4096)
            if not data:
                break
            *lines, pending = (pending + data).split(b"\n")
            for line in lines:
                if line.strip() == b"go":
                    publishing, started, at_start = True, time.perf_counter(), sent
                else:
                    publishing = False
                    print(sent, flush=True)
            continue
        due = min(len(packets), at_start + int((time.perf_counter() - started) * rate))
        if due > sent:
            publisher.sock.sendall(b"".join(packets[sent:due]))
            sent = due
    publisher.close()


def main() -> None:
    """Run the publisher process (started by MqttLoad)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", required=True, help="first topic segment")
    parser.add_argument("--port", type=int, default=SHARED_PORT)
    parser.add_argument("--rate", type=float, default=500.0, help="messages a second")
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    _publish(args.root, args.port, args.rate, args.messages, args.seed)


if __name__ == "__main__":
    main()
