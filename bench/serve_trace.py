"""Where the churn phase's read latency goes: ablations of bench.serve's churn, with a timeline.

One server (as in bench.serve), then rounds of phases, each a wrk run on the default-shape
rf read: `idle`, then one phase per churn variant, idle between them, so every variant is
judged against idle phases of the same run. Variants (`--variants`, comma-separated):
  full        every recomputer back to back + ingest at --ingest-rate (bench.serve's churn)
  recompute   recomputers only
  ingest      ingest only
  noop        recomputers whose job returns the last published result (fork, transfer and
              publish, no compute), plus ingest
  noop-only   the same without ingest
  pinned      full, with the compute children pinned to the last CPU
  spin        recomputers whose job is a pure-Python loop as long as the real compute
              (CPU without memory traffic), no ingest
Ingest is received from the machine's Mosquitto by the server's own MQTT source, as in
bench.serve (`--feeder-thread`: offered by a thread of the server instead).
`--pipeline-process` runs ingest's pipeline in its process (meshlens.ingest.pipelineProcess);
the `ingest` events are then its round trips, store appends included.
Options after `@` apply to a variant and its idle pair: `si=MS` (GIL switch interval),
`lat=MS` (the ingest worker's batch latency).
While a phase runs, a timeline records forks, garbage collections, ingest batches, results
arriving from children, publishes, and the event loop's wake-up lag (a 1 ms timer on the
server's loop). For each phase it prints wrk's figures, the time spent in each kind of
event, and how much of the loop's stalls (lag > --stall-ms) overlapped each kind.

    flock /work/bench.lock env PYTHONPATH=. .venv/bin/python -m bench.serve_trace
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.dataset import STAGING_DB
from bench.mqtt_load import MqttLoad, load_for
from bench.serve import (
    Churn,
    WrkResult,
    bench_registry,
    feeder_sightings,
    feeds_of,
    run_wrk,
    start_server,
    thread_cpu,
    wait_ready,
)
from meshlens.api import recompute
from meshlens.app import Server
from meshlens.config import Settings
from meshlens.recomputer import Rendered, child, fork_runner, replica_runner

KINDS = ("fork", "gc", "ingest", "result", "publish", "child")


@dataclass
class Timeline:
    """Intervals of interest (kind, start, end) and the loop's lag samples."""

    events: list[tuple[str, float, float]] = field(default_factory=list)
    lags: list[tuple[float, float]] = field(default_factory=list)  # (woke at, lag s)
    recording: bool = False

    def add(self, kind: str, start: float, end: float) -> None:
        if self.recording:
            self.events.append((kind, start, end))

    def clear(self) -> None:
        self.events.clear()
        self.lags.clear()


TIMELINE = Timeline()
NOOP = {"on": False, "pin": False, "spin": False}
CACHED: dict[str, Rendered] = {}
SPIN_S: dict[str, float] = {}  # each analytic's compute time, for the spin variant
CPU: dict[str, float] = {}  # CPU seconds by thread (and child) during the last phase


