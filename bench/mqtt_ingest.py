"""Live MQTT ingest: sustained rate from Mosquitto on loopback, and publish-to-store latency.

A Mosquitto of the benchmark's own (on a free port, queues unlimited so the broker never
drops) carries meshcoretomqtt packet messages of the simulated mesh. One meshlens
ingest path runs in this process as `meshlens serve` builds it: an MqttFeed (MQTT v5,
QoS 0, receiving on a thread) offering to the IngestWorker (default batching: 500 frames
or 50 ms, a backlog up to 20,000) over a Pipeline into a fresh SQLite database and
store; `--processes` receives in a receipt process and writes in the pipeline process
at the server's ingest priority (`mqttChildProcess`, `pipelineProcess`). The publisher
writes pre-encoded MQTT PUBLISH packets straight onto a socket, so its own cost stays
out of the figures.

- rate: every message published as fast as the socket takes them; the rate is messages
  stored divided by the time from the first publish to the last store append.
- latency: messages paced at 1,000/s; a message is visible when the store append that
  holds it returns (the worker's `on_batch`), which is compared with its send time.

    flock /work/bench.lock env PYTHONPATH=. python -m bench.mqtt_ingest [--days 0.5]
"""

from __future__ import annotations

import argparse
import dataclasses
import getpass
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import orjson
import psutil

from bench.suite import Context, Row

ORDER = 55
LATENCY_RATE = 1000.0
LATENCY_SECONDS = 10.0


def messages_of(profile: str, seed: int, days: float) -> list[tuple[str, bytes]]:
    """(topic, JSON body) of every packet message of a slice of the simulated mesh."""
    from meshlens.sim import messages
    from meshlens.sim.events import Observation
    from meshlens.sim.profiles import profile_named
    from meshlens.sim.simulation import Simulation, SimulationSpec

    spec = SimulationSpec(dataclasses.replace(profile_named(profile), days=days), seed)
    sim = Simulation(spec)
    out = []
    for event in sim.events():
        if isinstance(event, Observation):
            body = messages.packet_message(sim.mesh, event)
            body["timestamp"] = messages.stamp(event.at_ms)
            out.append((messages.topic(sim.mesh, event.observer, "packets"), orjson.dumps(body)))
    return out


# --- the broker and a publisher that costs nothing -------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Broker:
    """A Mosquitto of our own: loopback, no persistence, no queue limits."""

    def __init__(self, workdir: Path) -> None:
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        self.port = _free_port()
        config = workdir / "mosquitto.conf"
        config.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
            "max_queued_messages 0\nmax_queued_bytes 0\nmax_inflight_messages 0\n"
            f"user {getpass.getuser()}\n"
        )
        self._process = subprocess.Popen(
            [binary, "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        self.pid = self._process.pid
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline or self._process.poll() is not None:
                    raise RuntimeError("mosquitto did not start") from None
                time.sleep(0.01)

    def stop(self) -> None:
        """Stop the broker."""
        self._process.terminate()
        self._process.wait(10)


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def publish_packet(topic: str, body: bytes) -> bytes:
    """An MQTT 3.1.1 QoS 0 PUBLISH packet."""
    name = topic.encode()
    rest = len(name).to_bytes(2, "big") + name + body
    return b"\x30" + _varint(len(rest)) + rest


class RawPublisher:
    """An MQTT 3.1.1 client that only sends pre-encoded QoS 0 PUBLISH packets."""

    def __init__(
        self, port: int, client_id: bytes = b"meshlens-bench-publisher", keepalive_s: int = 60
    ) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port))
        # Keep-alive 0: no limit, for a publisher that stays silent between phases.
        head = b"\x00\x04MQTT\x04\x02" + keepalive_s.to_bytes(2, "big")
        rest = head + len(client_id).to_bytes(2, "big") + client_id
        self.sock.sendall(b"\x10" + _varint(len(rest)) + rest)
        if self.sock.recv(4)[:1] != b"\x20":
            raise RuntimeError("no CONNACK from the broker")

    def close(self) -> None:
        """Disconnect."""
        self.sock.sendall(b"\xe0\x00")
        self.sock.close()


# --- the measured ingest path ---------------------------------------------------------


