"""Serving: default-shape reads over HTTP under wrk, idle and while everything churns.

One run, one server (the real `meshlens.app.Server`: granian embedded on uvloop, the fast
path, ForkRunner computes; `--asyncio-loop`: on asyncio's own loop) on a staging-scale
database, measured by `wrk` at 32 keep-alive connections, in phases:
  1. idle: the default-shape read of rf through the fast path;
  2. the same bytes through the Starlette route (`?region=` is the default shape too);
  3. pairs of an idle phase and a churn phase: every recomputer recomputing back to
     back (paced as shipped) plus ingest at 500 observations/s, published to the
     machine's Mosquitto (127.0.0.1:1883) by a process of its own and received by the
     server's own MQTT source (bench/mqtt_load.py; `--feeder-thread`: offered by a thread
     of the server instead), received and written on threads of the server as shipped
     (`--receipt-process`, `--pipeline-process`: in processes of their own).
     The event loop keeps a CPU of its own while busy, computes and ingest run on the
     others, as shipped (`--shared-cpus`: every thread on any CPU). While reads are
     busy, ingest's loops in the server take short turns at the GIL, as shipped
     (`--no-gil-turns`: they keep it as long as their work lasts; `--gil-turn-ms`:
     turns of another length).
     The ratio is the median over the pairs of the churn p99 over the idle p99 just
     before it, with the sign test's interval for the median (one pair moves ~±0.1 on
     the machine's noise alone, so judge nine pairs, not three); each churn
     phase says the CPU of ingest's threads in the server, and of the pipeline process,
     and how the event loop's thread fared in the pair's idle and churn phases: its CPU
     per read, and how long a second it was runnable but waiting for a CPU (the
     scheduler's counts in /proc/.../schedstat).
     `--no-ingest --no-recompute` makes every churn phase a second idle one: the ratio
     the machine's noise alone gives (an A/A run). `--stall MS@HZ` adds to every churn
     phase a thread holding the GIL MS ms HZ times a second (`:process`: that CPU in a
     process of its own; `:idle`: that process at SCHED_IDLE on the background CPUs, as a
     compute child; bench/stalls.py): what a known pattern costs the p99.
All nine analytics compute for real; a registry entry without a compute would run a
stand-in doing comparable vectorised work over the same columns (`standin`). Run:

    flock /work/bench.lock env PYTHONPATH=. python -m bench.serve
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import gc
import itertools
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import wait as wait_futures
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench.dataset import STAGING_DB
from bench.encoder_data import DEFAULT_CACHE, sightings
from bench.load import proc_kb
from bench.mqtt_load import MqttLoad, load_for
from bench.periodic import Periodic
from bench.stalls import StallLoad, parse_stall
from bench.suite import Context, Row
from meshlens import gil, placement
from meshlens.analytics.query import Query
from meshlens.analytics.registry import ANALYTICS, Analytic
from meshlens.api.server import bind, run_loop
from meshlens.app import Server
from meshlens.config import Settings
from meshlens.ingest.feeds import Feed
from meshlens.ingest.mqtt import MqttFeed
from meshlens.recomputer import ForkRunner, ForkRunnerStats
from meshlens.records import Clock, JSONValue, Sighting
from meshlens.store.snapshot import Snapshot


def standin(snap: Snapshot, query: Query) -> JSONValue:
    """An analytic-sized compute (~0.1-0.2 s at staging scale): histograms, series, top hops."""
    obs, tx = snap.obs, snap.tx
    valid = ~np.isnan(obs.snr_db)
    snr, rssi = obs.snr_db[valid], obs.rssi_dbm[valid]
    hours = (obs.ts_ms - (obs.ts_ms.min() if len(obs) else 0)) // 3_600_000
    per_hour = np.bincount(hours) if len(obs) else np.zeros(0, np.int64)
    snr_hour = np.bincount(hours[valid], weights=snr, minlength=len(per_hour))
    hop_counts = np.bincount(snap.hops) if len(snap.hops) else np.zeros(0, np.int64)
    top = np.argsort(-hop_counts, kind="stable")[:50]
    per_observer = np.bincount(obs.observer, minlength=len(snap.observers))
    step = max(1, len(snr) // 500)
    return {
        "totalObservations": len(obs),
        "perObserver": per_observer.tolist(),
        "snr": np.histogram(snr, bins=40)[0].tolist() if len(snr) else [],
        "rssi": np.histogram(rssi, bins=40)[0].tolist() if len(rssi) else [],
        "payloadTypes": np.bincount(tx.payload_type, minlength=16).tolist(),
        "sizes": np.bincount(tx.raw_len).tolist(),
        "packetsPerHour": [{"hour": int(h), "count": int(c)} for h, c in enumerate(per_hour)],
        "signalOverTime": [float(v) for v in snr_hour],
        "topHops": [{"hop": snap.hop_hex[int(i)], "count": int(hop_counts[i])} for i in top],
        "scatterData": [
            {"snr": float(s), "rssi": float(r)}
            for s, r in zip(snr[::step][:500], rssi[::step][:500], strict=False)
        ],
    }


def bench_registry() -> tuple[Analytic, ...]:
    """The registry, with stand-ins for analytics not built yet."""
    return tuple(a if a.compute else dataclasses.replace(a, compute=standin) for a in ANALYTICS)


@dataclass(frozen=True, slots=True)
class WrkResult:
    """What wrk measured in one phase."""

    requests_s: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}
SERVER_THREAD = "server"  # the thread start_server runs the server's event loop on


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


def run_wrk(url: str, *, seconds: int, connections: int, threads: int) -> WrkResult:
    """wrk against `url`; latency percentiles from its --latency table."""
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", url],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    percent = dict(re.findall(r"^\s+(\d+)%\s+(\S+)$", out, re.M))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    total = re.search(r"(\d+) requests in", out)
    return WrkResult(
        requests_s=float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        p50_ms=_ms(percent["50"]),
        p99_ms=_ms(percent["99"]),
        requests=int(total.group(1)) if total else 0,
        errors=int(errors.group(1)) if errors else 0,
    )


@dataclass(frozen=True, slots=True)
class MemorySample:
    """The benchmark process's resident memory at one moment (MB, from /proc/self/status)."""

    at_s: float
    anon_mb: float
    file_mb: float


