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
from typing import Any, Final, Protocol

from meshlens.config import Settings
from meshlens.records import Clock, Sighting
from meshlens.sim import messages
from meshlens.sim.events import Observation
from meshlens.sim.profiles import DAY_MS, PROFILES
from meshlens.sim.simulation import Simulation, SimulationSpec, region_names
from meshlens.sim.texts import HASHTAG_CHANNELS

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
        self._sink = sink
        self._clock = clock
        now = clock.now_ms()
        profile = dataclasses.replace(PROFILES["demo"], days=(HISTORY_MS + _HORIZON_MS) / DAY_MS)
        self.simulation = Simulation(SimulationSpec(profile, seed, end_ms=now + _HORIZON_MS))
        self.offered = 0
        self.dropped = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

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

    def start(self, interval_s: float = 1.0) -> None:
        """Load the history, then pump from a daemon thread every `interval_s`."""
        self.load_history()
        self._thread = threading.Thread(
            target=self._run, args=(interval_s,), name="demo-feed", daemon=True
        )
        self._thread.start()

    def _run(self, interval_s: float) -> None:
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
