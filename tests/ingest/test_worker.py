"""The ingest worker: batches from a bounded queue, drains on stop, counts overflow."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from meshlens.db import schema
from meshlens.db.database import Database
from meshlens.ingest.outcome import Outcome
from meshlens.ingest.pipeline import Pipeline
from meshlens.ingest.worker import IngestWorker
from meshlens.store.store import PacketStore
from tests.ingest.helpers import advert_frame, sighting


def test_everything_offered_is_written_by_the_time_stop_returns(tmp_path: Path) -> None:
    with Database(tmp_path / "m.db") as db:
        store = PacketStore()
        worker = IngestWorker(Pipeline(db, store), batch_size=4)
        worker.start()
        worker.start()  # idempotent
        for seed in range(1, 11):
            assert worker.offer(sighting(advert_frame(seed)))
        worker.stop()
        worker.stop()  # twice is harmless
        assert len(store.snapshot().obs) == 10
        assert db.read(schema.count_rows).observations == 10


def test_a_full_queue_drops_and_counts(tmp_path: Path) -> None:
    with Database(tmp_path / "m.db") as db:
        worker = IngestWorker(Pipeline(db, PacketStore()), capacity=2)
        # Not started: nothing drains, so the third offer finds the queue full.
        assert worker.offer(sighting(advert_frame(1)))
        assert worker.offer(sighting(advert_frame(2)))
        assert not worker.offer(sighting(advert_frame(3)))
        assert worker.counters.snapshot().dropped == 1
        worker.start()
        worker.stop()
        assert worker.counters.snapshot().stored_observations == 2


def test_submit_returns_results_per_sighting(tmp_path: Path) -> None:
    with Database(tmp_path / "m.db") as db:
        worker = IngestWorker(Pipeline(db, PacketStore()))
        worker.start()
        future = worker.submit([sighting(advert_frame(5)), sighting(b"\x00")])
        results = future.result(timeout=10)
        worker.stop()
        assert [r.outcome for r in results] == [Outcome.NEW, Outcome.REJECTED]


class _CountingCondition(threading.Condition):
    """A condition that counts its notifications: each is a wake-up of the worker."""

    def __init__(self, lock: threading.Lock) -> None:
        super().__init__(lock)
        self.notified = 0

    def notify(self, n: int = 1) -> None:
        self.notified += 1
        super().notify(n)


def test_the_worker_is_woken_to_start_a_batch_and_to_end_it_not_for_each_sighting(
    tmp_path: Path,
) -> None:
    with Database(tmp_path / "m.db") as db:
        store = PacketStore()
        # A latency no test waits out: only a full batch can end the gathering.
        written = threading.Event()
        worker = IngestWorker(
            Pipeline(db, store),
            batch_size=5,
            batch_latency_s=600.0,
            on_batch=lambda results: written.set(),
        )
        arrived = worker._arrived = _CountingCondition(worker._lock)
        worker.start()
        assert worker.offer(sighting(advert_frame(1)))  # wakes the idle worker
        while worker.depth:  # it has taken the first sighting and gathers the rest
            time.sleep(0.001)
        for seed in range(2, 5):
            assert worker.offer(sighting(advert_frame(seed)))
        assert arrived.notified == 1 and not written.is_set()
        assert worker.offer(sighting(advert_frame(5)))  # fills the batch: wakes the worker
        assert written.wait(10)
        assert arrived.notified == 2
        assert len(store.snapshot().obs) == 5
        worker.stop()
