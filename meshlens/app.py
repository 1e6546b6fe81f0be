"""The composition root: builds meshlens' parts from Settings and wires them together."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import logging
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import wait as wait_futures

from meshlens import placement
from meshlens.analytics.registry import ANALYTICS, Analytic
from meshlens.api.analytics import AnalyticsService
from meshlens.api.asgi import build_app
from meshlens.api.context import ApiContext, ServerStatus
from meshlens.api.loop_busy import LoopBusy
from meshlens.api.loop_lag import LoopLag
from meshlens.api.metrics import RequestStats, build_registry, store_bytes
from meshlens.api.ops import EMPTY_HINT, rss_bytes
from meshlens.api.recompute import StoreReplica, add_recomputers
from meshlens.api.resources.context import Resources
from meshlens.api.resources.index import ObservationIndex
from meshlens.api.resources.pins import SnapshotPins
from meshlens.api.resources.render import DecodedCache
from meshlens.api.resources.service import ResourceService
from meshlens.api.resources.visibility import Visibility
from meshlens.api.retention_metrics import RetentionCollector
from meshlens.api.server import HttpServer, serve_until
from meshlens.config import Settings
from meshlens.cpus import CpuSplit, allowed_cpus, move_thread, move_threads, native_threads
from meshlens.db import packets
from meshlens.db.database import Database
from meshlens.gil import share_with_reads
from meshlens.ingest import retention
from meshlens.ingest.feeds import Feed
from meshlens.ingest.loader import load_store
from meshlens.ingest.mqtt import MqttFeed
from meshlens.ingest.pipeline import Pipeline
from meshlens.ingest.pipeline_process import PipelineProcess
from meshlens.ingest.worker import IngestWorker
from meshlens.recomputer import Pace, RecomputerSet, ReplicaRunner, Runner, SnapshotBoard
from meshlens.records import Clock, SystemClock
from meshlens.storage import (
    channel_keys,
    geofilter_check,
    pipeline_options,
    region_keys,
    retention_policy,
)
from meshlens.store.store import LoadProgress, PacketStore

log = logging.getLogger("meshlens")

# --- meshlens serve ---------------------------------------------------------------------


class _LoadCancelledError(Exception):
    """Raised from the load's progress callback when the server stops mid-load."""


