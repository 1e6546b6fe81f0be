"""Prometheus metrics: request counts and latency, plus collectors read at scrape time.

Request metrics are counted on every request (fast path included) as plain numbers
under one lock and made into metric families when scraped. Everything else
(recomputers, ingest, store, runner, filtered caches) is read when /metrics is scraped,
from the objects that already keep those counters.
"""

from __future__ import annotations

import bisect
import collections
import dataclasses
import itertools
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any, cast

from prometheus_client import CollectorRegistry, ProcessCollector
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.samples import Sample
from prometheus_client.utils import floatToGoString

from meshlens.analytics.stats import round1
from meshlens.api.analytics import AnalyticsService
from meshlens.api.ingest_status import MqttCollector
from meshlens.ingest.mqtt import MqttFeed
from meshlens.ingest.pipeline_process import PipelineProcess
from meshlens.ingest.worker import IngestWorker
from meshlens.recomputer import (
    ForkRunner,
    ForkRunnerStats,
    RecomputerSet,
    ReplicaRunner,
    ReplicaRunnerStats,
    Runner,
)
from meshlens.records import Clock, JSONObject
from meshlens.store.snapshot import OBS_DTYPES, TX_DTYPES
from meshlens.store.store import PacketStore
from meshlens.times import iso_seconds

LATENCY_BUCKETS_S = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
# Each bucket's `le` label as prometheus_client writes it (its helper is untyped).
_go_float = cast(Callable[[float], str], floatToGoString)
_LE_LABELS = [_go_float(bound) for bound in LATENCY_BUCKETS_S]
SLOW_MS = 100.0  # api-resources §3: a request slower than this joins the slow ring
SLOW_RING = 50


@dataclasses.dataclass(frozen=True, slots=True)
class SlowRequest:
    """One entry of the slow-request ring."""

    path: str
    ms: float
    at_ms: int
    status: int


@dataclasses.dataclass(slots=True)
class _Series:
    """One series' counts so far, and when it began (what `_created` reports)."""

    created: float
    count: int = 0
    sum_s: float = 0.0  # latency series only
    buckets: list[int] = dataclasses.field(default_factory=list)  # per bucket, then +Inf


class RequestStats:
    """Request counters for /metrics and /api/health; safe from any thread.

    A collector of its own rather than prometheus_client's Counter and Histogram: with
    them a request cost ~2.8 µs here (a lock per value, a Python loop over the buckets),
    plain numbers under one lock cost ~0.9 (`bench/request_stats.py`); the event loop
    spends 30-50 µs on a default-shape read. Scraped, it says exactly what the two said,
    `_created` series included (a test compares them).
    """

    def __init__(self, registry: CollectorRegistry, clock: Clock) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._requests: dict[tuple[str, str, int], _Series] = {}  # (route, method, status)
        self._latency: dict[str, _Series] = {}  # by route
        self._total = 0
        self._total_s = 0.0
        self._slow: collections.deque[SlowRequest] = collections.deque(maxlen=SLOW_RING)
        registry.register(self)

    def record(self, route: str, method: str, status: int, seconds: float, path: str) -> None:
        """Count one finished request."""
        key = (route, method, status)
        with self._lock:
            requests = self._requests.get(key)
            if requests is None:
                requests = self._requests[key] = _Series(self._clock.now_ms() / 1000)
            requests.count += 1
            latency = self._latency.get(route)
            if latency is None:
                latency = self._latency[route] = _Series(
                    self._clock.now_ms() / 1000, buckets=[0] * (len(LATENCY_BUCKETS_S) + 1)
                )
            latency.buckets[bisect.bisect_left(LATENCY_BUCKETS_S, seconds)] += 1  # x <= le
            latency.sum_s += seconds
            self._total += 1
            self._total_s += seconds
            if seconds * 1000.0 > SLOW_MS:
                self._slow.append(SlowRequest(path, seconds * 1000.0, self._clock.now_ms(), status))

    def collect(self) -> Iterable[Metric]:
        """meshlens_http_requests and meshlens_http_request_duration_seconds, as they are."""
        with self._lock:
            requests = [(key, dataclasses.replace(s)) for key, s in self._requests.items()]
            latency = [
                (route, dataclasses.replace(s, buckets=list(s.buckets)))
                for route, s in self._latency.items()
            ]
        counter = CounterMetricFamily(
            "meshlens_http_requests",
            "HTTP requests answered, by route template, method and status.",
            labels=["route", "method", "status"],
        )
        for (route, method, status), series in requests:
            counter.add_metric([route, method, str(status)], series.count, created=series.created)
        histogram = HistogramMetricFamily(
            "meshlens_http_request_duration_seconds",
            "Time from receiving a request to handing its last byte to the server.",
            labels=["route"],
        )
        bounds = [*_LE_LABELS, "+Inf"]
        for route, series in latency:
            cumulative = itertools.accumulate(series.buckets)
            histogram.add_metric([route], list(zip(bounds, cumulative, strict=True)), series.sum_s)
            # prometheus_client's own Histogram says when each series began; so does this.
            histogram.samples.append(
                Sample(f"{histogram.name}_created", {"route": route}, series.created)
            )
        return [counter, histogram]

    def summary(self) -> tuple[int, float, list[SlowRequest]]:
        """Total requests, their mean in ms, and the slow ring (oldest first)."""
        with self._lock:
            mean_ms = self._total_s * 1000.0 / self._total if self._total else 0.0
            return self._total, mean_ms, list(self._slow)


