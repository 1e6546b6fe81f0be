"""The serving benchmarks' ingest: a paced MQTT publisher in a process of its own.

In production sightings reach meshlens from a broker, so the serving benchmarks feed them
the same way: this process publishes the simulator's meshcoretomqtt packet messages (a
slice of the staging mesh, `bench.mqtt_ingest.messages_of`, under a topic root of the
run's own) to the machine's Mosquitto, and the server under test receives them through a
real `MqttFeed` (its receipt thread, link and routing, as `meshlens serve` runs them).
Every 10 ms it publishes what is due at the rate, as a broker relays many independent
observers. Lines on its stdin steer it: `go` starts publishing, `pause` stops and prints
how many messages it published since the `go`; end of input ends it.

    load = MqttLoad(port=1883, root="mlbench1234", rate_per_s=500, messages=20_000)
    feed = load.feed()  # give it to the Server
    load.go(); ...; published = load.pause()  # in this phase
"""

from __future__ import annotations

import argparse
import os
import select
import subprocess
import sys
import time

from bench.mqtt_ingest import RawPublisher, messages_of, publish_packet
from meshlens.config import Settings
from meshlens.config.mqtt_sources import BrokerUrl, MqttSource
from meshlens.ingest.feeds import routing_rules
from meshlens.ingest.mqtt import MqttFeed

SHARED_PORT = 1883  # the machine's Mosquitto
PERIOD_S = 0.01


def messages(root: str, count: int, seed: int, days: float = 0.05) -> list[tuple[str, bytes]]:
    """`count` packet messages of the simulated staging mesh, their topics under `root`.

    `days` is the first slice simulated; a slice without enough messages is doubled.
    """
    while len(found := messages_of("staging", seed, days)) < count:
        days *= 2  # the simulator's message rate depends on the mesh: ask for more
    return [(root + topic.removeprefix("meshcore"), body) for topic, body in found[:count]]


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
        # It simulates its messages first (~10 s), meanwhile the server loads its store.
        self._child = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        self._ready = False

    def feed(self, *, child_process: bool | None = None) -> MqttFeed:
        """The source a server under test subscribes with (receipt where shipped, by default)."""
        source = MqttSource(
            "bench", BrokerUrl("mqtt", "127.0.0.1", self.port), topics=(f"{self.root}/+/+/packets",)
        )
        if child_process is None:  # meshlens.ingest.mqttChildProcess as shipped
            child_process = Settings().meshlens.ingest.mqtt_child_process
        return MqttFeed(source, routing_rules(Settings()), child_process=child_process)

    def go(self) -> None:
        """Start publishing at the rate."""
        self._send("go")

    def pause(self) -> int:
        """Stop publishing; how many messages were published since `go`."""
        self._send("pause")
        return int(self._readline())

    def close(self) -> None:
        """End the publisher."""
        assert self._child.stdin is not None
        self._child.stdin.close()
        self._child.wait(30)

    def _send(self, line: str) -> None:
        if not self._ready:
            if self._readline() != "ready":
                raise RuntimeError("the MQTT publisher did not start")
            self._ready = True
        assert self._child.stdin is not None
        self._child.stdin.write(line + "\n")
        self._child.stdin.flush()

    def _readline(self) -> str:
        assert self._child.stdout is not None
        line = self._child.stdout.readline()
        if not line:
            raise RuntimeError(f"the MQTT publisher ended (exit status {self._child.wait()})")
        return line.strip()


def load_for(name: str, rate_per_s: float, seconds: float) -> MqttLoad:
    """A publisher with messages for `seconds` of publishing (a fifth spare), rooted at
    `name` and this process's id, so concurrent runs on one broker never mix."""
    messages = int(rate_per_s * seconds * 1.2) + 100
    return MqttLoad(root=f"{name}{os.getpid()}", rate_per_s=rate_per_s, messages=messages)


def _publish(root: str, port: int, rate: float, count: int, seed: int) -> None:
    """The publisher process: build the messages, then publish while told to."""
    packets = [publish_packet(topic, body) for topic, body in messages(root, count, seed)]
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
                    print(sent - at_start, flush=True)
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