def _timed(kind: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            TIMELINE.add(kind, start, time.perf_counter())

    return wrapped


def install_probes() -> None:
    """Wrap fork, the result reader and the analytic job; watch the collector (before Server())."""
    child.fork = _timed("fork", child.fork)
    resolve = fork_runner.ForkRunner._resolve
    fork_runner.ForkRunner._resolve = _timed("result", resolve)  # type: ignore[method-assign]
    collect = fork_runner.ForkRunner._collect
    fork_runner.ForkRunner._collect = _timed("child", collect)  # type: ignore[method-assign]
    replica_runner.fork = child.fork  # type: ignore[attr-defined]
    replica_resolve = replica_runner.ReplicaRunner._resolve
    replica_runner.ReplicaRunner._resolve = _timed("result", replica_resolve)  # type: ignore[method-assign]

    def noop(real: Callable[..., Rendered]) -> Callable[..., Rendered]:
        def job(analytic: Any, *args: Any) -> Rendered:
            if NOOP["pin"]:
                os.sched_setaffinity(0, {os.cpu_count() - 1})  # type: ignore[operator]
            if NOOP["spin"] and analytic.name in CACHED:
                # Pure Python for as long as the real compute took: CPU, but no memory traffic.
                until, n = time.perf_counter() + SPIN_S.get(analytic.name, 0.1), 0
                while time.perf_counter() < until:
                    n += 1
                return CACHED[analytic.name]
            if NOOP["on"] and analytic.name in CACHED:
                return CACHED[analytic.name]
            return real(analytic, *args)

        return job

    recompute._job = noop(recompute._job)
    recompute._replica_job = noop(recompute._replica_job)
    gc_started: list[float] = [0.0]

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            gc_started[0] = time.perf_counter()
        else:
            TIMELINE.add(f"gc{info['generation']}", gc_started[0], time.perf_counter())

    gc.callbacks.append(on_gc)


def probe_server(server: Server) -> None:
    """Time ingest batches and publishes; cache results for the noop variant."""
    pipeline = server.worker.pipeline
    pipeline.process = _timed("ingest", pipeline.process)  # type: ignore[method-assign]
    board = server.board
    board.publish = _timed("publish", board.publish)  # type: ignore[method-assign]
    for stat in server.recomputers.stats():
        SPIN_S[stat.name] = stat.last_duration_s or 0.1
    for member in server.recomputers:
        published = board.load(member.name)
        if published is not None:
            CACHED[member.name] = Rendered(
                published.body, published.etag, published.gzip_body, dict(published.extra)
            )


async def _sample_lag(period_s: float) -> None:
    while True:
        asked = time.perf_counter()
        await asyncio.sleep(period_s)
        woke = time.perf_counter()
        if TIMELINE.recording:
            TIMELINE.lags.append((woke, woke - asked - period_s))


def phase_report(name: str, result: WrkResult, stall_s: float, seconds: float) -> dict[str, Any]:
    """wrk's figures, event totals and stall overlaps of the phase just recorded."""
    totals: dict[str, float] = defaultdict(float)
    counts: dict[str, int] = defaultdict(int)
    longest: dict[str, float] = defaultdict(float)
    for kind, start, end in TIMELINE.events:
        key = "gc2" if kind == "gc2" else ("gc01" if kind.startswith("gc") else kind)
        totals[key] += end - start
        counts[key] += 1
        longest[key] = max(longest[key], end - start)
    stalls = [(woke - lag, woke) for woke, lag in TIMELINE.lags if lag > stall_s]
    stall_total = sum(b - a for a, b in stalls)
    overlap: dict[str, float] = defaultdict(float)
    for a, b in stalls:
        for kind, start, end in TIMELINE.events:
            key = "gc2" if kind == "gc2" else ("gc01" if kind.startswith("gc") else kind)
            shared = min(b, end) - max(a, start)
            if shared > 0:
                overlap[key] += shared
    lags = sorted(lag for _, lag in TIMELINE.lags) or [0.0]
    return {
        "phase": name,
        "rps": result.requests_s,
        "p50": result.p50_ms,
        "p99": result.p99_ms,
        "lag_p99_ms": lags[int(len(lags) * 0.99)] * 1000,
        "lag_max_ms": lags[-1] * 1000,
        "stalls": len(stalls),
        "stall_ms": stall_total * 1000,
        "totals_ms": {k: round(v * 1000, 1) for k, v in sorted(totals.items())},
        "counts": dict(sorted(counts.items())),
        "longest_ms": {k: round(v * 1000, 1) for k, v in sorted(longest.items())},
        "stall_overlap_ms": {k: round(v * 1000, 1) for k, v in sorted(overlap.items())},
        "seconds": seconds,
        "cpu": dict(CPU),
    }


def configure(server: Server, variant: str) -> Callable[[], None]:
    """Apply a variant's options (`name@si=0.25+lat=200`) to its pair; returns the undo."""
    options = dict(o.split("=") for o in variant.partition("@")[2].split("+") if o)
    interval, latency = sys.getswitchinterval(), server.worker._latency_s
    if "si" in options:  # the GIL switch interval, ms
        sys.setswitchinterval(float(options["si"]) / 1000)
    if "lat" in options:  # the ingest worker's batch latency, ms
        server.worker._latency_s = float(options["lat"]) / 1000

    def restore() -> None:
        sys.setswitchinterval(interval)
        server.worker._latency_s = latency

    return restore


def run_phase(
    server: Server,
    url: str,
    variant: str,
    feed: Any,
    args: argparse.Namespace,
    *,
    mqtt: MqttLoad | None,
) -> tuple[WrkResult, str]:
    """One wrk run with `variant`'s churn (or none, for idle)."""
    run = {"connections": args.connections, "threads": args.threads, "seconds": args.seconds}
    variant = variant.split("@", maxsplit=1)[0]
    NOOP["on"] = variant.startswith("noop")
    NOOP["pin"] = variant == "pinned"
    NOOP["spin"] = variant == "spin"
    recompute_on = variant in ("full", "recompute", "noop", "noop-only", "pinned", "spin")
    ingest_on = variant in ("full", "ingest", "noop", "pinned")
    TIMELINE.clear()
    TIMELINE.recording = True
    CPU.clear()
    CPU.update(thread_cpu())
    try:
        if variant == "idle":
            return run_wrk(url, **run), ""
        with Churn(
            server, feed, args.ingest_rate, recompute=recompute_on, ingest=ingest_on, mqtt=mqtt
        ) as c:
            result = run_wrk(url, **run)
        return result, f" ({c.computes} computes, {c.offered} obs)"
    finally:
        TIMELINE.recording = False
        after = thread_cpu()
        used = {k: after[k] - CPU.get(k, 0.0) for k in after}
        CPU.clear()
        CPU.update({k: round(v, 2) for k, v in sorted(used.items()) if v >= 0.05})


def main() -> None:
    """Serve a copy of the staging database and run the interleaved phases."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=STAGING_DB)
    parser.add_argument("--seconds", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--variants", default="full,recompute,ingest,noop")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--ingest-rate", type=float, default=500.0)
    parser.add_argument("--stall-ms", type=float, default=5.0)
    parser.add_argument("--niceness", type=int)
    parser.add_argument(
        "--pipeline-process", action="store_true", help="meshlens.ingest.pipelineProcess true"
    )
    parser.add_argument(
        "--feeder-thread", action="store_true", help="offer ingest from a thread, not over MQTT"
    )
    args = parser.parse_args()
    variants = args.variants.split(",")
    install_probes()
    ingest_s = args.seconds * args.rounds * len(variants)
    mqtt = None if args.feeder_thread else load_for("mltrace", args.ingest_rate, ingest_s)
    with tempfile.TemporaryDirectory(prefix="meshlens-bench-") as tmp:
        db = Path(tmp) / "serve.db"
        shutil.copy(args.db, db)
        server, port, stop = start_server(
            Settings(db_path=db),
            bench_registry(),
            args.niceness,
            pipeline_process=args.pipeline_process or None,
            feeds=feeds_of(mqtt),
        )
        reports: list[dict[str, Any]] = []
        try:
            wait_ready(server)
            probe_server(server)
            loop = server._loop
            assert loop is not None
            loop.call_soon_threadsafe(lambda: loop.create_task(_sample_lag(0.001)))
            wanted = int(args.ingest_rate * ingest_s * 1.3)
            feed = feeder_sightings(wanted // 30 + 10) if mqtt is None else iter(())
            url = f"http://127.0.0.1:{port}/api/analytics/rf"
            for _ in range(args.rounds):
                for variant in variants:
                    restore = configure(server, variant)
                    for kind in ("idle", variant):
                        result, note = run_phase(server, url, kind, feed, args, mqtt=mqtt)
                        name = f"idle@{variant}" if kind == "idle" else variant + note
                        reports.append(
                            phase_report(name, result, args.stall_ms / 1000, args.seconds)
                        )
                        print_phase(reports[-1])
                    restore()
        finally:
            stop()
            if mqtt is not None:
                mqtt.close()
    summarise(reports, variants)
    print("load average at the end:", os.getloadavg(), "threads:", threading.active_count())


def print_phase(r: dict[str, Any]) -> None:
    """One phase, as it finishes."""
    print(
        f"{r['phase']:<36} {r['rps']:>7,.0f} req/s p50 {r['p50']:5.2f} p99 {r['p99']:6.2f} ms"
        f" | lag p99 {r['lag_p99_ms']:5.1f} max {r['lag_max_ms']:6.1f} ms,"
        f" {r['stalls']} stalls {r['stall_ms']:.0f} ms",
        flush=True,
    )
    print(f"    cpu s: {r['cpu']}", flush=True)
    if r["counts"]:
        print(f"    events: {r['counts']}\n    total ms: {r['totals_ms']}"
              f"\n    longest ms: {r['longest_ms']}\n    stall overlap ms: {r['stall_overlap_ms']}",
              flush=True)  # fmt: skip


def summarise(reports: list[dict[str, Any]], variants: list[str]) -> None:
    """Median p99 per variant, against the median idle p99 of the same run."""
    idle = [r for r in reports if r["phase"].startswith("idle")]
    idle_p99 = statistics.median(r["p99"] for r in idle)
    idle_rps = statistics.median(r["rps"] for r in idle)
    low, high = min(r["p99"] for r in idle), max(r["p99"] for r in idle)
    print(f"\nidle: median {idle_rps:,.0f} req/s, p99 {idle_p99:.2f} ms ({low:.2f}-{high:.2f})")
    for variant in variants:
        mine = [r for r in reports if r["phase"].split(" ")[0] == variant]
        pair = [r for r in reports if r["phase"] == f"idle@{variant}"]
        pair_p99 = statistics.median(r["p99"] for r in pair)
        p99s = [r["p99"] for r in mine]
        each = ", ".join(f"{p:.1f}" for p in p99s)
        print(f"{variant:<10} median p99 {statistics.median(p99s):6.2f} ms"
              f" x{statistics.median(p99s) / idle_p99:.2f} (p99s {each});"
              f" req/s {statistics.median(r['rps'] for r in mine):,.0f};"
              f" against its own idles x{statistics.median(p99s) / pair_p99:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