@dataclasses.dataclass
class Run:
    """What one run measured."""

    published: int
    stored: int
    dropped: int
    rejected: int
    elapsed_s: float
    latencies_ms: np.ndarray
    cpu_s: float = 0.0  # this process (ingest, and the publisher's sends) during the run
    child_cpu_s: float = 0.0  # the receipt and pipeline processes, when there are some

    @property
    def cpu_us_per_obs(self) -> tuple[float, float]:
        """CPU per observation stored: (this process, its ingest children), in µs."""
        n = max(self.stored, 1)
        return self.cpu_s / n * 1e6, self.child_cpu_s / n * 1e6

    @property
    def rate(self) -> float:
        """Observations stored per second."""
        return self.stored / self.elapsed_s


def run(
    messages: Sequence[tuple[str, bytes]], rate_per_s: float | None, processes: bool = False
) -> Run:
    """Publish `messages` (flat out, or paced) into a fresh meshlens ingest path.

    `processes`: receipt and pipeline in child processes; else on threads, as shipped.
    """
    from meshlens.config import Settings
    from meshlens.config.mqtt_sources import BrokerUrl, MqttSource
    from meshlens.config.sections import IngestSettings
    from meshlens.db.database import Database
    from meshlens.ingest.mqtt import MqttFeed
    from meshlens.ingest.outcome import Result
    from meshlens.ingest.pipeline import Pipeline
    from meshlens.ingest.pipeline_process import PipelineProcess
    from meshlens.ingest.routing import RoutingRules
    from meshlens.ingest.worker import IngestWorker
    from meshlens.placement import pipeline_spec
    from meshlens.sim.simulation import channel_keys
    from meshlens.store.store import PacketStore

    packets = [publish_packet(topic, body) for topic, body in messages]
    sent_at = np.zeros(len(packets))
    done_at: list[tuple[float, int]] = []  # (time, results so far) per store append
    total = [0]

    def on_batch(results: Sequence[Result]) -> None:
        total[0] += len(results)
        done_at.append((time.perf_counter(), total[0]))

    from meshlens.placement import SWITCH_INTERVAL_S

    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(SWITCH_INTERVAL_S)  # as `meshlens serve` runs
    with tempfile.TemporaryDirectory() as tmp:
        broker = Broker(Path(tmp))
        db = Database(Path(tmp) / "mqtt.db")
        defaults = IngestSettings()
        # Flat out, the queue holds the whole run: the figure is the drain rate, not how
        # much a finite queue drops when the publisher outruns ingest.
        store = PacketStore()
        pipeline: Pipeline | PipelineProcess = Pipeline(db, store, keys=channel_keys())
        if processes:
            spec = pipeline_spec(Settings(db_path=db.path), keys=channel_keys())
            pipeline = PipelineProcess(spec, store)
            pipeline.start()
        worker = IngestWorker(
            pipeline,
            capacity=max(len(packets), 50_000),
            batch_size=defaults.batch_size,
            batch_latency_s=defaults.batch_latency_ms / 1000,
            on_batch=on_batch,
        )
        source = MqttSource("bench", BrokerUrl("mqtt", "127.0.0.1", broker.port),
                            topics=("meshcore/+/+/packets",))  # fmt: skip
        feed = MqttFeed(source, RoutingRules(), child_process=processes)
        try:
            worker.start()
            feed.start(worker)
            if not feed.wait_subscribed(timeout_s=10):
                raise RuntimeError("the feed did not subscribe")
            publisher = RawPublisher(broker.port)
            receipt = [c for c in psutil.Process().children() if c.pid != broker.pid]
            child_cpu = _cpu_of(receipt)
            cpu = time.process_time()
            started = time.perf_counter()
            if rate_per_s is None:
                sent_at[:] = started
                publisher.sock.sendall(b"".join(packets))
            else:
                _paced(publisher, packets, rate_per_s, sent_at)
            deadline = time.perf_counter() + max(300.0, len(packets) / 500)
            while time.perf_counter() < deadline:
                s = feed.snapshot()
                if s.decoded + s.dropped + sum(s.rejected.values()) >= len(packets):
                    break
                time.sleep(0.01)
            cpu = time.process_time() - cpu
            child_cpu = _cpu_of(receipt) - child_cpu
            publisher.close()
        finally:
            feed.stop()
            worker.stop()
            if isinstance(pipeline, PipelineProcess):
                pipeline.stop()
            db.close()
            broker.stop()
            sys.setswitchinterval(switch_interval)
    s = feed.snapshot()
    times = np.array([t for t, _ in done_at])
    counts = np.array([n for _, n in done_at])
    # Message i is visible at the first append whose running total passes i.
    where = np.searchsorted(counts, np.arange(len(packets)) + 1)
    visible = times[np.minimum(where, len(times) - 1)] if len(times) else np.zeros(len(packets))
    return Run(
        published=len(packets),
        stored=s.stored + s.duplicates,
        dropped=s.dropped,
        rejected=sum(s.rejected.values()),
        elapsed_s=(times[-1] if len(times) else time.perf_counter()) - started,
        latencies_ms=(np.asarray(visible) - sent_at) * 1000.0,
        cpu_s=cpu,
        child_cpu_s=child_cpu,
    )