def resident_mb() -> tuple[float, float]:
    """This process's anonymous and file-backed resident memory, in MB."""
    anon, file = proc_kb("/proc/self/status", "RssAnon", "RssFile")
    return anon / 1024, file / 1024


class MemoryWatch(Periodic):
    """Samples the process's resident memory every `every_s` while the phases run.

    The server runs in this process, so its heap is what grows (the harness's is small
    and steady); each sample is printed as it is taken, so a long run can be followed.
    """

    def __init__(self, every_s: float) -> None:
        super().__init__(every_s, "memory-watch")
        self._started = time.perf_counter()
        self.samples: list[MemorySample] = []

    def __exit__(self, *exc: object) -> None:
        super().__exit__(*exc)
        self.tick()  # the last sample, as the phases end

    def tick(self) -> None:
        """One sample, printed."""
        anon, file = resident_mb()
        sample = MemorySample(time.perf_counter() - self._started, anon, file)
        self.samples.append(sample)
        print(f"memory at {sample.at_s:.0f} s: RssAnon {anon:.0f} MB, RssFile {file:.0f} MB",
              flush=True)  # fmt: skip

    def summary(self) -> str:
        """First, peak and last RssAnon, and its growth a minute over the second half."""
        first, last = self.samples[0], self.samples[-1]
        half = [s for s in self.samples if s.at_s >= last.at_s / 2]
        span_min = (half[-1].at_s - half[0].at_s) / 60
        rate = (half[-1].anon_mb - half[0].anon_mb) / span_min if span_min > 0 else 0.0
        peak = max(s.anon_mb for s in self.samples)
        return (f"RssAnon {first.anon_mb:.0f} MB at {first.at_s:.0f} s, peak {peak:.0f},"
                f" {last.anon_mb:.0f} MB at {last.at_s:.0f} s; {rate:+.1f} MB a minute over"
                f" the second half")  # fmt: skip


class Churn:
    """Every recomputer back to back, and ingest at a fixed rate, until stopped.

    A paced runner rests after each round, and a phase shorter than the rest could hold
    no compute at all: entering ends the rest (the share is 1 until the next round has
    forked), and leaving runs any round still waiting at once, so the next idle phase
    starts quiet. The share the server chooses is then put back (`Server.reads_busy`).
    With `mqtt`, ingest is that publisher's, received by the server's own MQTT source;
    without, a thread of the server offers `feed` every `offer_period_s`. A `stall` runs
    through the phase too (bench/stalls.py: a calibration, not part of the churn).
    """

    def __init__(
        self,
        server: Server,
        feed: Iterator[Sighting],
        rate_per_s: float,
        *,
        recompute: bool = True,
        ingest: bool = True,
        offer_period_s: float = 0.01,
        mqtt: MqttLoad | None = None,
        stall: StallLoad | None = None,
    ) -> None:
        self._server = server
        self._stall = stall
        self._offer_period_s = offer_period_s
        self._mqtt = mqtt if ingest else None
        self._feed = feed
        self._rate = rate_per_s
        self._stop = threading.Event()
        self._recomputing = recompute
        self.rounds = 0
        self.computes = 0
        self.offered = 0
        self.stored = 0  # observations the server stored during the phase
        self._stored_before = 0
        self._lock = threading.Lock()
        feeding = ingest and mqtt is None  # with `mqtt`, sightings come through the broker
        self._threads = [
            *([threading.Thread(target=self._recompute, name="churn-recompute")] * recompute),
            *([threading.Thread(target=self._ingest, name="churn-ingest")] * feeding),
        ]

    def __enter__(self) -> Churn:
        forks = _forks(self._server) if self._recomputing else None
        self._server.pace.share = 1.0  # ends a rest left from the last phase
        self._stored_before = self._stored_now()
        for thread in self._threads:
            thread.start()
        if self._mqtt is not None:
            self._mqtt.go()
        if self._stall is not None:
            self._stall.start()
        deadline = time.monotonic() + 5.0  # wait for this phase's first round to fork
        while forks is not None and _forks(self._server) == forks and time.monotonic() < deadline:
            time.sleep(0.005)
        self._server.reads_busy(self._server.loop_busy.busy)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._mqtt is not None:
            self.offered = self._mqtt.pause()
        if self._stall is not None:
            self._stall.stop()
        # Stored by the phase's end: short of what was published when ingest fell behind.
        self.stored = self._stored_now() - self._stored_before
        self._server.pace.share = 1.0  # a round waiting out its rest runs now
        for thread in self._threads:
            thread.join()
        self._server.reads_busy(self._server.loop_busy.busy)

    def _stored_now(self) -> int:
        return self._server.worker.counters.snapshot().stored_observations

    def _recompute(self) -> None:
        members = list(self._server.recomputers)
        while not self._stop.is_set():
            futures = [m.refresh(join_in_flight=False) for m in members]
            for future in futures:  # paced rounds outlast a phase: count computes too
                future.add_done_callback(self._computed)
            wait_futures(futures)
            self.rounds += 1

    def _computed(self, _: object) -> None:
        with self._lock:
            self.computes += 1

    def _ingest(self) -> None:
        offer_at_rate(self._offer, self._feed, self._rate, self._stop, self._offer_period_s)

    def _offer(self, sighting: Sighting) -> None:
        self._server.worker.offer(sighting)
        self.offered += 1