def slow_json(entry: SlowRequest) -> JSONObject:
    """A slow-ring entry as /api/health's `recentSlow` shows it."""
    return {
        "path": entry.path,
        "ms": round1(entry.ms),
        "time": iso_seconds(entry.at_ms),
        "status": entry.status,
    }


def _gauge(name: str, doc: str, labels: list[str] | None = None) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, labels=labels)


def _counter(name: str, doc: str, labels: list[str] | None = None) -> CounterMetricFamily:
    return CounterMetricFamily(name, doc, labels=labels)


MetricKind = Callable[[str, str], CounterMetricFamily | GaugeMetricFamily]


def unlabelled(kind: MetricKind, name: str, doc: str, value: float) -> Metric:
    """A metric family holding one series without labels (a total, a size, a level)."""
    family = kind(name, doc)
    family.add_metric([], value)
    return family


class RecomputerCollector:
    """meshlens_recompute_*: one series per analytic with a recomputer."""

    def __init__(self, recomputers: RecomputerSet) -> None:
        self._recomputers = recomputers

    def collect(self) -> Iterable[Metric]:
        """Read every member's stats."""
        lab = ["analytic"]
        runs = _counter("meshlens_recompute_runs", "Computes that returned.", lab)
        skipped = _counter("meshlens_recompute_skipped", "Ticks skipped: store unchanged.", lab)
        failures = _counter("meshlens_recompute_failures", "Computes that raised.", lab)
        overruns = _counter(
            "meshlens_recompute_overruns", "Computes longer than the interval.", lab
        )
        consecutive = _gauge("meshlens_recompute_consecutive_failures", "Failures in a row.", lab)
        duration = _gauge("meshlens_recompute_last_duration_seconds", "Last compute's time.", lab)
        age = _gauge("meshlens_recompute_snapshot_age_seconds", "Age of the served snapshot.", lab)
        interval = _gauge("meshlens_recompute_interval_seconds", "Recompute interval.", lab)
        stale = _gauge("meshlens_recompute_stale", "1 when past maximum staleness.", lab)
        ready = _gauge("meshlens_recompute_ready", "1 when the warm-up gate has lifted.", lab)
        generation = _gauge("meshlens_recompute_generation", "Store generation served.", lab)
        for s in self._recomputers.stats():
            name = [s.name]
            runs.add_metric(name, s.runs)
            skipped.add_metric(name, s.skipped)
            failures.add_metric(name, s.failures)
            overruns.add_metric(name, s.overruns)
            consecutive.add_metric(name, s.consecutive_failures)
            if s.last_duration_s is not None:
                duration.add_metric(name, s.last_duration_s)
            if s.snapshot_age_s is not None:
                age.add_metric(name, s.snapshot_age_s)
            interval.add_metric(name, s.interval_s)
            stale.add_metric(name, float(s.stale))
            ready.add_metric(name, float(self._recomputers.is_ready(s.name)))
            if s.generation is not None:
                generation.add_metric(name, s.generation)
        return [runs, skipped, failures, overruns, consecutive, duration, age, interval, stale,
                ready, generation]  # fmt: skip