class Server:
    """`meshlens serve`: storage, ingest, recomputers and the HTTP API on one event loop.

    The listener binds at once; the store loads from the database in a background thread
    (progress in /api/health); when loading ends the ingest worker starts draining what
    queued meanwhile and every recomputer runs its first pass over the complete store,
    which lifts the warm-up gate (decision 12). `run()` returns after a graceful stop.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        analytics: Sequence[Analytic] = ANALYTICS,
        feeds: Sequence[Feed] = (),
        demo: bool = False,
        clock: Clock | None = None,
        interval_override_s: float | None = None,
        runner: Runner | None = None,
        load: Callable[..., LoadProgress] = load_store,
    ) -> None:
        self.settings = settings
        self._load_store = load  # tests hold the load to watch the warm-up gate
        self.clock: Clock = clock or SystemClock()
        self.feeds = tuple(feeds)
        # One CPU for the busy event loop, the others for computes and ingest (cpus.py).
        reserve = settings.meshlens.reserve_serving_cpu
        self.cpus = CpuSplit.of(allowed_cpus()) if reserve else None
        # While a compute child lives, granian's threads keep to the serving CPU (cpus.py);
        # they are the threads Python did not start since just before granian's (run()).
        self._native_before_http: frozenset[int] | None = None  # None: not serving yet
        self._children_alive = 0
        self._children_lock = threading.Lock()
        self.db = Database(
            settings.db_path,
            writer_niceness=placement.INGEST_NICENESS,
            writer_cpus=self._background_cpus,
        )
        try:
            self._build(analytics, demo, interval_override_s, runner)
        except BaseException:  # nothing may keep the database (and its lock) open
            self.db.close()
            raise
        self._lock = threading.Lock()
        self._stopping = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loader = threading.Thread(target=self._load, name="store-load", daemon=True)
        self._load_ended = threading.Event()

    def _build(
        self,
        analytics: Sequence[Analytic],
        demo: bool,
        interval_override_s: float | None,
        runner: Runner | None,
    ) -> None:
        """Everything but the database, from the settings."""
        settings = self.settings
        self.store = PacketStore()
        self.keys = channel_keys(settings)
        self.regions = region_keys(settings)
        # The pipeline in a child process of its own (`ingest.pipelineProcess`), or here.
        self.pipeline_process: PipelineProcess | None = None
        pipeline: Pipeline | PipelineProcess
        if settings.meshlens.ingest.pipeline_process:
            spec = placement.pipeline_spec(settings, self.keys, self.regions)
            pipeline = self.pipeline_process = PipelineProcess(spec, self.store)
        else:
            pipeline = Pipeline(
                self.db, self.store, keys=self.keys, regions=self.regions,
                options=pipeline_options(settings),
            )  # fmt: skip
        self.worker = IngestWorker(
            pipeline,
            capacity=settings.ingest_buffer_size,
            batch_size=settings.meshlens.ingest.batch_size,
            batch_latency_s=settings.meshlens.ingest.batch_latency_ms / 1000.0,
            niceness=placement.INGEST_NICENESS,
            cpus=self._background_cpus,
        )
        worker = self.worker
        # While reads keep the event loop busy, ingest batches for longer and recomputes
        # are paced (loop_busy.py, recomputer/pacing.py).
        self.loop_busy = LoopBusy(self._loop_busy_changed)
        self._busy_lock = threading.Lock()
        self._busy = False  # what the loop last reported
        self._warm = False  # the first pass is done: pacing may apply
        self.retention = retention.Retention(
            self.db, self.store, policy=retention_policy(settings), clock=self.clock,
            exclusive=lambda fn: worker.call(fn).result(), condemned=self.pipeline_process,
            cpus=self._background_cpus,
        )  # fmt: skip
        # Recomputes are paced (analytics.computeCpuShare) while reads are busy, once the
        # first pass is done; filtered shapes, which a client waits for, run on a runner of
        # their own, never paced.
        self.pace = Pace()
        # With computeIn=replica the recomputers run on the replica child (no fork per
        # round, docs/architecture.md); the runner takes filtered shapes, or everything
        # when a caller supplies one.
        self.replica: ReplicaRunner | None = None
        if runner is None and settings.analytics.compute_in == "replica":
            self.replica = StoreReplica(
                self.store,
                analytics,
                placement.COMPUTE_NICENESS,
                self.pace,
                cpus=self._background_cpus,
            ).runner
        self.runner = runner or placement.make_runner(
            settings, cpus=self._background_cpus, on_child=self._compute_child
        )
        # The recomputers' own runner (paced), unless they run on the replica child.
        self.background = (
            self.runner
            if runner is not None or self.replica is not None
            else placement.make_runner(
                settings, self.pace, "recompute", self._background_cpus, self._compute_child
            )
        )
        self.board = SnapshotBoard()
        self.recomputers = RecomputerSet(clock=self.clock, publish=self.board.publish)
        add_recomputers(
            self.recomputers, analytics, store=self.store, runner=self.background,
            clock=self.clock, settings=settings, interval_override_s=interval_override_s,
            replica=self.replica,
        )  # fmt: skip
        self.service = AnalyticsService(
            analytics, board=self.board, recomputers=self.recomputers, store=self.store,
            runner=self.runner, clock=self.clock, settings=settings,
        )  # fmt: skip
        mqtt = tuple(feed for feed in self.feeds if isinstance(feed, MqttFeed))
        registry = build_registry(
            recomputers=self.recomputers, worker=self.worker, store=self.store,
            runners=(self.runner, self.background), service=self.service, feeds=mqtt,
            replica=self.replica,
        )  # fmt: skip
        registry.register(RetentionCollector(self.retention))
        self.status = ServerStatus(self.clock.now_ms(), self.clock.monotonic_s(), demo=demo)
        self.context = ApiContext(
            settings=settings, service=self.service, recomputers=self.recomputers,
            store=self.store, worker=self.worker, runner=self.runner, clock=self.clock,
            keys=self.keys, regions=self.regions, requests=RequestStats(registry, self.clock),
            loop_lag=LoopLag(), registry=registry, status=self.status,
            resources=self._resources(), feeds=mqtt,
        )  # fmt: skip
        self.app = build_app(self.context)

    def _resources(self) -> ResourceService:
        """The resource endpoints over this server's store, keys and filters."""
        settings, db = self.settings, self.db
        resources = Resources(
            settings=settings, store=self.store, clock=self.clock,
            visibility=Visibility.of(settings, geofilter_check(settings.geo_filter)),
            decoded=DecodedCache(self.keys, self.regions,
                                 validate_signatures=settings.validate_signatures),
            pins=SnapshotPins(self.store, self.clock), index=ObservationIndex(),
            observation_score=lambda obs_id: db.read(
                lambda conn: packets.observation_score(conn, obs_id)),
            dropped_count=lambda: db.read(packets.count_dropped),
            started_ms=self.clock.now_ms(),
        )  # fmt: skip
        return ResourceService(
            resources, store_bytes=functools.partial(store_bytes, self.store), rss_bytes=rss_bytes
        )

    @property
    def _background_cpus(self) -> frozenset[int] | None:
        """Where computes and ingest's threads run (None: anywhere)."""
        return None if self.cpus is None else self.cpus.background

    def _loop_busy_changed(self, busy: bool) -> None:
        """LoopBusy's report, on the loop's thread: it takes the serving CPU while busy."""
        if self.cpus is not None:
            move_thread(self.cpus.serving if busy else self.cpus.allowed)
        self.reads_busy(busy)

    def _compute_child(self, alive: bool) -> None:
        """A runner forks a compute child (True) or has reaped one (False).

        While any lives, granian's threads keep to the serving CPU: on the child's CPU each
        of their wake-ups would have to interrupt it (cpus.py, docs/architecture.md).
        """
        if self.cpus is None:
            return
        with self._children_lock:  # moves in the order the counts change
            self._children_alive += 1 if alive else -1
            if self._children_alive == (1 if alive else 0):
                move_threads(self.http_threads(), self.cpus.serving if alive else self.cpus.allowed)

    def http_threads(self) -> frozenset[int]:
        """granian's threads: those Python did not start, from just before granian's (none
        before `run` has started them)."""
        before = self._native_before_http
        return frozenset() if before is None else native_threads() - before

    def reads_busy(self, busy: bool) -> None:
        """Reads started (or stopped) keeping the event loop busy: ingest and computes step back.

        Called by LoopBusy on each change, and once when the first pass is done.
        """
        ingest = self.settings.meshlens.ingest
        latency_ms = ingest.busy_batch_latency_ms if busy else ingest.batch_latency_ms
        with self._busy_lock:
            self._busy = busy
            self.worker.set_batch_latency(latency_ms / 1000.0)
            for feed in self.feeds:
                if isinstance(feed, MqttFeed):
                    feed.set_gather(placement.BUSY_GATHER_S if busy else 0.0)
            share_with_reads(busy)
            paced = busy and self._warm
            self.pace.share = self.settings.analytics.compute_cpu_share if paced else 1.0

    # --- running ---------------------------------------------------------------------

    async def run(
        self,
        sock: socket.socket,
        *,
        stop: asyncio.Event | None = None,
        on_listening: Callable[[int], None] | None = None,
    ) -> None:
        """Serve on `sock` until SIGTERM/SIGINT (or `stop` is set), then shut down."""
        self._loop = asyncio.get_running_loop()
        stop = stop or asyncio.Event()
        handled = _handle_signals(self._loop, stop)
        self._native_before_http = native_threads()
        server = HttpServer(self.app, sock)
        lag = asyncio.create_task(self.context.loop_lag.run(), name="loop-lag")
        busy = asyncio.create_task(self.loop_busy.run(), name="loop-busy")
        switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(min(switch_interval, placement.SWITCH_INTERVAL_S))
        try:
            log.info("meshlens listening on http://%s:%d", server.host, server.port)
            if on_listening is not None:
                on_listening(server.port)
            for feed in self.feeds:
                feed.start(self.worker)
            self._loader.start()
            await serve_until(server, stop)
        finally:
            sys.setswitchinterval(switch_interval)
            lag.cancel()
            busy.cancel()
            for sig in handled:
                self._loop.remove_signal_handler(sig)
            await asyncio.to_thread(self.shutdown)

    def shutdown(self) -> None:
        """Stop feeds, load, recomputers and runner; write what is queued; close the DB."""
        with self._lock:
            if self._stopping:
                return
            self._stopping = True
        log.info("meshlens stopping (%d sightings queued)", self.worker.depth)
        share_with_reads(False)  # what is queued is written at full speed
        for feed in self.feeds:
            feed.stop()
        if self._loader.ident is not None:
            self._load_ended.wait()
        # A compute in flight gets a moment to finish before its child is killed.
        self.recomputers.stop(timeout_s=1.0)
        self.runner.stop()
        self.background.stop()
        if self.replica is not None:
            self.replica.stop()
        self.recomputers.stop()
        self.retention.stop()  # before the worker: a pass may be waiting on it
        self.worker.stop()  # writes everything already queued
        if self.pipeline_process is not None:
            self.pipeline_process.stop()
        stored = self.worker.counters.snapshot().stored_observations
        self.db.close()
        log.info("meshlens stopped (%d observations stored this run)", stored)

    # --- the start-up load (its own thread) --------------------------------------------

    def _load(self) -> None:
        started = time.monotonic()
        try:
            loaded = self._load_and_start()
        finally:
            self._load_ended.set()
        if loaded:
            self._log_ready(started)

    def _load_and_start(self) -> bool:
        """Fill the store, then start ingest and the recomputers; False if it did not load."""
        started = time.monotonic()
        try:
            done = self._load_store(
                self.db, self.store, keys=self.keys, regions=self.regions,
                on_progress=_ProgressLog(self._check_cancelled),
            )  # fmt: skip
        except _LoadCancelledError:
            log.info("start-up load cancelled: the server is stopping")
            return False
        except Exception as err:  # the server keeps answering health with the error
            log.exception("start-up load failed; analytics stay unavailable")
            self.status.load_error = f"{type(err).__name__}: {err}"
            return False
        log.info(
            "loaded %d transmissions and %d observations in %.1f s",
            done.transmissions_loaded, done.observations_loaded, time.monotonic() - started,
        )  # fmt: skip
        # What the load left is long-lived: keep it out of every later collection, which
        # otherwise walks it all (a 190 ms pause under load; docs/benchmarks.md, "Serving").
        gc.collect()
        gc.freeze()
        with self._lock:
            self.status.loaded = True
            self.worker.start()  # even when stopping: what queued during the load is written
            if self._stopping:
                return False
            self.recomputers.mark_loaded()
            self.recomputers.start(wait=False)
            self.retention.start()
        if self._loop is not None:
            # Filtered results cached during the load saw a partial store.
            with contextlib.suppress(RuntimeError):  # the loop has closed: nothing to reset
                self._loop.call_soon_threadsafe(self.service.reset_filtered)
        if done.transmissions_loaded == 0 and not self.status.demo:
            log.warning("%s", EMPTY_HINT)
        return True

    def _check_cancelled(self) -> None:
        # A load is abandoned on stop unless sightings wait for it: they need the full store.
        if self._stopping and self.worker.depth == 0:
            raise _LoadCancelledError

    def _log_ready(self, started: float) -> None:
        firsts = [member.start(wait=False) for member in self.recomputers]
        wait_futures(firsts)
        # From here on recomputes are paced while reads are busy (the first pass was not).
        with self._busy_lock:
            self._warm = True
        self.reads_busy(self._busy)
        if firsts and not self._stopping:
            log.info(
                "analytics ready: %d recomputers, first pass %.1f s after start",
                len(firsts), time.monotonic() - started,
            )  # fmt: skip


class _ProgressLog:
    """The load's progress callback: logs every tenth, and lets a stop cancel the load."""

    def __init__(self, check: Callable[[], None]) -> None:
        self._check = check
        self._logged = -1

    def __call__(self, progress: LoadProgress) -> None:
        self._check()
        tenth = int(progress.fraction * 10)
        if progress.loading and tenth > self._logged:
            self._logged = tenth
            log.info(
                "loading: %d%% (%d of %d observations)",
                tenth * 10, progress.observations_loaded, progress.observations_total,
            )  # fmt: skip


def _handle_signals(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> list[signal.Signals]:
    """SIGTERM and SIGINT set `stop` (main thread only; elsewhere, e.g. tests, none)."""
    if threading.current_thread() is not threading.main_thread():
        return []
    handled: list[signal.Signals] = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
        handled.append(sig)
    return handled