def _ingest_ms(label: str) -> str:
    """The ingest threads' CPU ms/s a churn phase's label gives."""
    found = re.search(r"ingest's threads (\d+) ms", label)
    return found.group(1) if found else "?"


def is_ingest_thread(name: str) -> bool:
    """Whether a thread of the server is ingest's: an MQTT receipt, the worker, the writer."""
    return name in ("ingest", "db-writer") or name.startswith("mqtt-")


def _stat_cpu_s(stat: Path) -> float:
    """User plus system CPU seconds in a /proc `stat` file (0 when it has gone)."""
    try:
        fields = stat.read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def thread_cpu() -> dict[str, float]:
    """CPU seconds so far of this process's threads by name, and of its child processes."""
    out: dict[str, float] = defaultdict(float)
    names = {t.native_id: t.name for t in threading.enumerate()}
    for task in Path("/proc/self/task").iterdir():
        # Python threads by their names (numbers dropped); others (granian's, SQLite's) "native".
        name = names.get(int(task.name), "native")
        name = "-".join(p for p in name.split("-") if not p.isdigit() and "(" not in p)
        out[name] += _stat_cpu_s(task / "stat")
    children = Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children").read_text().split()
    for pid in children:
        try:
            comm = Path(f"/proc/{pid}/comm").read_text().strip()
        except OSError:
            continue
        out[f"child:{comm}"] += _stat_cpu_s(Path(f"/proc/{pid}/stat"))
    times = os.times()
    out["reaped (wrk, per-round children)"] = times.children_user + times.children_system
    return out


@dataclass(frozen=True, slots=True)
class ThreadSched:
    """What the scheduler counted for one thread so far (`/proc/.../schedstat`)."""

    on_cpu_s: float
    waiting_s: float  # runnable, waiting on a run queue for a CPU


def _schedstat(native_id: int) -> ThreadSched:
    """The scheduler's counts for one thread of this process (OSError: it has gone)."""
    fields = Path(f"/proc/self/task/{native_id}/schedstat").read_text().split()
    return ThreadSched(int(fields[0]) / 1e9, int(fields[1]) / 1e9)


def thread_sched(name: str) -> ThreadSched:
    """The scheduler's counts for this process's thread called `name` (zeros: none, or gone)."""
    for thread in threading.enumerate():
        if thread.name == name and thread.native_id is not None:
            try:
                return _schedstat(thread.native_id)
            except OSError:
                break
    return ThreadSched(0.0, 0.0)


@dataclass(frozen=True, slots=True)
class LoopLoad:
    """How the event loop's thread fared in one phase: CPU per read, and waits for a CPU."""

    cpu_us_per_request: float
    waited_ms_s: float  # ms a second it was runnable yet not running

    @staticmethod
    def of(before: ThreadSched, after: ThreadSched, result: WrkResult, seconds: float) -> LoopLoad:
        """The phase between two counts, whose wrk run measured `result` over `seconds`."""
        requests = max(1, result.requests)
        return LoopLoad(
            (after.on_cpu_s - before.on_cpu_s) * 1e6 / requests,
            (after.waiting_s - before.waiting_s) * 1000 / seconds,
        )


def loop_change(idle: LoopLoad, churn: LoopLoad) -> str:
    """How the event loop's thread fared in a pair: idle, then churn."""
    return (f"event loop {idle.cpu_us_per_request:.1f} -> {churn.cpu_us_per_request:.1f} µs"
            f" CPU a read, waited {idle.waited_ms_s:.0f} -> {churn.waited_ms_s:.0f} ms/s"
            " for a CPU")  # fmt: skip


def loop_phase(url: str, run: dict[str, int]) -> tuple[WrkResult, LoopLoad]:
    """One wrk run, and what the server's event loop thread ("server") spent in it."""
    before = thread_sched(SERVER_THREAD)
    result = run_wrk(url, **run)
    return result, LoopLoad.of(before, thread_sched(SERVER_THREAD), result, run["seconds"])