class IngestCollector:
    """meshlens_ingest_*: the pipeline's total counters and the queue depth."""

    def __init__(self, worker: IngestWorker) -> None:
        self._worker = worker

    def collect(self) -> Iterable[Metric]:
        """Read the counters once."""
        c = self._worker.counters.snapshot()
        out = [
            unlabelled(_counter, f"meshlens_ingest_{name}", doc, value)
            for name, value, doc in (
                ("received", c.received, "Sightings taken in."),
                ("stored_observations", c.stored_observations, "Observations written."),
                ("new_transmissions", c.new_transmissions, "New transmissions written."),
                ("duplicates", c.duplicates, "Sightings already stored."),
                ("dropped", c.dropped, "Sightings lost to a full queue."),
            )
        ]
        rejected = _counter("meshlens_ingest_rejected", "Sightings refused, by reason.", ["reason"])
        for reason, count in sorted(c.rejected.items()):
            rejected.add_metric([reason], count)
        depth = _gauge("meshlens_ingest_queue_depth", "Sightings waiting to be written.")
        depth.add_metric([], self._worker.depth)
        out += [rejected, depth]
        pipeline = self._worker.pipeline
        if isinstance(pipeline, PipelineProcess):
            out.append(unlabelled(
                _counter, "meshlens_ingest_pipeline_process_restarts",
                "Pipeline processes started again after one died.", pipeline.restarts,
            ))  # fmt: skip
        if c.last_message_ms is not None:
            last = _gauge("meshlens_ingest_last_message_timestamp_seconds", "Last sighting.")
            last.add_metric([], c.last_message_ms / 1000.0)
            out.append(last)
        return out


def store_bytes(store: PacketStore) -> int:
    """Bytes held by the current snapshot's columns (an estimate of the store's size)."""
    snap = store.snapshot()
    total = snap.hops.nbytes + snap.raw.nbytes
    total += sum(getattr(snap.tx, name).nbytes for name in TX_DTYPES)
    total += sum(getattr(snap.obs, name).nbytes for name in OBS_DTYPES)
    return int(total)


class StoreCollector:
    """meshlens_store_*: sizes of the in-memory store and the load's progress."""

    def __init__(self, store: PacketStore) -> None:
        self._store = store

    def collect(self) -> Iterable[Metric]:
        """Read the current snapshot's sizes."""
        snap = self._store.snapshot()
        progress = self._store.progress
        return [
            unlabelled(_gauge, f"meshlens_store_{name}", doc, value)
            for name, value, doc in (
                ("transmissions", len(snap.tx), "Transmissions in memory."),
                ("observations", len(snap.obs), "Observations in memory."),
                ("nodes", len(snap.nodes), "Nodes known."),
                ("observers", len(snap.observers), "Observers known."),
                ("generation", snap.generation, "Appends so far."),
                ("bytes", store_bytes(self._store), "Bytes of the columns (estimate)."),
                ("loading", int(progress.loading), "1 while the start-up load runs."),
                ("load_fraction", progress.fraction, "Share of observations loaded."),
            )
        ]


