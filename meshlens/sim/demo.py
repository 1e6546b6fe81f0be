"""The live demo feed: a small simulated mesh whose observers keep publishing.

`start_demo(worker, clock, seed)` first hands the ingest worker a short history (so the
dashboard has data within seconds), then offers each new sighting when the injected
clock reaches its time. A background thread pumps once a second; tests call `pump()`
themselves with a FakeClock and never sleep.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final, Protocol

from meshlens.config import Settings
from meshlens.db.database import Database
from meshlens.ingest.pipeline import Pipeline
from meshlens.records import Clock, Sighting
from meshlens.sim import messages
from meshlens.sim.events import Observation
from meshlens.sim.profiles import DAY_MS, PROFILES
from meshlens.sim.simulation import (
    Simulation,
    SimulationSpec,
    channel_keys,
    region_keys,
    region_names,
)
from meshlens.sim.texts import HASHTAG_CHANNELS
from meshlens.store.store import PacketStore

log = logging.getLogger("meshlens.demo")

DEMO_DATABASE: Final = "demo.db"
HISTORY_MS: Final = 2 * 3_600_000  # how much simulated past the demo starts with
_HORIZON_MS: Final = 30 * DAY_MS  # the simulated window reaches this far ahead
_HISTORY_BATCH: Final = 2_000


class SightingSink(Protocol):
    """What the demo feeds: the server's IngestWorker (or a test double)."""

    def offer(self, sighting: Sighting) -> bool:
        """Queue one sighting without blocking; False when it was dropped."""
        ...

    def submit(self, sightings: Sequence[Sighting]) -> Any:
        """Queue sightings, waiting for room."""
        ...


class DemoFeed:
    """A simulated mesh running against a clock, feeding a sink."""

    def __init__(self, sink: SightingSink, clock: Clock, seed: int = 1) -> None:
        self._sink: SightingSink = sink
        self._clock = clock
        now = clock.now_ms()
        profile = dataclasses.replace(PROFILES["demo"], days=(HISTORY_MS + _HORIZON_MS) / DAY_MS)
        self.simulation = Simulation(SimulationSpec(profile, seed, end_ms=now + _HORIZON_MS))
        self.offered = 0
        self.dropped = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def attach(self, sink: SightingSink) -> None:
        """Feed `sink` from now on."""
        self._sink = sink

    def load_history(self) -> int:
        """Hand over everything up to now in batches (waits for room); returns the count."""
        batch: list[Sighting] = []
        count = 0
        with self._lock:
            for event in self.simulation.events(self._clock.now_ms()):
                if isinstance(event, Observation):
                    batch.append(messages.sighting(self.simulation.mesh, event))
                    if len(batch) >= _HISTORY_BATCH:
                        self._sink.submit(batch)
                        count += len(batch)
                        batch = []
            if batch:
                self._sink.submit(batch)
                count += len(batch)
        self.offered += count
        return count

    def pump(self) -> int:
        """Offer every sighting that is due by the clock; returns how many were offered."""
        count = 0
        with self._lock:
            for event in self.simulation.events(self._clock.now_ms() + 1):
                if isinstance(event, Observation):
                    if self._sink.offer(messages.sighting(self.simulation.mesh, event)):
                        count += 1
                    else:
                        self.dropped += 1
        self.offered += count
        return count

    def write_history(self, path: Path) -> int:
        """Write everything up to now straight into the database at `path` (before a
        server opens it), so its first analytics pass already shows the history."""
        db = Database(path)
        try:
            pipeline = Pipeline(db, PacketStore(), keys=channel_keys(),
                                regions=region_keys(self.simulation.spec.profile))  # fmt: skip
            sink = _PipelineSink(pipeline)
            real, self._sink = self._sink, sink
            try:
                count = self.load_history()
            finally:
                self._sink = real
        finally:
            db.close()
        return count

    def start(self, interval_s: float = 1.0, *, history: bool = True) -> None:
        """From a daemon thread: hand over the history (unless already written), then
        pump every `interval_s`."""
        self._thread = threading.Thread(
            target=self._run, args=(interval_s, history), name="demo-feed", daemon=True
        )
        self._thread.start()

    def _run(self, interval_s: float, history: bool) -> None:
        if history:
            try:
                count = self.load_history()
            except Exception:  # the feed must not die silently; the server keeps serving
                log.exception("demo feed history failed")
                return
            log.info("demo feed: %d sightings of simulated history, then live", count)
        while not self._stop.wait(interval_s):
            try:
                self.pump()
            except Exception:  # the feed must not die of one bad step; log and go on
                log.exception("demo feed step failed")

    def stop(self) -> None:
        """Stop pumping (safe twice, safe before start)."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=5)


class _PipelineSink:
    """Hands history straight to a pipeline (no server yet)."""

    def __init__(self, pipeline: Pipeline) -> None:
        self._pipeline = pipeline

    def offer(self, sighting: Sighting) -> bool:
        self._pipeline.process([sighting])
        return True

    def submit(self, sightings: Sequence[Sighting]) -> None:
        self._pipeline.process(sightings)


class _NoSink:
    def offer(self, sighting: Sighting) -> bool:
        return False

    def submit(self, sightings: Sequence[Sighting]) -> None:
        raise RuntimeError("the demo feed was not started")


class DemoSource:
    """The demo as one of `meshlens serve`'s feeds (meshlens.app.Feed).

    `prepare(db_path)` writes the simulated history into the fresh demo database before
    the server opens it; `start(worker)` then offers live sightings from the clock's now.
    """

    name = "demo"

    def __init__(self, clock: Clock, seed: int = 1) -> None:
        self.feed = DemoFeed(_NoSink(), clock, seed)
        self._prepared = False

    def prepare(self, db_path: Path) -> int:
        """Write the history into the database at `db_path`; returns the sighting count."""
        count = self.feed.write_history(db_path)
        self._prepared = True
        return count

    def start(self, worker: SightingSink) -> None:
        """Start offering sightings to `worker`."""
        self.feed.attach(worker)
        self.feed.start(history=not self._prepared)

    def stop(self) -> None:
        """Stop feeding (safe before start)."""
        self.feed.stop()


def start_demo(worker: SightingSink, clock: Clock, seed: int = 1) -> DemoFeed:
    """Start the live demo feed into `worker`; call `.stop()` on the result to end it."""
    feed = DemoFeed(worker, clock, seed)
    feed.start()
    return feed


def demo_settings(settings: Settings) -> Settings:
    """The settings `meshlens serve --demo` runs with: a fresh `<dataDir>/demo.db`, and the
    simulated hashtag channels and region scopes added, so the demo's traffic decrypts.

    The old demo database is removed: the demo's history starts at the current time, and
    a previous run's rows would overlap it.
    """
    db_path = settings.meshlens.data_dir / DEMO_DATABASE
    for old in db_path.parent.glob(db_path.name + "*"):
        old.unlink()
    channels = tuple(dict.fromkeys((*settings.hash_channels, *HASHTAG_CHANNELS)))
    regions = tuple(dict.fromkeys((*settings.hash_regions, *region_names(PROFILES["demo"]))))
    return dataclasses.replace(
        settings, db_path=db_path, hash_channels=channels, hash_regions=regions
    )