@dataclass(frozen=True, slots=True)
class ThreadLoad:
    """What one thread did so far, or in a phase."""

    cpu_s: float  # on a CPU (schedstat, in ns: exact, where /proc stat counts ticks)
    waits: int  # voluntary context switches: it blocked (the GIL, a lock, a sleep, a socket)

    def since(self, before: ThreadLoad | None) -> ThreadLoad:
        """What it did after `before` (None: since it started)."""
        if before is None:
            return self
        return ThreadLoad(self.cpu_s - before.cpu_s, self.waits - before.waits)


def _voluntary_switches(native_id: int) -> int:
    """How often one thread of this process has blocked so far (OSError: it has gone)."""
    for line in Path(f"/proc/self/task/{native_id}/status").read_text().splitlines():
        if line.startswith("voluntary_ctxt_switches:"):
            return int(line.split()[1])
    raise OSError(f"no voluntary_ctxt_switches for thread {native_id}")


def ingest_thread_loads() -> dict[str, ThreadLoad]:
    """CPU and waits so far of each of ingest's threads in this process, by (unique) name."""
    out: dict[str, ThreadLoad] = {}
    for thread in threading.enumerate():
        if not is_ingest_thread(thread.name) or thread.native_id is None:
            continue
        try:
            cpu_s = _schedstat(thread.native_id).on_cpu_s
            out[thread.name] = ThreadLoad(cpu_s, _voluntary_switches(thread.native_id))
        except OSError:  # it ended meanwhile
            continue
    return out


def thread_loads_since(before: dict[str, ThreadLoad]) -> dict[str, ThreadLoad]:
    """What each of ingest's threads did since `before` (ingest_thread_loads)."""
    return {name: load.since(before.get(name)) for name, load in ingest_thread_loads().items()}


def describe_loads(loads: dict[str, ThreadLoad], seconds: float) -> str:
    """`N ms CPU/s, W waits/s (name ms/waits, ...)` for threads' loads over `seconds`."""
    cpu_ms = {name: load.cpu_s * 1000 / seconds for name, load in loads.items()}
    waits = {name: load.waits / seconds for name, load in loads.items()}
    each = ", ".join(f"{name} {cpu_ms[name]:.0f}/{waits[name]:.0f}" for name in sorted(loads))
    return (f"{sum(cpu_ms.values()):.0f} ms CPU/s, {sum(waits.values()):.0f} waits/s"
            f" ({each})")  # fmt: skip


def process_cpu_s(pid: int | None) -> float:
    """CPU seconds so far of another process (0 when there is none, or it has gone)."""
    return 0.0 if pid is None else _stat_cpu_s(Path(f"/proc/{pid}/stat"))


def pipeline_pid(server: Server) -> int | None:
    """The server's pipeline process, if its pipeline runs in one."""
    return None if server.pipeline_process is None else server.pipeline_process.pid


def fork_stats(server: Server) -> ForkRunnerStats | None:
    """The counters of the recomputers' runner (None for runners that do not fork)."""
    runner = server.background
    return runner.stats() if isinstance(runner, ForkRunner) else None


def _forks(server: Server) -> int | None:
    """Children the recomputers' runner has forked (None for runners that do not fork)."""
    stats = fork_stats(server)
    return None if stats is None else stats.forks


def offer_at_rate(
    offer: Callable[[Sighting], object],
    feed: Iterator[Sighting],
    rate_per_s: float,
    stop: threading.Event,
    period_s: float = 0.01,
) -> None:
    """Offer sightings from `feed` at `rate_per_s`, every `period_s` what is due, until `stop`."""
    started, offered = time.perf_counter(), 0
    while not stop.is_set():
        due = int((time.perf_counter() - started) * rate_per_s)
        for item in itertools.islice(feed, max(0, due - offered)):
            offer(item)
            offered += 1
        time.sleep(period_s)


def feeder_sightings(transmissions: int) -> Iterator[Sighting]:
    """The sightings a feeder thread offers, built up front and kept from the collector.

    They are the harness's, not the server's, yet they live in the server's process: left
    to the collector, each of the server's full collections walked ~90,000 of them, 15-17
    ms with the GIL held, in the churn phases only (docs/benchmarks.md, session 35).
    """
    feed = list(sightings(transmissions, seed=7))
    gc.freeze()  # never scanned again; the list's objects are freed only with the process
    return iter(feed)