def _cpu_of(processes: list[psutil.Process]) -> float:
    """User plus system CPU seconds of these processes so far."""
    total = 0.0
    for process in processes:
        times = process.cpu_times()
        total += times.user + times.system
    return total


def _paced(publisher: RawPublisher, packets: list[bytes], rate: float, sent_at: np.ndarray) -> None:
    """Send at `rate` per second, in 1 ms slices."""
    begin = time.perf_counter()
    i = 0
    while i < len(packets):
        now = time.perf_counter()
        due = min(len(packets), int((now - begin) * rate) + 1)
        if due > i:
            publisher.sock.sendall(b"".join(packets[i:due]))
            sent_at[i:due] = time.perf_counter()
            i = due
        time.sleep(0.001)


# --- the suite's rows and the command -------------------------------------------------


def rows(ctx: Context) -> list[Row]:
    """Sustained rate (best of a few flat-out runs) and latency at 1,000 obs/s."""
    days = 0.05 if ctx.quick else 0.5
    rounds = 1 if ctx.quick else 3
    messages = messages_of(ctx.profile, ctx.seed, days)
    best = max((run(messages, None) for _ in range(rounds)), key=lambda r: r.rate)
    apart = max((run(messages, None, True) for _ in range(rounds)), key=lambda r: r.rate)
    paced = run(messages[: int(LATENCY_RATE * (2 if ctx.quick else LATENCY_SECONDS))], LATENCY_RATE)
    p50, p99, top = np.percentile(paced.latencies_ms, [50, 99, 100])
    return [
        Row(
            "ingest",
            "MQTT ingest rate, Mosquitto on loopback to SQLite and store",
            f"{best.rate:,.0f} obs/s",
            ">= 20,000 obs/s",
            note=f"{best.published:,} packet messages ({days} simulated days of "
            f"`{ctx.profile}`) published flat out; {best.dropped} dropped, {best.rejected} "
            f"rejected; best of {rounds}; receipt and pipeline on threads (the default)",
        ),
        Row(
            "ingest",
            "MQTT ingest rate, receipt and pipeline in processes (mqttChildProcess,"
            " pipelineProcess)",
            f"{apart.rate:,.0f} obs/s",
            ">= 20,000 obs/s",
            note=f"the same {apart.published:,} messages; {apart.dropped} dropped, "
            f"{apart.rejected} rejected; best of {rounds}",
        ),
        Row(
            "ingest",
            "MQTT publish-to-visible-in-store latency at 1,000 obs/s",
            f"p50 {p50:.0f} ms, p99 {p99:.0f} ms",
            "p99 <= 200 ms",
            note=f"{paced.published:,} messages paced at 1,000/s; max {top:.0f} ms",
        ),
    ]


def main() -> None:
    """Print both figures for a chosen slice of the mesh."""
    parser = argparse.ArgumentParser(prog="python -m bench.mqtt_ingest")
    parser.add_argument("--profile", default="staging")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--days", type=float, default=0.5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--latency-seconds", type=float, default=LATENCY_SECONDS)
    parser.add_argument(
        "--processes", action="store_true", help="receipt and pipeline in processes of their own"
    )
    args = parser.parse_args()
    processes = args.processes
    messages = messages_of(args.profile, args.seed, args.days)
    print(f"{len(messages):,} packet messages")
    for _ in range(args.rounds):
        r = run(messages, None, processes)
        own, child_us = r.cpu_us_per_obs
        print(f"flat out: {r.rate:,.0f} obs/s ({r.stored:,} stored, {r.dropped} dropped, "
              f"{r.rejected} rejected, {r.elapsed_s:.2f} s); CPU per obs: {own:.1f} µs "
              f"server + {child_us:.1f} µs its ingest processes")  # fmt: skip
    paced = run(messages[: int(LATENCY_RATE * args.latency_seconds)], LATENCY_RATE, processes)
    p50, p99, top = np.percentile(paced.latencies_ms, [50, 99, 100])
    print(f"at 1,000/s: p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {top:.1f} ms "
          f"({paced.stored:,} stored, {paced.dropped} dropped)")  # fmt: skip


if __name__ == "__main__":
    main()
