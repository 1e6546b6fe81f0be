"""Retention on a real SQLite file and a running ingest worker, with an injected clock.

Each test runs twice: with the pipeline on the worker's thread, and in its own process
(meshlens.ingest.pipelineProcess), which reads what is stored from the database and so
must be told which transmissions retention has dropped from the store.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from meshlens.db import retention as sql
from meshlens.db.database import Database
from meshlens.ingest.loader import load_store
from meshlens.ingest.outcome import Outcome
from meshlens.ingest.pipeline import Pipeline
from meshlens.ingest.pipeline_process import PipelineProcess, PipelineSpec
from meshlens.ingest.retention import DAY_MS, PruneReport, Retention, RetentionPolicy
from meshlens.ingest.worker import IngestWorker
from meshlens.records import FakeClock, Sighting
from meshlens.store.store import PacketStore
from meshlens.wire.channels import PUBLIC_KEY_HEX
from tests.ingest.helpers import T0, channel_frame, sighting

DAYS = 7
PER_DAY = 400
FILLER = "x" * 140  # long messages, so pruning frees a measurable share of pages


def _frame(day: int, i: int, path: bytes = b"\x01") -> bytes:
    key = bytes.fromhex(PUBLIC_KEY_HEX)
    return channel_frame(key, f"d{day} m{i} {FILLER}", path=path,
                         timestamp=T0 // 1000 + day * 86_400 + i)  # fmt: skip


def _week() -> list[Sighting]:
    """PER_DAY messages a day for DAYS days, each heard by two observers."""
    out = []
    for day in range(DAYS):
        for i in range(PER_DAY):
            at = T0 + day * DAY_MS + i * 1000
            out.append(sighting(_frame(day, i), f"OBS{i % 3}", at_ms=at))
            relayed = _frame(day, i, bytes([day, i % 7]))  # the same message, two hops on
            out.append(sighting(relayed, f"OBS{(i + 1) % 3}", at_ms=at + 400))
    return out


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database of one week of traffic, written once and copied by each test."""
    path = tmp_path_factory.mktemp("retention") / "week.db"
    with Database(path) as db:
        Pipeline(db, PacketStore()).process(_week())
    return path


@dataclass
class Live:
    """An opened copy of the template: database, loaded store, pipeline behind a worker."""

    path: Path
    db: Database
    store: PacketStore
    worker: IngestWorker
    process: PipelineProcess | None  # the pipeline's process, when it runs in one

    def retention(self, policy: RetentionPolicy, now_ms: int) -> Retention:
        return Retention(
            self.db, self.store, policy=policy, clock=FakeClock(now_ms),
            exclusive=lambda fn: self.worker.call(fn).result(), condemned=self.process,
        )  # fmt: skip

    def ingest(self, sightings: list[Sighting]) -> list[Outcome]:
        return [r.outcome for r in self.worker.submit(sightings).result()]

    def sql_ids(self, table: str) -> set[int]:
        return set(self.db.read(lambda c: [r[0] for r in c.execute(f"SELECT id FROM {table}")]))


@pytest.fixture(params=["thread", "process"])
def live(template: Path, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Live]:
    path = tmp_path / "m.db"
    shutil.copyfile(template, path)
    db = Database(path)
    store = PacketStore()
    load_store(db, store)
    process = PipelineProcess(PipelineSpec(path), store) if request.param == "process" else None
    worker = IngestWorker(process or Pipeline(db, store))
    worker.start()
    try:
        yield Live(path, db, store, worker, process)
    finally:
        worker.stop()
        if process is not None:
            process.stop()
        db.close()


def _check_store_matches_sqlite(live: Live) -> None:
    snap = live.store.snapshot()
    assert set(snap.tx.db_id.tolist()) == live.sql_ids("transmissions")
    assert set(snap.obs.db_id.tolist()) == live.sql_ids("observations")
    rows = live.db.read(
        lambda c: c.execute(
            "SELECT o.id, t.hash, o.path, o.ts_ms FROM observations o"
            " JOIN transmissions t ON t.id = o.transmission_id"
        ).fetchall()
    )
    obs_row = {int(i): r for r, i in enumerate(snap.obs.db_id.tolist())}
    for obs_id, content_hash, path, ts_ms in rows:
        r = obs_row[obs_id]
        tx = snap.tx_row(content_hash)
        assert tx is not None and int(snap.obs.tx[r]) == tx
        assert snap.path(r) == tuple(f"{b:02X}" for b in path)
        assert int(snap.obs.ts_ms[r]) == ts_ms
    counts = np.bincount(snap.obs.tx, minlength=len(snap.tx))
    np.testing.assert_array_equal(counts, snap.tx.obs_count)


def test_transmissions_past_the_cutoff_leave_sqlite_and_the_store(live: Live) -> None:
    before = live.store.snapshot()
    now = T0 + DAYS * DAY_MS
    report = live.retention(RetentionPolicy(packet_days=3), now).run_once()
    cutoff = now - 3 * DAY_MS  # the start of day 4: days 0-3 go, days 4-6 stay
    assert report.transmissions == 4 * PER_DAY and report.observations == 8 * PER_DAY
    snap = live.store.snapshot()
    assert len(snap.tx) == 3 * PER_DAY and len(snap.obs) == 6 * PER_DAY
    assert int(snap.tx.last_seen_ms.min()) >= cutoff
    oldest = live.db.read(lambda c: c.execute("SELECT MIN(ts_ms) FROM observations").fetchone())
    assert oldest[0] >= cutoff
    _check_store_matches_sqlite(live)
    # The analytics follow: a new generation (recomputers run again), a new epoch.
    assert snap.generation > before.generation and snap.epoch == before.epoch + 1
    # Nothing orphaned: every observation's transmission and observer still exist.
    orphans = live.db.read(
        lambda c: c.execute(
            "SELECT COUNT(*) FROM observations o LEFT JOIN transmissions t"
            " ON t.id = o.transmission_id WHERE t.id IS NULL"
        ).fetchone()[0]
    )
    assert orphans == 0
    # A second pass at the same time has nothing left to do.
    again = live.retention(RetentionPolicy(packet_days=3), now).run_once()
    assert again.transmissions == 0 and live.store.snapshot().generation == snap.generation


