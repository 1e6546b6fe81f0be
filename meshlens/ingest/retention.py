"""Retention: old transmissions leave the store and the database, and the disk space is freed.

A pass (every `retention.checkIntervalMinutes`) picks the transmissions whose latest
observation is older than `retention.packetDays`, plus, while the database holds more than
`retention.maxDatabaseMB`, the oldest others, and then:

1. drops them from the store: compacted columns are built from a snapshot on this
   thread, then swapped in on the store's one writer (the ingest worker) with the rows
   that arrived meanwhile, so no batch holding row numbers sees the columns change and
   ingest waits only for that catch-up; the swap is a new epoch and generation, so the
   recomputers recompute;
2. deletes them from SQLite in bounded transactions on the writer thread, interleaved
   with ingest's own (a sighting of a dropped hash meanwhile starts it afresh, see
   transaction._write_transmissions; a pipeline in a process of its own, which reads
   the database rather than the store, is told the dropped ids until they are gone);
3. returns the freed pages to the file system in bounded incremental-vacuum steps, then
   checkpoints the WAL so the file really shrinks.

A transmission goes whole, with every observation of it, once its latest sighting is past
the cutoff: the store never holds an observation without its transmission. Observers
silent for `observerDays` are marked inactive and their metrics deleted (protocol §11),
metrics older than `metricsDays` are deleted.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

import numpy as np
import numpy.typing as npt

from meshlens.cpus import move_thread
from meshlens.db import retention as sql
from meshlens.db.database import Database
from meshlens.records import Clock
from meshlens.store.batch import ObserverRow, StoreBatch
from meshlens.store.compaction import prepare
from meshlens.store.snapshot import Snapshot
from meshlens.store.store import PacketStore

log = logging.getLogger("meshlens.retention")

T = TypeVar("T")
Exclusive = Callable[[Callable[[], T]], T]

DAY_MS = 86_400_000
DELETE_BATCH = 500  # transmissions per delete transaction (~15k observations at staging)
VACUUM_PAGES = 512  # pages freed per vacuum step (2 MB of 4 KiB pages)
SIZE_HEADROOM = 0.9  # prune below the size limit, so the next pass need not prune again


class Condemned(Protocol):
    """Told which transmissions the store dropped, then when their rows are deleted."""

    def condemn(self, tx_ids: list[int]) -> None:
        """These left the store (called on the store's writer, in the swap)."""
        ...

    def release(self, tx_ids: list[int]) -> None:
        """These rows are deleted from the database."""
        ...


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    """What to keep; 0 (or -1 for observers) means keep forever."""

    packet_days: int = 0
    max_database_mb: int = 0
    observer_days: int = -1
    metrics_days: int = 0
    interval_s: float = 3600.0


@dataclass(frozen=True, slots=True)
class PruneReport:
    """What one pass did."""

    transmissions: int = 0
    observations: int = 0
    observers_inactivated: int = 0
    metrics_deleted: int = 0
    file_bytes_before: int = 0
    file_bytes_after: int = 0
    store_swap_s: float = 0.0  # how long the ingest worker was held for the store swap
    delete_s: float = 0.0  # SQLite deletes, in bounded transactions
    reclaim_s: float = 0.0  # incremental vacuum and WAL checkpoint
    longest_write_s: float = 0.0  # the longest single step on the writer thread
    longest_write: str = ""  # which step that was


@dataclass(frozen=True, slots=True)
class RetentionTotals:
    """Sums over every pass since start (for /metrics)."""

    passes: int = 0
    transmissions: int = 0
    observations: int = 0
    observers_inactivated: int = 0
    metrics_deleted: int = 0

    def add(self, r: PruneReport) -> RetentionTotals:
        """These totals plus one pass."""
        return RetentionTotals(
            self.passes + 1, self.transmissions + r.transmissions,
            self.observations + r.observations,
            self.observers_inactivated + r.observers_inactivated,
            self.metrics_deleted + r.metrics_deleted,
        )  # fmt: skip


def select_expired(
    snap: Snapshot, *, cutoff_ms: int | None, excess_fraction: float
) -> npt.NDArray[np.bool_]:
    """A mask of transmission rows to drop: past the cutoff, then oldest-first for size.

    `excess_fraction` is the share of the stored observations (a proxy for bytes) that
    must go for the database to fit its size limit.
    """
    n = len(snap.tx)
    drop = np.zeros(n, np.bool_)
    if cutoff_ms is not None:
        drop |= snap.tx.last_seen_ms < cutoff_ms
    if excess_fraction > 0 and n:
        weight = snap.tx.obs_count.astype(np.int64) + 1  # a transmission row costs too
        need = excess_fraction * float(weight.sum()) - float(weight[drop].sum())
        if need > 0:
            order = np.argsort(snap.tx.last_seen_ms, kind="stable")
            order = order[~drop[order]]
            reach = np.cumsum(weight[order])
            take = int(np.searchsorted(reach, need)) + 1
            drop[order[:take]] = True
    return drop


class Retention:
    """Prunes on a cadence in its own thread; `run_once` is one pass (tests call it)."""

    def __init__(
        self,
        db: Database,
        store: PacketStore,
        *,
        policy: RetentionPolicy,
        clock: Clock,
        exclusive: Exclusive[object],
        condemned: Condemned | None = None,
        delete_batch: int = DELETE_BATCH,
        vacuum_pages: int = VACUUM_PAGES,
        cpus: frozenset[int] | None = None,
    ) -> None:
        self._db = db
        self._store = store
        self._policy = policy
        self._clock = clock
        self._exclusive = exclusive
        self._condemned = condemned
        self._delete_batch = delete_batch
        self._vacuum_pages = vacuum_pages
        self._cpus = cpus  # the passes' thread's CPUs (meshlens/cpus.py; None: any)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_report: PruneReport | None = None
        self._longest_write_s, self._longest_write = 0.0, ""
        self.last_pass_ms: int | None = None
        self.totals = RetentionTotals()

    @property
    def enabled(self) -> bool:
        """True when the policy asks for anything to be pruned."""
        p = self._policy
        return bool(p.packet_days > 0 or p.max_database_mb > 0 or p.observer_days >= 0
                    or p.metrics_days > 0)  # fmt: skip

    def start(self) -> None:
        """Start the background passes (the first after one interval); idempotent."""
        if self._thread is not None or not self.enabled:
            return
        self._thread = threading.Thread(target=self._run, name="retention", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop after the current step; waits for the thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        move_thread(self._cpus)  # a pass streams the store's columns: never beside the loop
        # The first pass waits one interval too: a restart does not prune in the middle
        # of the start-up burst, and a server that lives less than an interval never does.
        while not self._stop.wait(self._policy.interval_s):
            try:
                self.run_once()
            except Exception:  # the thread must survive a failed pass; the next one retries
                log.exception("retention pass failed")

    def run_once(self) -> PruneReport:
        """One pass: prune what the policy says, free the space, report what was done."""
        now_ms = self._clock.now_ms()
        p = self._policy
        self._longest_write_s, self._longest_write = 0.0, ""
        before = self._db.read(sql.file_size)
        cutoff = now_ms - p.packet_days * DAY_MS if p.packet_days > 0 else None
        excess = 0.0
        if p.max_database_mb > 0:
            limit = p.max_database_mb * 1024 * 1024
            used = before.used_bytes
            if used > limit:
                excess = (used - SIZE_HEADROOM * limit) / used
        packets = self._prune_packets(cutoff, excess)
        inactivated, metrics = self._prune_observers(now_ms)
        started = time.perf_counter()
        if packets.transmissions or metrics or inactivated:
            self._reclaim()
        after = self._db.read(sql.file_size)
        report = dataclasses.replace(
            packets,
            observers_inactivated=inactivated,
            metrics_deleted=metrics,
            file_bytes_before=before.file_bytes,
            file_bytes_after=after.file_bytes,
            reclaim_s=time.perf_counter() - started,
            longest_write_s=self._longest_write_s,
            longest_write=self._longest_write,
        )
        if report.transmissions or inactivated or metrics:
            log.info(
                "retention: pruned %d transmissions (%d observations), %d observers"
                " inactive, %d metrics rows; file %.1f -> %.1f MB (store held %.0f ms)",
                report.transmissions, report.observations, inactivated, metrics,
                before.file_bytes / 1e6, after.file_bytes / 1e6, report.store_swap_s * 1e3,
            )  # fmt: skip
        self.last_report = report
        self.last_pass_ms = now_ms
        self.totals = self.totals.add(report)
        return report

    def _prune_packets(self, cutoff_ms: int | None, excess: float) -> PruneReport:
        if cutoff_ms is None and excess <= 0:
            return PruneReport()
        snap = self._store.snapshot()
        drop = select_expired(snap, cutoff_ms=cutoff_ms, excess_fraction=excess)
        if not drop.any():
            return PruneReport()
        # The O(store) rebuild runs here; the writer only adds what arrived meanwhile.
        prepared = prepare(snap, ~drop)
        del snap  # the old columns go as soon as readers let go of them

        ids = prepared.dropped_db_ids
        condemned = self._condemned

        def swap() -> float:
            started = time.perf_counter()
            self._store.apply_prune(prepared)
            if condemned is not None:
                condemned.condemn(ids.tolist())
            return time.perf_counter() - started

        held = self._exclusive(swap)
        assert isinstance(held, float)
        started = time.perf_counter()
        tx_total = obs_total = 0
        for start in range(0, ids.shape[0], self._delete_batch):
            chunk = ids[start : start + self._delete_batch].tolist()
            n_tx, n_obs = self._write(
                "delete", functools.partial(sql.delete_transmissions, ids=chunk)
            )
            tx_total += n_tx
            obs_total += n_obs
        if condemned is not None:
            condemned.release(ids.tolist())
        return PruneReport(
            tx_total, obs_total, store_swap_s=held,
            delete_s=time.perf_counter() - started,
        )  # fmt: skip

    def _prune_observers(self, now_ms: int) -> tuple[int, int]:
        p = self._policy
        metrics = 0
        if p.metrics_days > 0:
            cutoff = now_ms - p.metrics_days * DAY_MS
            metrics = self._write("metrics", lambda conn: sql.delete_metrics(conn, cutoff))
        if p.observer_days < 0:
            return 0, metrics
        silent_since = now_ms - p.observer_days * DAY_MS
        rows = self._write("observers", lambda conn: sql.inactivate_observers(conn, silent_since))
        if rows:
            batch = StoreBatch(observers=[ObserverRow(rowid, o) for rowid, o in rows])
            self._exclusive(lambda: self._store.append(batch))
        return len(rows), metrics

    def _reclaim(self) -> None:
        """Give freed pages back in bounded steps, then shrink the WAL and the file."""
        if self._db.read(sql.auto_vacuum_mode) != 2:
            log.warning(
                "retention: %s was not created with auto_vacuum=INCREMENTAL; freed pages are"
                " reused by new rows but the file does not shrink (VACUUM it offline)",
                self._db.path,
            )
            return
        step = functools.partial(sql.vacuum_step, pages=self._vacuum_pages)
        while not self._stop.is_set():
            if self._write("vacuum", step) == 0:
                break
        self._write("checkpoint", sql.checkpoint, transaction=False)

    def _write(
        self, step: str, fn: Callable[[sqlite3.Connection], T], *, transaction: bool = True
    ) -> T:
        """Run `fn` on the writer thread, timing how long it holds the writer (and ingest)."""

        def timed(conn: sqlite3.Connection) -> T:
            started = time.perf_counter()
            try:
                return fn(conn)
            finally:
                took = time.perf_counter() - started
                if took > self._longest_write_s:
                    self._longest_write_s, self._longest_write = took, step

        return self._db.write(timed) if transaction else self._db.maintain(timed)
