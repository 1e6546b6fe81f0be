"""The demo feed hands over a history at once, then new sightings as the clock moves."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from meshlens.config import load_settings
from meshlens.records import FakeClock, Sighting
from meshlens.sim.demo import DemoFeed, demo_settings


class Sink:
    """Records what the feed offers, like IngestWorker would queue it."""

    def __init__(self) -> None:
        self.sightings: list[Sighting] = []
        self.submits = 0

    def offer(self, sighting: Sighting) -> bool:
        self.sightings.append(sighting)
        return True

    def submit(self, sightings: Sequence[Sighting]) -> None:
        self.submits += 1
        self.sightings.extend(sightings)


def test_demo_history_then_live_sightings_follow_the_clock() -> None:
    clock = FakeClock()
    sink = Sink()
    feed = DemoFeed(sink, clock, seed=1)
    history = feed.load_history()
    assert history > 100 and sink.submits >= 1
    assert max(s.received_at_ms for s in sink.sightings) <= clock.now_ms() + 60_000
    feed.pump()  # whatever is due at this very instant
    before = len(sink.sightings)
    clock.advance(600)
    offered = feed.pump()
    assert offered > 0 and len(sink.sightings) == before + offered
    fresh = sink.sightings[before:]
    assert all(s.received_at_ms > clock.now_ms() - 700_000 for s in fresh)
    assert {s.region for s in sink.sightings} == {"SJC", "OAK"}


def test_demo_stop_is_safe_before_start() -> None:
    feed = DemoFeed(Sink(), FakeClock(), seed=2)
    feed.stop()
    feed.stop()


def test_demo_settings_use_a_fresh_demo_database_and_the_simulated_keys(tmp_path: Path) -> None:
    settings, _ = load_settings(None, {}, {"meshlens.dataDir": str(tmp_path)})
    (tmp_path / "demo.db").write_bytes(b"old")
    demo = demo_settings(settings)
    assert demo.db_path == tmp_path / "demo.db" and not demo.db_path.exists()
    assert "#bot" in demo.hash_channels and "#sjc" in demo.hash_regions


def test_demo_source_writes_history_into_the_database_before_the_server_opens_it(
    tmp_path: Path,
) -> None:
    import sqlite3

    from meshlens.sim.demo import DemoSource

    clock = FakeClock()
    source = DemoSource(clock, seed=1)
    count = source.prepare(tmp_path / "demo.db")
    conn = sqlite3.connect(tmp_path / "demo.db")
    try:
        stored = conn.execute("SELECT COUNT(*) FROM observations").fetchone()[0]
    finally:
        conn.close()
    assert count > 100 and 0 < stored <= count
    sink = Sink()
    source.feed.attach(sink)
    clock.advance(300)
    assert source.feed.pump() > 0 and sink.sightings
    assert min(s.received_at_ms for s in sink.sightings) > clock.now_ms() - 400_000
    source.stop()
