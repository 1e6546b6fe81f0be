"""Ingest's threads in the server at 500 obs/s: CPU and waits, without reads and under them.

One server on a copy of the staging database, fed through Mosquitto by bench.serve's
publisher, runs three phases per round:

- quiet: no reads, so the server's quiet settings (50 ms batches; a receipt reads as
  messages arrive);
- quiet, busy settings: `Server.reads_busy(True)` forced with still no reads (1 s
  batches, receipts gathering 0.1 s, turns at the GIL);
- under wrk: reads keep the event loop busy, so the same settings, and the GIL contended.

Per thread it reports CPU (schedstat) and waits (voluntary context switches: each time
the thread blocked, on the GIL among others) a second. The last two phases differ only
in the reads, so they separate what ingest costs from what contending for the GIL adds.

    flock /work/bench.lock env PYTHONPATH=. .venv/bin/python -m bench.ingest_threads \
        [--seconds 15] [--rounds 2] [--receipt-process] [--pipeline-process]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from bench.dataset import STAGING_DB
from bench.mqtt_load import MqttLoad, load_for
from bench.serve import (
    describe_loads,
    fed_server,
    ingest_thread_loads,
    run_wrk,
    thread_loads_since,
)
from meshlens.app import Server

RATE = 500  # observations a second, as bench.serve's churn
SETTLE_S = 1.0  # after the publisher starts, before counting


def phase(
    label: str, server: Server, mqtt: MqttLoad, seconds: float, *, url: str | None, busy: bool
) -> str:
    """One phase: publish at RATE, with wrk on `url` or without reads; what ingest did."""
    stored_before = server.worker.counters.snapshot().stored_observations
    mqtt.go()
    time.sleep(SETTLE_S)
    if url is None:
        server.reads_busy(busy)  # with wrk, the loop's own LoopBusy says so
    before, started = ingest_thread_loads(), time.perf_counter()
    reads = ""
    if url is None:
        time.sleep(seconds)
    else:
        result = run_wrk(url, seconds=int(seconds), connections=32, threads=2)
        reads = f"; reads {result.requests_s:,.0f}/s, p99 {result.p99_ms:.2f} ms"
    loads = thread_loads_since(before)
    elapsed = time.perf_counter() - started
    offered = mqtt.pause()
    server.reads_busy(False)
    stored = server.worker.counters.snapshot().stored_observations - stored_before
    return (f"{label}: {offered} published, {stored} stored; ingest's threads"
            f" {describe_loads(loads, elapsed)}{reads}")  # fmt: skip


def main() -> None:
    """Serve a copy of the staging database and run the rounds."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=STAGING_DB, help="database to serve (copied)")
    parser.add_argument("--seconds", type=float, default=15.0, help="length of each phase")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--receipt-process", action="store_true",
                        help="receive MQTT in a receipt process (mqttChildProcess)")  # fmt: skip
    parser.add_argument("--pipeline-process", action="store_true",
                        help="run ingest's pipeline in its process (pipelineProcess)")  # fmt: skip
    args = parser.parse_args()
    publishing_s = (args.seconds + SETTLE_S) * 3 * args.rounds
    mqtt = load_for("mlbench", RATE, publishing_s + 10)
    with fed_server(
        args.db, mqtt,
        child_process=True if args.receipt_process else None,
        pipeline_process=True if args.pipeline_process else None,
    ) as (server, port):  # fmt: skip
        url = f"http://127.0.0.1:{port}/api/analytics/rf"
        for _ in range(args.rounds):
            for label, reads, busy in (
                ("quiet", None, False),
                ("quiet, busy settings", None, True),
                ("under wrk", url, True),
            ):
                print(phase(label, server, mqtt, args.seconds, url=reads, busy=busy))


if __name__ == "__main__":
    main()