def start_server(
    settings: Settings,
    analytics: Sequence[Analytic],
    niceness: int | None = None,
    *,
    clock: Clock | None = None,
    replica: bool = False,
    cpu_share: float | None = None,
    busy_batch_latency_ms: int | None = None,
    feeds: Sequence[Feed] = (),
    pipeline_process: bool | None = None,
    reserve_serving_cpu: bool | None = None,
    asyncio_loop: bool = False,
) -> tuple[Server, int, Callable[[], None]]:
    """The real Server on a thread's event loop; returns it, its port and a stop function.

    Recomputers run in a child forked per compute, as shipped, unless `replica` puts them
    on the long-lived replica child (`analytics.computeIn: replica`); `cpu_share` replaces
    `analytics.computeCpuShare` (1: no pacing) and `busy_batch_latency_ms`
    `meshlens.ingest.busyBatchLatencyMs`, `pipeline_process` `meshlens.ingest.pipelineProcess`
    and `reserve_serving_cpu` `meshlens.reserveServingCpu`. The loop is uvloop's, as shipped
    (`asyncio_loop`: asyncio's own, the comparison).
    """
    if niceness is not None:  # read when the Server builds its compute children
        placement.COMPUTE_NICENESS = niceness
    if replica:
        analytics_settings = dataclasses.replace(settings.analytics, compute_in="replica")
        settings = dataclasses.replace(settings, analytics=analytics_settings)
    if cpu_share is not None:  # analytics.computeCpuShare; 1 turns pacing off
        analytics_settings = dataclasses.replace(settings.analytics, compute_cpu_share=cpu_share)
        settings = dataclasses.replace(settings, analytics=analytics_settings)
    ingest = settings.meshlens.ingest
    if busy_batch_latency_ms is not None:  # meshlens.ingest.busyBatchLatencyMs; 50: off
        ingest = dataclasses.replace(ingest, busy_batch_latency_ms=busy_batch_latency_ms)
    if pipeline_process is not None:
        ingest = dataclasses.replace(ingest, pipeline_process=pipeline_process)
    meshlens = dataclasses.replace(settings.meshlens, ingest=ingest)
    if reserve_serving_cpu is not None:
        meshlens = dataclasses.replace(meshlens, reserve_serving_cpu=reserve_serving_cpu)
    settings = dataclasses.replace(settings, meshlens=meshlens)
    server = Server(settings, analytics=analytics, clock=clock, feeds=feeds)
    sock = bind("127.0.0.1", 0)
    port = int(sock.getsockname()[1])
    holder: dict[str, Any] = {}
    ready = threading.Event()

    async def main() -> None:
        holder["loop"], holder["stop"] = asyncio.get_running_loop(), asyncio.Event()
        ready.set()
        await server.run(sock, stop=holder["stop"])

    run = asyncio.run if asyncio_loop else run_loop
    thread = threading.Thread(target=lambda: run(main()), name=SERVER_THREAD)
    thread.start()
    ready.wait()

    def stop() -> None:
        holder["loop"].call_soon_threadsafe(holder["stop"].set)
        thread.join()

    return server, port, stop


def mqtt_load(args: argparse.Namespace) -> MqttLoad | None:
    """The churn's publisher (None with --feeder-thread or --no-ingest)."""
    if args.feeder_thread or args.no_ingest:
        return None
    return load_for("mlbench", args.ingest_rate, args.seconds * args.pairs)


def feeds_of(mqtt: MqttLoad | None, *, child_process: bool | None = None) -> list[Feed]:
    """The server's feeds: the MQTT source the churn's publisher sends to, if any."""
    return [] if mqtt is None else [mqtt.feed(child_process=child_process)]


def wait_ready(server: Server) -> None:
    """Until the store has loaded, every analytic is ready and every MQTT source subscribed."""
    while not (server.status.loaded and server.recomputers.ready()):
        time.sleep(0.05)
    for feed in server.feeds:
        if isinstance(feed, MqttFeed) and not feed.wait_subscribed(timeout_s=30):
            raise RuntimeError(f"MQTT source {feed.name} did not subscribe")