def test_ingest_after_a_prune_extends_the_compacted_store(live: Live) -> None:
    now = T0 + DAYS * DAY_MS
    live.retention(RetentionPolicy(packet_days=3), now).run_once()
    kept = _frame(5, 1)
    pruned = _frame(0, 1)
    outcomes = live.ingest([
        sighting(kept, "OBS9", at_ms=now), sighting(pruned, "OBS9", at_ms=now + 1),
    ])  # fmt: skip
    assert outcomes == [Outcome.STORED, Outcome.NEW]
    _check_store_matches_sqlite(live)
    snap = live.store.snapshot()
    assert len(snap.tx) == 3 * PER_DAY + 1
    assert int(snap.tx.db_id[-1]) == max(live.sql_ids("transmissions"))


def test_a_sighting_of_a_dropped_hash_before_its_row_is_deleted_starts_afresh(
    live: Live,
) -> None:
    """The window between the store swap and the SQLite delete (retention step 2)."""
    frame = _frame(0, 3)
    snap = live.store.snapshot()
    row = next(r for r in range(len(snap.tx)) if snap.raw_frame(r) == frame)
    old_id = int(snap.tx.db_id[row])
    keep = np.ones(len(snap.tx), np.bool_)
    keep[row] = False
    live.worker.call(lambda: live.store.prune(keep)).result()
    if live.process is not None:  # as retention tells it in its swap
        live.process.condemn([old_id])
    assert live.ingest([sighting(frame, "OBS1", at_ms=T0 + 9 * DAY_MS)]) == [Outcome.NEW]
    assert old_id not in live.sql_ids("transmissions")
    _check_store_matches_sqlite(live)


def test_pruning_most_of_the_data_shrinks_the_file(live: Live) -> None:
    size_before = live.path.stat().st_size
    report = live.retention(RetentionPolicy(packet_days=1), T0 + DAYS * DAY_MS).run_once()
    assert report.transmissions == 6 * PER_DAY
    assert report.file_bytes_after < report.file_bytes_before * 0.4
    # The main file itself shrank (the WAL was checkpointed and truncated).
    assert live.path.stat().st_size < size_before * 0.4
    wal = live.path.with_name(live.path.name + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0
    assert live.db.read(lambda c: c.execute("PRAGMA integrity_check").fetchone()[0]) == "ok"
    _check_store_matches_sqlite(live)


def test_a_size_limit_prunes_the_oldest_until_the_data_fits(live: Live) -> None:
    used_mb = live.db.read(sql.file_size).used_bytes / 2**20
    limit_mb = max(1, int(used_mb / 2))
    policy = RetentionPolicy(max_database_mb=limit_mb)
    reports: list[PruneReport] = []
    for _ in range(3):  # observations are a proxy for bytes: allow a pass or two more
        reports.append(live.retention(policy, T0 + DAYS * DAY_MS).run_once())
        if live.db.read(sql.file_size).used_bytes <= limit_mb * 2**20:
            break
    assert live.db.read(sql.file_size).used_bytes <= limit_mb * 2**20
    assert reports[0].transmissions > 0
    snap = live.store.snapshot()
    # Oldest first: whatever is left is the newest traffic, up to the last message.
    assert int(snap.tx.last_seen_ms.max()) == T0 + (DAYS - 1) * DAY_MS + (PER_DAY - 1) * 1000 + 400
    assert int(snap.tx.first_seen_ms.min()) > T0 + DAY_MS
    _check_store_matches_sqlite(live)


def test_silent_observers_turn_inactive_and_old_metrics_go(live: Live) -> None:
    now = T0 + DAYS * DAY_MS
    live.ingest([sighting(_frame(6, 200), "FRESH", at_ms=now - 13 * DAY_MS)])
    live.ingest([sighting(_frame(6, 201), "RECENT", at_ms=now - DAY_MS)])
    live.db.write(
        lambda c: c.executemany(
            "INSERT INTO observer_metrics (observer_id, ts_ms, battery_mv) VALUES (?, ?, ?)",
            [("RECENT", now - 40 * DAY_MS, 1), ("RECENT", now - DAY_MS, 2), ("OBS1", now, 3)],
        )
    )
    policy = RetentionPolicy(observer_days=6, metrics_days=30)
    report = live.retention(policy, now).run_once()
    # OBS0-2 were last heard on day 6, less than 6 days before `now`... except that day 6
    # is (DAYS - 1) days after T0: all three stay; FRESH (13 days ago) goes inactive.
    assert report.observers_inactivated == 1
    snap = live.store.snapshot()
    fresh = snap.observer("FRESH")
    assert fresh is not None and fresh.inactive
    assert not any(o.inactive for o in snap.observers if o.id != "FRESH")
    metrics = live.db.read(
        lambda c: c.execute("SELECT observer_id, battery_mv FROM observer_metrics").fetchall()
    )
    # The 40-day-old row is past metricsDays; OBS1's row stays (OBS1 is active).
    assert sorted(metrics) == [("OBS1", 3), ("RECENT", 2)]
    # A message from an inactive observer makes it active again.
    live.ingest([sighting(_frame(6, 202), "FRESH", at_ms=now)])
    again = live.store.snapshot().observer("FRESH")
    assert again is not None and not again.inactive
