"""Serving beside background work: what its priority buys, and what its duty cycle costs.

One server (the real `meshlens.app.Server` on a copy of the staging database, with no
churn of its own) is read by wrk at 32 keep-alive connections in pairs of phases: idle,
then loaded. The load of a pair is one of:
  - `none`: nothing, a control: how far two idle phases in a row differ;
  - `spin/POLICY/RUN/REST`: a separate process running a pure-Python loop, RUN ms of its
    CPU time then REST ms asleep (REST 0: flat out); POLICY `nice` is niceness 10,
    `idle` adds Linux's SCHED_IDLE;
  - `forked/WHAT/RUN/REST`: children forked from the server (niceness 10, SCHED_IDLE),
    one at a time, each doing RUN ms of WHAT then the next forked REST ms later: `sleep`
    (a child that only shares the server's pages), `spin` (pure-Python CPU) or `numpy`
    (passes over the store's observation columns, as computes stream them);
  - `ingest-elsewhere/NICE`: the real ingest pipeline in a separate process at niceness
    NICE (`idle`: 10 and SCHED_IDLE), on a database of its own, at 500 observations/s;
    its line says how many observations a second it wrote;
  - `ingest`: 500 observations/s published to the machine's Mosquitto by a process of
    their own (bench.mqtt_load) and received by the server's own MQTT source, as in
    bench.serve; `ingest@thread` offers them from a thread of the server every 10 ms
    instead (how bench.serve fed it before session 16), `ingest@thread100` every 100 ms;
  - `append`: what the server would keep of ingest if the pipeline ran in another
    process: its store appends, once a second, the store batch of 500 sightings that the
    real pipeline made beforehand (on a copy of the database, ids past the server's);
    `append+elsewhere/NICE` adds that process's work (`ingest-elsewhere/NICE`), and
    `full-elsewhere/NICE` adds the recomputers too: `full` with ingest moved out;
  - `recompute`: every recomputer back to back (as bench.serve does; paced unless
    `--cpu-share 1`); `recompute/SHARE` runs the phase at that computeCpuShare instead;
  - `full`: both, as bench.serve's churn (`full/SHARE` as for recompute; `@thread` and
    `@thread100` as for ingest).
  - `wake/HZ/US`: a thread of the server waking HZ times a second for US µs of Python.
A churn phase starts with a round of computes (bench.serve.Churn ends any rest left from
the last phase), and its line says how many computes ended in it and their children's CPU
time, so a phase that a paced runner's rest left empty cannot pass for a cheap one.
Each loaded phase is judged against the idle phase just before it; the figure is the
median ratio over the rounds. `--pin CPU` confines the whole server (every thread, and so
its children) to one CPU; `--replica` runs the recomputers on the replica child. This is
the evidence behind `analytics.computeCpuShare` (docs/architecture.md, "Pacing"). Run:

    flock /work/bench.lock env PYTHONPATH=. python -m bench.serve_duty \
        spin/idle/0/0 spin/idle/10/90 forked/numpy/300/2700 ingest full
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import itertools
import os
import queue
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from bench.dataset import STAGING_DB
from bench.encoder_data import sightings
from bench.mqtt_load import MqttLoad, load_for
from bench.periodic import Periodic
from bench.serve import (
    Churn,
    WrkResult,
    feeds_of,
    fork_stats,
    offer_at_rate,
    run_wrk,
    start_server,
    wait_ready,
)
from meshlens.analytics.registry import ANALYTICS
from meshlens.app import Server
from meshlens.config import Settings
from meshlens.ingest.worker import IngestWorker
from meshlens.recomputer import ForkRunner
from meshlens.records import Sighting
from meshlens.storage import open_storage
from meshlens.store.batch import StoreBatch

INGEST_RATE = 500.0
_SEEDS = itertools.count(100)


def _spin(policy: str, run_ms: float, rest_ms: float) -> None:
    """The `spin` load: a pure-Python loop, `run_ms` of CPU then `rest_ms` asleep."""
    os.nice(10)
    if policy == "idle":
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    print("ready", flush=True)
    while True:
        end = time.thread_time() + (run_ms / 1000 if rest_ms else 3600.0)
        while time.thread_time() < end:
            counts: dict[int, int] = {}
            for i in range(2000):
                counts[i % 100] = counts.get(i % 100, 0) + 1
        time.sleep(rest_ms / 1000)


def _ingest_elsewhere(policy: str, db: Path, seed: int) -> None:
    """The `ingest-elsewhere` load: the real pipeline on its own database, new sightings.

    POLICY is a niceness, or `idle` (niceness 10 and SCHED_IDLE). Prints how many
    sightings it has written (stored or duplicate) every second.
    """
    os.nice(10 if policy == "idle" else int(policy))
    if policy == "idle":
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    storage = open_storage(Settings(db_path=db))
    worker = IngestWorker(storage.pipeline)
    worker.start()
    feed = iter(list(sightings(int(INGEST_RATE * 600) // 30, seed=seed)))
    print("ready", flush=True)
    offering = threading.Thread(
        target=offer_at_rate, args=(worker.offer, feed, INGEST_RATE, threading.Event()),
        daemon=True,
    )  # fmt: skip
    offering.start()
    while True:  # until killed
        counts = worker.counters.snapshot()
        print(f"written {counts.stored_observations + counts.duplicates}", flush=True)
        time.sleep(1.0)


def _written_rate(child: subprocess.Popen[str]) -> str:
    """What an `ingest-elsewhere` child wrote per second while it ran (it has been killed)."""
    assert child.stdout is not None
    counts = [int(line.split()[1]) for line in child.stdout if line.startswith("written")]
    if len(counts) < 2:
        return ""
    return f" | elsewhere wrote {(counts[-1] - counts[0]) / (len(counts) - 1):,.0f} obs/s"


def _child(kind: str, *args: str) -> subprocess.Popen[str]:
    """Start a load process and wait until it is running."""
    command = [sys.executable, "-m", "bench.serve_duty", "--child", kind, *args]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None and child.stdout.readline().startswith("ready")
    return child


def main() -> None:
    """Run the rounds of idle/loaded pairs and print the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("loads", nargs="*", default=["spin/idle/0/0", "spin/idle/10/90"])
    parser.add_argument("--db", type=Path, default=STAGING_DB)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--cpu-share", type=float, help="analytics.computeCpuShare")
    parser.add_argument("--busy-batch-latency-ms", type=int, help="busyBatchLatencyMs")
    parser.add_argument(
        "--replica", action="store_true", help="recompute on the replica child (computeIn)"
    )
    parser.add_argument(
        "--pin", type=int, help="pin the server's threads (and so its children) to this CPU"
    )
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        if kind == "spin":
            _spin(rest[0], float(rest[1]), float(rest[2]))
        else:
            _ingest_elsewhere(rest[0], Path(rest[1]), int(rest[2]))
        return
    with tempfile.TemporaryDirectory(prefix="meshlens-bench-") as tmp:
        db, other = Path(tmp) / "serve.db", Path(tmp) / "elsewhere.db"
        shutil.copy(args.db, db)
        shutil.copy(args.db, other)
        appends = _append_loads(args.loads)
        batches = _prebuilt_batches(
            db, Path(tmp) / "prebuilt.db", args.rounds * args.seconds * appends
        ) if appends else queue.SimpleQueue[StoreBatch]()  # fmt: skip
        mqtt = _mqtt_load(args.loads, args.rounds, args.seconds)
        server, port, stop = start_server(
            Settings(db_path=db), ANALYTICS, cpu_share=args.cpu_share,
            busy_batch_latency_ms=args.busy_batch_latency_ms, replica=args.replica,
            feeds=feeds_of(mqtt),
        )  # fmt: skip
        try:
            wait_ready(server)
            if args.pin is not None:
                for task in os.listdir("/proc/self/task"):
                    os.sched_setaffinity(int(task), {args.pin})
            feed = iter(list(sightings(int(INGEST_RATE * 900) // 30, seed=7)))
            url = f"http://127.0.0.1:{port}/api/analytics/rf"
            ratios: dict[str, list[float]] = {}
            for rnd in range(args.rounds):
                for load in args.loads:
                    idle = run_wrk(url, seconds=args.seconds, connections=32, threads=2)
                    loaded, work = _measure(
                        load, url, args.seconds, server=server, feed=feed, other=other,
                        batches=batches, mqtt=mqtt,
                    )  # fmt: skip
                    ratio = loaded.p99_ms / idle.p99_ms
                    ratios.setdefault(load, []).append(ratio)
                    print(f"round {rnd + 1} {load:24s} idle p99 {idle.p99_ms:5.2f} ms"
                          f" {idle.requests_s:7,.0f}/s | loaded p99 {loaded.p99_ms:5.2f} ms"
                          f" {loaded.requests_s:7,.0f}/s | x{ratio:.2f}{work}",
                          flush=True)  # fmt: skip
        finally:
            stop()
            if mqtt is not None:
                mqtt.close()
    print("\n| load | p99 loaded / idle (each round) | median |\n|---|---|---|")
    for load, values in ratios.items():
        each = ", ".join(f"x{v:.2f}" for v in values)
        print(f"| `{load}` | {each} | x{statistics.median(values):.2f} |")
    print(f"load average at the end: {os.getloadavg()}")


def _measure(
    load: str,
    url: str,
    seconds: int,
    *,
    server: Server,
    feed: Iterator[Sighting],
    other: Path,
    batches: queue.SimpleQueue[StoreBatch],
    mqtt: MqttLoad | None,
) -> tuple[WrkResult, str]:
    """One loaded phase, and what the server's own churn did while wrk ran."""
    kind, *rest = load.split("/")
    if kind in ("append", "append+elsewhere", "full-elsewhere"):
        child = _child("ingest", rest[0], str(other), str(next(_SEEDS))) if rest else None
        churn = Churn(server, feed, INGEST_RATE, recompute=kind == "full-elsewhere",
                      ingest=False)  # fmt: skip
        try:
            with churn, _Appending(server, batches):
                result = run_wrk(url, seconds=seconds, connections=32, threads=2)
        finally:
            if child is not None:
                child.kill()
                child.wait()
        return result, "" if child is None else _written_rate(child)
    # Ingest comes through Mosquitto and the server's MQTT source, or with `@thread` from
    # a thread of the server offering every 10 ms (`@thread100`: every 100 ms).
    kind, _, feeder = kind.partition("@")
    period_s = 0.1 if feeder == "thread100" else 0.01
    if kind in ("ingest", "recompute", "full"):
        settings = server.settings
        if rest:  # recompute/SHARE: this phase at another computeCpuShare (1: unpaced)
            analytics = dataclasses.replace(settings.analytics, compute_cpu_share=float(rest[0]))
            server.settings = dataclasses.replace(settings, analytics=analytics)
        churn = Churn(server, feed, INGEST_RATE, recompute=kind in ("recompute", "full"),
                      ingest=kind in ("ingest", "full"), offer_period_s=period_s,
                      mqtt=None if feeder else mqtt)  # fmt: skip
        try:
            with churn, _PacedTime(server) as paced:
                cpu_before = _compute_cpu_s(server)
                result = run_wrk(url, seconds=seconds, connections=32, threads=2)
                # Paced computes do not line up with phases: say how much computing the
                # measured window held (children that ended in it), so a lucky phase shows.
                work = (f" | {churn.computes} computes, children's CPU"
                        f" {_compute_cpu_s(server) - cpu_before:.2f} s,"
                        f" paced {paced.fraction():.0%} of the phase")  # fmt: skip
            return result, work if kind != "ingest" else ""
        finally:
            server.settings = settings
            server.reads_busy(server.loop_busy.busy)
    if kind in ("forked", "forked+ingest"):
        with Churn(server, feed, INGEST_RATE, recompute=False, ingest=kind != "forked"):
            return _forked(
                url, seconds, server, rest[0], run_ms=float(rest[1]), rest_ms=float(rest[2])
            ), ""
    if kind == "wake":  # a thread of the server waking HZ times a second for US µs of Python
        with _Waking(1.0 / float(rest[0]), float(rest[1])):
            return run_wrk(url, seconds=seconds, connections=32, threads=2), ""
    if kind == "none":  # the control: a second idle phase, the ratio's noise floor
        return run_wrk(url, seconds=seconds, connections=32, threads=2), ""
    if kind == "spin":
        child = _child("spin", *rest)
    else:  # a seed of its own each time, so every phase writes new transmissions
        child = _child("ingest", rest[0], str(other), str(next(_SEEDS)))
    try:
        result = run_wrk(url, seconds=seconds, connections=32, threads=2)
    finally:
        child.kill()
        child.wait()
    return result, _written_rate(child) if kind == "ingest-elsewhere" else ""


def _mqtt_load(loads: list[str], rounds: int, seconds: int) -> MqttLoad | None:
    """The publisher for the loads that ingest through MQTT (None when none does)."""
    phases = sum(load.split("/")[0] in ("ingest", "full") for load in loads)
    if not phases:
        return None
    return load_for("mlduty", INGEST_RATE, seconds * rounds * phases)


def _append_loads(loads: list[str]) -> int:
    """How many of `loads` append prebuilt batches; such a run cannot ingest in-process."""
    kinds = [load.split("/")[0] for load in loads]
    appends = sum(k in ("append", "append+elsewhere", "full-elsewhere") for k in kinds)
    if appends and {"ingest", "full"} & set(kinds):
        # The server's own ingest would write transmission ids below the prebuilt ones,
        # and the store takes transmissions in increasing id order only.
        raise SystemExit("append loads cannot share a run with ingest or full")
    return appends


def _prebuilt_batches(db: Path, scratch: Path, count: int) -> queue.SimpleQueue[StoreBatch]:
    """`count` store batches of 500 new sightings, made by the real pipeline on a copy of `db`."""
    # The copy's ids start 10M past the server's, so its store can append these batches.
    shutil.copy(db, scratch)
    storage = open_storage(Settings(db_path=scratch))
    made: queue.SimpleQueue[StoreBatch] = queue.SimpleQueue()

    class Keep:
        def appended(self, batch: StoreBatch) -> None:
            made.put(batch)

        def pruned(self) -> None:
            raise AssertionError("no retention while prebuilding")

    try:
        storage.db.write(
            lambda conn: conn.execute(
                "UPDATE sqlite_sequence SET seq = seq + 10000000"
                " WHERE name IN ('transmissions', 'observations')"
            )
        )
        storage.store.listen(Keep())
        feed = list(sightings(count * int(INGEST_RATE) // 25 + 100, seed=8))  # ~30 heard each
        for i in range(count):
            storage.pipeline.process(feed[i * 500 : (i + 1) * 500])
    finally:
        storage.close()
    return made


class _Appending(Periodic):
    """While entered, the server's ingest worker appends one prebuilt batch a second."""

    def __init__(self, server: Server, batches: queue.SimpleQueue[StoreBatch]) -> None:
        super().__init__(1.0, "appending")
        self._server = server
        self._batches = batches

    def tick(self) -> None:
        """Append the next batch on the worker's thread: the store's one writer."""
        if not self._batches.empty():
            batch = self._batches.get()
            self._server.worker.call(functools.partial(self._server.store.append, batch)).result()


def _forked(
    url: str, seconds: int, server: Server, what: str, *, run_ms: float, rest_ms: float
) -> WrkResult:
    """The `forked/WHAT/RUN/REST` load (module docstring), for one wrk phase."""
    runner = ForkRunner(niceness=10, name="duty")
    stop = threading.Event()
    obs = server.store.snapshot().obs
    columns = [obs.db_id, obs.ts_ms, obs.tx, obs.observer, obs.snr_db]

    def job() -> int:
        end = time.thread_time() + run_ms / 1000
        if what == "sleep":
            time.sleep(run_ms / 1000)
        while what != "sleep" and time.thread_time() < end:
            if what == "numpy":
                sum(int(np.asarray(c).sum()) for c in columns)
            else:
                sum(range(2000))
        return 0

    def loop() -> None:
        while not stop.is_set():
            runner.submit(job).result()
            stop.wait(rest_ms / 1000)

    thread = threading.Thread(target=loop)
    thread.start()
    try:
        return run_wrk(url, seconds=seconds, connections=32, threads=2)
    finally:
        stop.set()
        thread.join()
        runner.stop()


class _Waking(Periodic):
    """While entered, wakes every `period_s` and runs `busy_us` of pure Python."""

    def __init__(self, period_s: float, busy_us: float) -> None:
        super().__init__(period_s, "waking")
        self._busy_s = busy_us / 1e6

    def tick(self) -> None:
        """One wake-up's work."""
        end = time.thread_time() + self._busy_s
        while time.thread_time() < end:
            sum(range(50))


class _PacedTime(Periodic):
    """Samples, every 50 ms while entered, whether the server's computes are paced."""

    def __init__(self, server: Server) -> None:
        super().__init__(0.05, "paced-time")
        self._server = server
        self._samples: list[bool] = []

    def tick(self) -> None:
        """One sample."""
        self._samples.append(self._server.pace.share < 1.0)

    def fraction(self) -> float:
        """The share of samples in which computes were paced."""
        return sum(self._samples) / len(self._samples) if self._samples else 0.0


def _compute_cpu_s(server: Server) -> float:
    """CPU time of the recomputers' children that have ended (fork runner only)."""
    stats = fork_stats(server)
    return 0.0 if stats is None else stats.cpu_s


if __name__ == "__main__":
    main()
