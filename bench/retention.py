"""Retention at staging scale: the cost of pruning the oldest day, and who waits for it.

A copy of the dataset is opened as `serve` opens it (database, loaded store, pipeline
behind the ingest worker). While one retention pass prunes the oldest of seven days, a
feeder submits a new sighting through the worker every few milliseconds and a reader
takes snapshots and looks a transmission up, each timing every call; the same is timed
for as long again with no pass running. The pass itself reports its phases: the store
swap (the one time the worker is held), the SQLite deletes and the vacuum.

    flock /work/bench.lock env PYTHONPATH=. python -m bench.retention \\
        --db /work/bench-data/staging-seed1.db
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.dataset import STAGING_DB
from bench.suite import Context, Row

ORDER = 80
DAY_MS = 86_400_000
PROBE_EVERY_S = 0.005


@dataclass(frozen=True, slots=True)
class Figures:
    """What one measured pass gives."""

    transmissions: int
    observations: int
    total_s: float
    swap_s: float
    delete_s: float
    reclaim_s: float
    longest_write_s: float
    longest_write: str
    mb_before: float
    mb_after: float
    ingest_quiet: list[float]  # seconds per submitted sighting, no pass running
    ingest_busy: list[float]  # the same while the pass runs
    read_quiet: list[float]
    read_busy: list[float]


def _probe(action: Callable[[], object], stop: threading.Event, out: list[float]) -> None:
    while not stop.is_set():
        started = time.perf_counter()
        action()
        out.append(time.perf_counter() - started)
        stop.wait(PROBE_EVERY_S)


def _timed_while(
    work: Callable[[], None], probes: Sequence[Callable[[], object]]
) -> list[list[float]]:
    """Run `work` with the probes timing their calls meanwhile."""
    stop = threading.Event()
    samples: list[list[float]] = [[] for _ in probes]
    threads = [
        threading.Thread(target=_probe, args=(p, stop, out), daemon=True)
        for p, out in zip(probes, samples, strict=True)
    ]
    for t in threads:
        t.start()
    try:
        work()
    finally:
        stop.set()
        for t in threads:
            t.join()
    return samples


def measure(source: Path, days_kept: int = 6) -> Figures:
    """Prune all but the newest `days_kept` days of a copy of `source`."""
    from meshlens.db import retention as sql
    from meshlens.db.database import Database
    from meshlens.ingest.loader import load_store
    from meshlens.ingest.pipeline import Pipeline
    from meshlens.ingest.retention import Retention, RetentionPolicy
    from meshlens.ingest.worker import IngestWorker
    from meshlens.records import FakeClock, Sighting
    from meshlens.sim.simulation import channel_keys
    from meshlens.store.store import PacketStore
    from meshlens.wire.channels import PUBLIC_KEY_HEX
    from meshlens.wire.encode import encode_frame, group_text_payload

    with tempfile.TemporaryDirectory(dir=source.parent) as tmp:
        path = Path(tmp) / "retention.db"
        shutil.copyfile(source, path)
        db = Database(path)
        store = PacketStore()
        keys = channel_keys()
        load_store(db, store, keys=keys)
        worker = IngestWorker(Pipeline(db, store, keys=keys), batch_latency_s=0.001)
        worker.start()
        snap = store.snapshot()
        now_ms = int(snap.tx.last_seen_ms.max()) + 1
        key = bytes.fromhex(PUBLIC_KEY_HEX)
        counter = iter(range(10**9))

        def ingest_one() -> None:
            i = next(counter)
            payload = group_text_payload(key, timestamp=now_ms // 1000 + i, text=f"probe {i}")
            raw = encode_frame(route_type=1, payload_type=5, payload=payload, path=b"\x42")
            s = Sighting(raw, "BENCH", "bench", "SEA", 5.0, -90.0, None, "rx", now_ms, "bench")
            worker.submit([s]).result()

        probe_hash = snap.content_hash(len(snap.tx) - 1)

        def read_one() -> None:
            store.snapshot().tx_row(probe_hash)

        try:
            mb_before = db.read(sql.file_size).file_bytes / 2**20
            retention = Retention(
                db, store, policy=RetentionPolicy(packet_days=days_kept),
                clock=FakeClock(now_ms), exclusive=lambda fn: worker.call(fn).result(),
            )  # fmt: skip
            reports = []
            started = time.perf_counter()
            ingest_busy, read_busy = _timed_while(
                lambda: reports.append(retention.run_once()), (ingest_one, read_one)
            )
            total_s = time.perf_counter() - started
            quiet_s = min(total_s, 10.0)
            ingest_quiet, read_quiet = _timed_while(
                lambda: time.sleep(quiet_s), (ingest_one, read_one)
            )
            report = reports[0]
            mb_after = db.read(sql.file_size).file_bytes / 2**20
        finally:
            worker.stop()
            db.close()
    return Figures(
        report.transmissions, report.observations, total_s, report.store_swap_s,
        report.delete_s, report.reclaim_s, report.longest_write_s, report.longest_write,
        mb_before, mb_after,
        ingest_quiet, ingest_busy, read_quiet, read_busy,
    )  # fmt: skip


def _ms(samples: list[float], q: float) -> str:
    if not samples:
        return "n/a"
    if q >= 1.0:
        return f"{max(samples) * 1e3:.1f} ms"
    return f"{statistics.quantiles(samples, n=100)[int(q * 100) - 1] * 1e3:.1f} ms"


def report_rows(f: Figures) -> list[Row]:
    """The figures as suite rows."""
    area = "retention"
    pruned = f"{f.transmissions:,} transmissions, {f.observations:,} observations"
    return [
        Row(area, "prune the oldest of 7 days: whole pass", f"{f.total_s:.1f} s", note=pruned),
        Row(area, "  build compacted columns (retention thread)",
            f"{f.total_s - f.swap_s - f.delete_s - f.reclaim_s:.1f} s",
            note="the whole pass less the three steps below"),
        Row(area, "  store swap (ingest worker held)", f"{f.swap_s * 1e3:.0f} ms"),
        Row(area, "  SQLite deletes (batches of 500 transmissions)", f"{f.delete_s:.1f} s"),
        Row(area, "  incremental vacuum + WAL checkpoint", f"{f.reclaim_s:.1f} s"),
        Row(area, "longest single step on the db writer thread (ingest waits)",
            f"{f.longest_write_s * 1e3:.0f} ms", note=f"a {f.longest_write} step"),
        Row(area, "database file before -> after", f"{f.mb_before:.0f} -> {f.mb_after:.0f} MB"),
        Row(area, "ingest of one sighting, p50 / max, no pass running",
            f"{_ms(f.ingest_quiet, 0.5)} / {_ms(f.ingest_quiet, 1.0)}"),
        Row(area, "ingest of one sighting, p50 / p99 / max, during the pass",
            f"{_ms(f.ingest_busy, 0.5)} / {_ms(f.ingest_busy, 0.99)} / "
            f"{_ms(f.ingest_busy, 1.0)}"),
        Row(area, "snapshot + hash lookup, p99 / max, no pass running",
            f"{_ms(f.read_quiet, 0.99)} / {_ms(f.read_quiet, 1.0)}"),
        Row(area, "snapshot + hash lookup, p99 / max, during the pass",
            f"{_ms(f.read_busy, 0.99)} / {_ms(f.read_busy, 1.0)}"),
    ]  # fmt: skip


def rows(ctx: Context) -> list[Row]:
    """Suite rows (skipped in quick runs: it copies and loads the whole dataset)."""
    if ctx.quick:
        return []
    return report_rows(measure(ctx.db_path))


def main(argv: Sequence[str] | None = None) -> int:
    """Measure one pass and print the rows."""
    parser = argparse.ArgumentParser(prog="python -m bench.retention", description=__doc__)
    parser.add_argument("--db", type=Path, default=STAGING_DB)
    parser.add_argument("--days-kept", type=int, default=6)
    args = parser.parse_args(argv)
    for row in report_rows(measure(args.db, args.days_kept)):
        print(f"| {row.area} | {row.figure} | {row.value} | {row.note} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
