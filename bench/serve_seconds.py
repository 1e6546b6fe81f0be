"""Serving second by second: the p99 of each 1 s under a load, and whether a round's child lived.

A 30 s phase's p99 mixes steady costs with a few bad seconds. This runs wrk for one second
at a time instead (32 connections, 2 threads, as bench.serve), on the same server and
loads as bench.serve's churn, and prints each phase's median and 90th percentile of the
per-second p99s, with the seconds in which a round's compute child was alive listed
apart. Loads, each after an idle phase:
  - `full`, `ingest`, `recompute`: bench.serve's churn, or one half of it;
  - `publish`: the same publisher at the same rate to a topic the server does not
    subscribe to, consumed by `mosquitto_sub` instead: the harness's own cost;
  - `LOAD@MS` runs the pair at a GIL switch interval of MS ms instead of the server's;
  - `LOAD%S` gathers MQTT receipts for S s while reads are busy instead of BUSY_GATHER_S;
  - `LOAD^N` runs ingest's threads (receipt, worker, database writer) at niceness N, or
    SCHED_IDLE for `^idle`, for the pair (their priority is raised back after it: root);
  - `LOAD~N` runs the recomputers' threads in the server (each recomputer's, the
    runner's dispatcher and result readers) at niceness N for the pair (root, as `^`);
  - the marks combine (`ingest@0.25%0.02`).
`--child-process` receives in a receipt process (`mqttChildProcess: true`).
Run:

    flock /work/bench.lock env PYTHONPATH=. python -m bench.serve_seconds full ingest publish
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from bench.dataset import STAGING_DB
from bench.mqtt_load import MqttLoad, load_for
from bench.serve import (
    Churn,
    bench_registry,
    fork_stats,
    is_ingest_thread,
    run_wrk,
    start_server,
    wait_ready,
)
from meshlens import placement
from meshlens.app import Server
from meshlens.config import Settings


class ChildWatch:
    """Counts, every 20 ms, the samples in which the recomputers' runner had a child alive."""

    def __init__(self, server: Server) -> None:
        self._server = server
        self.alive_samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="child-watch", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            stats = fork_stats(self._server)
            if stats is not None and stats.active_children:
                self.alive_samples += 1

    def stop(self) -> None:
        """End the sampling."""
        self._stop.set()
        self._thread.join()


def phase(url: str, seconds: int, watch: ChildWatch) -> list[tuple[float, bool]]:
    """Per second: wrk's p99 in ms, and whether a child was alive in it."""
    out = []
    for _ in range(seconds):
        before = watch.alive_samples
        result = run_wrk(url, seconds=1, connections=32, threads=2)
        out.append((result.p99_ms, watch.alive_samples > before))
    return out


def line(label: str, seconds: list[tuple[float, bool]]) -> str:
    """One phase: the median and p90 of its per-second p99s, and the child's seconds."""
    p99s = sorted(p for p, _ in seconds)
    child = [f"{p:.1f}" for p, alive in seconds if alive]
    return (f"{label:16} per-second p99: median {statistics.median(p99s):5.2f} ms,"
            f" p90 {p99s[int(len(p99s) * 0.9)]:5.2f} ms | child alive in {len(child)} s:"
            f" {' '.join(child)}")  # fmt: skip


def marks_of(load: str) -> tuple[str, dict[str, str]]:
    """A load and its marks: `ingest@0.25%0.02` -> ("ingest", {"@": "0.25", "%": "0.02"})."""
    parts = re.split(r"([@%^~])", load)
    return parts[0], dict(zip(parts[1::2], parts[2::2], strict=True))


def run_pair(
    load: str, url: str, *, seconds: int, server: Server, mqtt: MqttLoad, other: MqttLoad,
    watch: ChildWatch,
) -> tuple[str, str]:  # fmt: skip
    """An idle phase, then the loaded one; their lines."""
    kind, marks = marks_of(load)
    before, gather_before = sys.getswitchinterval(), placement.BUSY_GATHER_S
    if "@" in marks:
        sys.setswitchinterval(float(marks["@"]) / 1000)
    if "%" in marks:
        placement.BUSY_GATHER_S = float(marks["%"])
        server.reads_busy(server.loop_busy.busy)  # tells the receipts the new gathering
    if "^" in marks:
        set_priority(is_ingest_thread, marks["^"])
    if "~" in marks:
        set_priority(_is_recompute, marks["~"])
    try:
        idle = line("idle", phase(url, seconds, watch))
        if kind == "publish":
            other.go()
            try:
                loaded = phase(url, seconds, watch)
            finally:
                other.pause()
        else:
            churn = Churn(server, iter(()), 500.0, mqtt=mqtt,
                          recompute=kind in ("full", "recompute"),
                          ingest=kind in ("full", "ingest"))  # fmt: skip
            with churn:
                loaded = phase(url, seconds, watch)
        return idle, line(load, loaded)
    finally:
        sys.setswitchinterval(before)
        if "%" in marks:
            placement.BUSY_GATHER_S = gather_before
            server.reads_busy(server.loop_busy.busy)
        if "^" in marks:
            set_priority(is_ingest_thread, str(placement.INGEST_NICENESS))
        if "~" in marks:
            set_priority(_is_recompute, "0")


def _is_recompute(name: str) -> bool:
    return name.startswith("recompute-")  # each recomputer's, the runner's dispatch and rounds


def set_priority(chosen: Callable[[str], bool], policy: str) -> None:
    """The server's threads whose names are `chosen` at niceness `policy`, or SCHED_IDLE."""
    for thread in threading.enumerate():
        if thread.native_id is None or not chosen(thread.name):
            continue
        if policy == "idle":
            os.sched_setscheduler(thread.native_id, os.SCHED_IDLE, os.sched_param(0))
        else:
            os.sched_setscheduler(thread.native_id, os.SCHED_OTHER, os.sched_param(0))
            os.setpriority(os.PRIO_PROCESS, thread.native_id, int(policy))


def main() -> None:
    """Serve a copy of the staging database and run each load after an idle phase."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "loads", nargs="+", help="full, ingest, recompute, publish; marks @MS %%S ^N ~N"
    )
    parser.add_argument("--db", type=Path, default=STAGING_DB)
    parser.add_argument("--seconds", type=int, default=30, help="seconds per phase")
    parser.add_argument("--child-process", action="store_true", help="receive in a receipt process")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="meshlens-bench-") as tmp:
        db = Path(tmp) / "serve.db"
        shutil.copy(args.db, db)
        budget = args.seconds * len(args.loads)
        mqtt, other = load_for("mlsec", 500, budget), load_for("mlpub", 500, budget)
        # Something must take the harness's messages off the broker, as the server would.
        sink = subprocess.Popen(
            ["mosquitto_sub", "-h", "127.0.0.1", "-t", f"{other.root}/#"],
            stdout=subprocess.DEVNULL,
        )
        feed = mqtt.feed(child_process=True if args.child_process else None)
        server, port, stop = start_server(Settings(db_path=db), bench_registry(), feeds=[feed])
        try:
            wait_ready(server)
            watch = ChildWatch(server)
            url = f"http://127.0.0.1:{port}/api/analytics/rf"
            try:
                for load in args.loads:
                    pair = run_pair(load, url, seconds=args.seconds, server=server, mqtt=mqtt,
                                    other=other, watch=watch)  # fmt: skip
                    for text in pair:
                        print(text, flush=True)
            finally:
                watch.stop()
        finally:
            stop()
            sink.kill()
            sink.wait()
            mqtt.close()
            other.close()


if __name__ == "__main__":
    main()