@contextlib.contextmanager
def fed_server(
    db: Path,
    mqtt: MqttLoad,
    *,
    child_process: bool | None = None,
    pipeline_process: bool | None = None,
) -> Iterator[tuple[Server, int]]:
    """A ready server (and its port) on a copy of `db`, subscribed to `mqtt`'s publisher.

    Ingest's receipt and pipeline where `child_process` and `pipeline_process` say (None:
    as shipped). On exit the server stops and the publisher is closed.
    """
    try:
        with tempfile.TemporaryDirectory(prefix="meshlens-bench-") as tmp:
            copy = Path(tmp) / "serve.db"
            shutil.copy(db, copy)
            server, port, stop = start_server(
                Settings(db_path=copy), bench_registry(),
                feeds=feeds_of(mqtt, child_process=child_process),
                pipeline_process=pipeline_process,
            )  # fmt: skip
            try:
                wait_ready(server)
                yield server, port
            finally:
                stop()
    finally:
        mqtt.close()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = STAGING_DB if STAGING_DB.exists() else DEFAULT_CACHE
    parser.add_argument("--db", type=Path, default=default, help="database to serve (copied)")
    parser.add_argument("--seconds", type=int, default=8, help="length of each wrk phase")
    parser.add_argument("--pairs", type=int, default=4, help="idle/churn phase pairs")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--ingest-rate", type=float, default=500.0)
    parser.add_argument("--route", default="/api/analytics/rf")
    parser.add_argument("--no-ingest", action="store_true", help="churn without ingest")
    parser.add_argument("--no-recompute", action="store_true", help="churn without computes")
    parser.add_argument(
        "--feeder-thread",
        action="store_true",
        help="offer sightings from a thread of the server every 10 ms, not through Mosquitto",
    )
    parser.add_argument("--niceness", type=int, help="replace the compute children's niceness")
    parser.add_argument(
        "--ingest-niceness", type=int, help="replace what ingest's threads add to their niceness"
    )
    parser.add_argument(
        "--replica", action="store_true", help="recompute on the replica child (computeIn)"
    )
    parser.add_argument(
        "--switch-interval-ms", type=float, help="replace the server's sys.setswitchinterval"
    )
    parser.add_argument(
        "--cpu-share", type=float, help="replace analytics.computeCpuShare (1: no pacing)"
    )
    parser.add_argument(
        "--receipt-process",
        action="store_true",
        help="receive MQTT in a receipt process (meshlens.ingest.mqttChildProcess true)",
    )
    parser.add_argument(
        "--pipeline-not-idle",
        action="store_true",
        help="run the pipeline process at the ingest niceness alone, not SCHED_IDLE",
    )
    parser.add_argument(
        "--pipeline-process",
        action="store_true",
        help="run ingest's pipeline in its process (meshlens.ingest.pipelineProcess true)",
    )
    parser.add_argument(
        "--asyncio-loop",
        action="store_true",
        help="serve on asyncio's own event loop, not uvloop (api.server.run_loop)",
    )
    parser.add_argument(
        "--shared-cpus",
        action="store_true",
        help="let every thread run on any CPU (meshlens.reserveServingCpu false)",
    )
    parser.add_argument(
        "--no-gil-turns",
        action="store_true",
        help="background loops keep the GIL as long as they like (meshlens.gil.TURN_S infinite)",
    )
    parser.add_argument(
        "--gil-turn-ms",
        type=float,
        help="replace the length of background loops' turns at the GIL (meshlens.gil.TURN_S)",
    )
    parser.add_argument(
        "--stall",
        type=parse_stall,
        help="add a synthetic stall to each churn phase: MS@HZ holds the server's GIL MS ms"
        " HZ times a second; MS@HZ:process burns that CPU in a process of its own;"
        " MS@HZ:idle in a process at SCHED_IDLE on the background CPUs (bench/stalls.py)",
    )
    parser.add_argument(
        "--memory-every",
        type=float,
        metavar="S",
        help="sample the process's resident memory every S seconds through the phases",
    )
    parser.add_argument(
        "--busy-batch-latency-ms",
        type=int,
        help="replace meshlens.ingest.busyBatchLatencyMs (50, the batchLatencyMs: no change)",
    )
    return parser


def measure(
    server: Server, port: int, args: argparse.Namespace, mqtt: MqttLoad | None
) -> list[tuple[str, WrkResult]]:
    """The phases: fast path and Starlette idle, then idle/churn pairs interleaved."""
    wanted = int(args.ingest_rate * args.seconds * args.pairs * 1.2) // 30 + 10
    feed = feeder_sightings(wanted) if mqtt is None else iter(())
    url = f"http://127.0.0.1:{port}{args.route}"
    run = {"connections": args.connections, "threads": args.threads, "seconds": args.seconds}
    rows = [
        ("idle, fast path", run_wrk(url, **run)),
        ("idle, Starlette route (`?region=`)", run_wrk(url + "?region=", **run)),
    ]
    stall = StallLoad(args.stall) if args.stall is not None else None
    for pair in range(args.pairs):
        idle, idle_loop = loop_phase(url, run)
        rows.append((f"idle {pair + 1}", idle))
        churning = Churn(
            server, feed, args.ingest_rate,
            recompute=not args.no_recompute, ingest=not args.no_ingest, mqtt=mqtt, stall=stall,
        )  # fmt: skip
        with churning as churn:
            pid = pipeline_pid(server)
            loads_before, child_before = ingest_thread_loads(), process_cpu_s(pid)
            result, churn_loop = loop_phase(url, run)
            ingest = thread_loads_since(loads_before)
            child_ms = (process_cpu_s(pid) - child_before) * 1000 / args.seconds
            computes = churn.computes  # in the measured window
        label = (f"churn {pair + 1}: {computes} computes, {churn.offered} obs,"
                 f" {churn.stored} stored, ingest's threads"
                 f" {describe_loads(ingest, args.seconds)}"
                 + (f", pipeline process {child_ms:.0f}" if pid is not None else "")
                 + (f", {stall}" if stall else "")
                 + f"; {loop_change(idle_loop, churn_loop)}")  # fmt: skip
        rows.append((label, result))
    return rows


def pair_phases(
    rows: list[tuple[str, WrkResult]],
) -> tuple[dict[str, WrkResult], list[tuple[str, WrkResult]]]:
    """The pairs' idle phases by name ("idle 1"...) and their churn phases, in order."""
    idle = {name: r for name, r in rows if name.startswith("idle ") and name[5:].isdigit()}
    return idle, [(name, r) for name, r in rows if name.startswith("churn ")]


def pair_ratios(rows: list[tuple[str, WrkResult]]) -> list[float]:
    """p99 of each churn phase over that of the idle phase just before it, in order.

    Two idle phases in a row differ by up to ±25 % on this shared machine (the
    `bench.serve_duty` control), drifting with its load: a churn phase is judged against
    its neighbour, and the median of the pairs is the figure.
    """
    idle, churn = pair_phases(rows)
    return [r.p99_ms / idle["idle " + name.split()[1].rstrip(":")].p99_ms for name, r in churn]