class RunnerCollector:
    """meshlens_compute_*: the compute children's counters (fork runners and replica summed)."""

    def __init__(self, runners: Sequence[Runner], replica: ReplicaRunner | None = None) -> None:
        # One runner may serve both filtered shapes and recomputes: count it once.
        self._runners = list({id(runner): runner for runner in runners}.values())
        self._replica = replica

    def collect(self) -> Iterable[Metric]:
        """Read the runners' counters."""
        stats = [r.stats() for r in self._runners if isinstance(r, ForkRunner)]
        forked = _sum_fork_stats(stats) if stats else None
        replica = self._replica.stats() if self._replica is not None else None
        if forked is None and replica is None:
            return []
        f = forked or ForkRunnerStats(0, 0, 0, 0, 0, 0, 0.0)
        r = replica or ReplicaRunnerStats(0, 0, 0, 0, 0, 0)
        kinds: tuple[tuple[str, float, str, MetricKind], ...] = (
            ("forks", f.forks + r.forks, "Compute children forked.", _counter),
            ("jobs_returned", f.jobs_returned + r.jobs_returned, "Jobs that returned.", _counter),
            ("jobs_raised", f.jobs_raised + r.jobs_raised, "Jobs that raised.", _counter),
            ("children_lost", f.children_lost + r.children_lost,
             "Children that died with jobs unfinished.", _counter),
            ("active_children", f.active_children, "Per-round children running now.", _gauge),
            ("pending_jobs", f.pending + r.in_flight, "Jobs not finished yet.", _gauge),
            ("cpu_seconds", f.cpu_s, "CPU time of per-round children that have ended.",
             _counter),
            ("replica_deltas", r.deltas_sent, "Store changes sent to the replica child.",
             _counter),
        )  # fmt: skip
        return [
            unlabelled(kind, f"meshlens_compute_{name}", doc, value)
            for name, value, doc, kind in kinds
        ]


def _sum_fork_stats(stats: Sequence[ForkRunnerStats]) -> ForkRunnerStats:
    return ForkRunnerStats(
        *(sum(getattr(s, f.name) for s in stats) for f in dataclasses.fields(ForkRunnerStats))
    )


class FilteredCacheCollector:
    """meshlens_filtered_cache_*: the single-flight caches of filtered shapes."""

    def __init__(self, service: AnalyticsService) -> None:
        self._service = service

    def collect(self) -> Iterable[Metric]:
        """Read every cache's counters."""
        lab = ["cache"]
        fields = ("hits", "misses", "stale", "joins", "errors", "evictions")
        counters = {
            f: _counter(f"meshlens_filtered_cache_{f}", f"Lookups: {f}.", lab) for f in fields
        }
        entries = _gauge("meshlens_filtered_cache_entries", "Entries held.", lab)
        size = _gauge("meshlens_filtered_cache_bytes", "Bytes held.", lab)
        for name, stats in sorted(self._service.filtered_stats().items()):
            for f in fields:
                counters[f].add_metric([name], getattr(stats, f))
            entries.add_metric([name], stats.entries)
            size.add_metric([name], stats.bytes)
        return [*counters.values(), entries, size]


def build_registry(
    *,
    recomputers: RecomputerSet,
    worker: IngestWorker,
    store: PacketStore,
    runners: Sequence[Runner],
    service: AnalyticsService,
    feeds: Sequence[MqttFeed] = (),
    replica: ReplicaRunner | None = None,
    process: bool = True,
) -> CollectorRegistry:
    """A fresh registry with meshlens' collectors (and the process's, on Linux)."""
    registry = CollectorRegistry(auto_describe=False)
    collectors: list[Callable[[], Any]] = [
        lambda: RecomputerCollector(recomputers),
        lambda: IngestCollector(worker),
        lambda: StoreCollector(store),
        lambda: RunnerCollector(runners, replica),
        lambda: FilteredCacheCollector(service),
        lambda: MqttCollector(feeds),
    ]
    for make in collectors:
        registry.register(make())
    if process:
        ProcessCollector(registry=registry)
    return registry