@dataclass(frozen=True, slots=True)
class MedianInterval:
    """Where the median of the pairs' population lies, and how sure that is."""

    low: float
    high: float
    coverage: float  # the chance the interval holds the median, any distribution

    def __str__(self) -> str:
        return f"x{self.low:.2f}-{self.high:.2f} ({self.coverage:.0%})"


def median_interval(values: Sequence[float], confidence: float = 0.8) -> MedianInterval:
    """The sign test's interval for the median: the k-th lowest to the k-th highest value.

    Each pair lands above the true median or below it with even odds, so the interval
    misses it only when fewer than k of n land on one side: coverage 1 - 2 P(Bin(n, 1/2)
    < k). k is the largest whose coverage reaches `confidence` (at least 1: with few
    pairs, the range of them all, whatever its coverage). Three pairs say little (75 %);
    nine pairs bound the median with 82 % between the 3rd lowest and the 3rd highest.
    """
    ordered = sorted(values)
    n = len(ordered)
    if n == 0:
        raise ValueError("no values")

    def coverage(k: int) -> float:
        return 1 - 2 * sum(math.comb(n, i) for i in range(k)) / (1 << n)

    k = 1
    while 2 * (k + 1) <= n + 1 and coverage(k + 1) >= confidence:
        k += 1
    return MedianInterval(ordered[k - 1], ordered[n - k], coverage(k))


@dataclass(frozen=True, slots=True)
class PairSummary:
    """A run's pairs: the medians of their idle and churn phases, and each pair's ratio."""

    idle_requests_s: float
    idle_p99_ms: float
    churn_requests_s: float
    churn_p99_ms: float
    ratios: list[float]  # each churn phase's p99 over its idle phase's, in order
    churn_names: list[str]  # the churn phases' labels, in order (what each phase did)

    @property
    def ratio(self) -> float:
        """The median of the pairs' ratios: the figure the issue judges."""
        return statistics.median(self.ratios)

    @property
    def interval(self) -> MedianInterval:
        """Where the median of the pairs' ratios lies (sign test)."""
        return median_interval(self.ratios)


def summarise(rows: list[tuple[str, WrkResult]]) -> PairSummary:
    """The medians and ratios of a run's pairs (report and the suite's rows both say them)."""
    idle_by_name, churn = pair_phases(rows)
    idle = idle_by_name.values()
    return PairSummary(
        statistics.median(r.requests_s for r in idle),
        statistics.median(r.p99_ms for r in idle),
        statistics.median(r.requests_s for _, r in churn),
        statistics.median(r.p99_ms for _, r in churn),
        pair_ratios(rows),
        [name for name, _ in churn],
    )


def report(rows: list[tuple[str, WrkResult]]) -> None:
    """Markdown rows, then the medians and the ratio the issue asks for."""
    print("\n| phase | requests/s | p50 ms | p99 ms | non-2xx |")
    print("|---|---|---|---|---|")
    for name, r in rows:
        print(f"| {name} | {r.requests_s:,.0f} | {r.p50_ms:.2f} | {r.p99_ms:.2f} | {r.errors} |")
    s = summarise(rows)
    print(f"\nmedian idle: {s.idle_requests_s:,.0f} req/s, p99 {s.idle_p99_ms:.2f} ms;"
          f" median churn: {s.churn_requests_s:,.0f} req/s, p99 {s.churn_p99_ms:.2f} ms;"
          f" p99 churn/idle per pair {', '.join(f'x{v:.2f}' for v in s.ratios)}:"
          f" median x{s.ratio:.2f} in {s.interval}")  # fmt: skip


def rows(ctx: Context) -> list[Row]:
    """Idle and churn p99 of the default-shape read: 9 pairs of 20 s phases, their medians.

    Then the ratio again with ingest's receipt and pipeline in processes of their own
    (`mqttChildProcess`, `pipelineProcess`: opt-in; docs/benchmarks.md, "The pipeline
    process").
    """
    shipped = _serve_rows(ctx, processes=False)
    ratio = _serve_rows(ctx, processes=True)[-1]
    how = "receipt and pipeline in processes (mqttChildProcess, pipelineProcess)"
    return [
        *shipped,
        dataclasses.replace(ratio, figure=f"{ratio.figure}, {how}"),
    ]


def _serve_rows(ctx: Context, *, processes: bool) -> list[Row]:
    """One server's idle, churn and ratio rows."""
    # A churn phase starts with a round of computes (Churn): in 4 s phases that round
    # was a quarter of the phase. One pair's ratio moves ~±0.1 on the machine's noise
    # alone (an A/A run), so nine pairs: their median's interval is about ±0.05.
    seconds, pairs = ("3", "1") if ctx.quick else ("20", "9")
    args = _parser().parse_args(["--db", str(ctx.db_path), "--seconds", seconds, "--pairs", pairs])
    with tempfile.TemporaryDirectory(prefix="meshlens-bench-") as tmp:
        db = Path(tmp) / "serve.db"
        shutil.copy(args.db, db)
        mqtt = mqtt_load(args)
        server, port, stop = start_server(
            Settings(db_path=db), bench_registry(), args.niceness,
            feeds=feeds_of(mqtt, child_process=processes), pipeline_process=processes,
        )  # fmt: skip
        try:
            wait_ready(server)
            results = measure(server, port, args, mqtt)
        finally:
            stop()
            if mqtt is not None:
                mqtt.close()
    summary = summarise(results)
    computes = ", ".join(name.split(": ", 1)[1].split(",")[0] for name in summary.churn_names)
    ingest_cpu = ", ".join(_ingest_ms(name) for name in summary.churn_names)
    note = (f"wrk -c{args.connections} -t{args.threads}, medians of {pairs} idle/churn pairs of "
            f"{seconds} s phases; churn: every recomputer back to back (paced by "
            f"analytics.computeCpuShare, each phase starting with a round; ended per phase: "
            f"{computes}) and {args.ingest_rate:g} obs/s ingest published to the machine's "
            f"Mosquitto and received by the server's own MQTT source; ingest's threads (receipt,"
            f" worker, writer) used {ingest_cpu} ms of CPU a second")  # fmt: skip
    return [
        Row(
            "serving",
            f"`{args.route}` idle",
            f"{summary.idle_requests_s:,.0f} req/s, p99 {summary.idle_p99_ms:.2f} ms",
            note=note,
        ),
        Row(
            "serving",
            f"`{args.route}` under churn",
            f"{summary.churn_requests_s:,.0f} req/s, p99 {summary.churn_p99_ms:.2f} ms",
            note=note,
        ),
        Row(
            "serving",
            "p99 churn / idle, median of the pairs",
            f"x{summary.ratio:.2f}",
            "<= x1.25",
            note="each churn phase over the idle phase just before it: "
            + ", ".join(f"x{v:.2f}" for v in summary.ratios)
            + f"; the median lies in {summary.interval} (sign test)",
        ),
    ]


def main() -> None:
    """Serve a copy of the database and run the phases."""
    args = _parser().parse_args()
    with tempfile.TemporaryDirectory(prefix="meshlens-bench-") as tmp:
        db = Path(tmp) / "serve.db"
        shutil.copy(args.db, db)
        built = [a.name for a in ANALYTICS if a.compute is not None]
        print(f"database {args.db} (copied); built analytics: {built or 'none'}; others stand-ins")
        started = time.perf_counter()
        mqtt = mqtt_load(args)
        if args.ingest_niceness is not None:  # read when the Server builds its ingest
            placement.INGEST_NICENESS = args.ingest_niceness
        if args.pipeline_not_idle:
            placement.PIPELINE_SCHED_IDLE = False
        if args.no_gil_turns:  # read by each Turns as it starts: a turn that never ends
            gil.TURN_S = math.inf
        elif args.gil_turn_ms is not None:
            gil.TURN_S = args.gil_turn_ms / 1000
        print(f"GIL turns of {gil.TURN_S * 1000:g} ms, pauses of {gil.PAUSE_S * 1000:g} ms")
        print(f"ingest threads' niceness +{placement.INGEST_NICENESS}")
        server, port, stop = start_server(
            Settings(db_path=db),
            bench_registry(),
            args.niceness,
            replica=args.replica,
            cpu_share=args.cpu_share,
            busy_batch_latency_ms=args.busy_batch_latency_ms,
            feeds=feeds_of(mqtt, child_process=True if args.receipt_process else None),
            pipeline_process=True if args.pipeline_process else None,
            reserve_serving_cpu=False if args.shared_cpus else None,
            asyncio_loop=args.asyncio_loop,
        )
        print(f"CPUs: {server.cpus or 'shared by every thread'}")
        print("event loop:", "asyncio's" if args.asyncio_loop else "uvloop")
        try:
            wait_ready(server)
            if args.switch_interval_ms:  # replaces the one Server.run chose
                sys.setswitchinterval(args.switch_interval_ms / 1000)
            print(f"switch interval {sys.getswitchinterval() * 1000:g} ms")
            snap = server.store.snapshot()
            print(f"loaded {len(snap.tx):,} transmissions, {len(snap.obs):,} observations;"
                  f" ready after {time.perf_counter() - started:.1f} s")  # fmt: skip
            firsts = {s.name: round(s.last_duration_s or 0, 3) for s in server.recomputers.stats()}
            print("first-pass compute s (one child, in turn):", firsts)
            body = server.board.load(args.route.rsplit("/", 1)[-1])
            print(f"{args.route} body: {len(body.body) if body else 0:,} bytes")
            watch = MemoryWatch(args.memory_every) if args.memory_every else None
            with watch or contextlib.nullcontext():
                rows = measure(server, port, args, mqtt)
            if watch is not None:
                print("memory:", watch.summary())
            counts = server.worker.counters.snapshot()
            rejected = sum(counts.rejected.values())
            print(f"stored {counts.stored_observations:,} observations this run,"
                  f" {counts.duplicates:,} duplicates, {rejected:,} rejected")  # fmt: skip
        finally:
            stop()
            if mqtt is not None:
                mqtt.close()
    report(rows)
    print("load average at the end:", os.getloadavg())


if __name__ == "__main__":
    main()
