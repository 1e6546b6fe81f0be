"""Import rate: the pipeline storing observations, with and without decoding; a live batch.

Sightings come from a slice of the same simulated mesh as the dataset (generated before
timing starts). "Excluding decode" (issue 2's target) feeds first one sighting of every
transmission, untimed, so the timed pass sees only known transmissions: framing and
content hash (`peek_frame`), the observation rows, one transaction per batch and the
store append. The full rate includes decoding and verifying every new transmission.

A live batch is what a server pays per second at 500 observations/s while reads keep it
busy: one batch of 500 new sightings into a copy of the staging database and its loaded
store, process CPU (every thread) per batch. `python -m bench.ingest --v1-indexes`
measures it with the two observation indexes schema version 2 dropped put back.
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from bench.dataset import STAGING_DB
from bench.suite import Context, Row
from meshlens.records import Sighting

ORDER = 50
BATCH = 20_000
LIVE_BATCH = 500


def _sightings(profile: str, seed: int, days: float) -> list[Sighting]:
    from meshlens.sim import messages
    from meshlens.sim.events import Observation
    from meshlens.sim.profiles import profile_named
    from meshlens.sim.simulation import Simulation, SimulationSpec

    spec = SimulationSpec(dataclasses.replace(profile_named(profile), days=days), seed)
    sim = Simulation(spec)
    return [messages.sighting(sim.mesh, e) for e in sim.events() if isinstance(e, Observation)]


def measure(sightings: list[Sighting], warm_first: bool) -> tuple[float, int, float]:
    """Observations per second through a fresh pipeline, how many were timed, and the
    process's CPU time (every thread) per observation in µs."""
    from meshlens.db.database import Database
    from meshlens.ingest.pipeline import Pipeline
    from meshlens.sim.simulation import channel_keys
    from meshlens.store.store import PacketStore
    from meshlens.wire import peek_frame

    with tempfile.TemporaryDirectory() as tmp:
        db = Database(Path(tmp) / "ingest.db")
        try:
            pipeline = Pipeline(db, PacketStore(), keys=channel_keys())
            timed = sightings
            if warm_first:
                firsts: dict[str, Sighting] = {}
                rest: list[Sighting] = []
                for s in sightings:
                    h = peek_frame(s.raw).content_hash
                    if h in firsts:
                        rest.append(s)
                    else:
                        firsts[h] = s
                for i in range(0, len(firsts), BATCH):
                    pipeline.process(list(firsts.values())[i : i + BATCH])
                timed = rest
            started, cpu = time.perf_counter(), time.process_time()
            for i in range(0, len(timed), BATCH):
                pipeline.process(timed[i : i + BATCH])
            elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        finally:
            db.close()
    return len(timed) / elapsed, len(timed), cpu * 1e6 / len(timed)


def live_batch_cpu_ms(db: Path, batches: int, *, v1_indexes: bool = False) -> float:
    """Median process CPU of one live batch into a copy of `db` (module docstring)."""
    from bench.encoder_data import sightings
    from meshlens.config import Settings
    from meshlens.storage import open_storage

    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "live.db"
        shutil.copy(db, copy)
        storage = open_storage(Settings(db_path=copy))
        try:
            if v1_indexes:  # put back what schema version 2 dropped, as it was before

                def recreate(conn: sqlite3.Connection) -> None:
                    conn.execute("CREATE INDEX observations_ts ON observations(ts_ms)")
                    conn.execute(
                        "CREATE INDEX observations_observer_ts ON observations(observer_idx, ts_ms)"
                    )

                storage.db.write(recreate)
            feed = list(sightings((batches + 10) * LIVE_BATCH // 25, seed=7))  # ~30 heard each
            chunks = [feed[i : i + LIVE_BATCH] for i in range(0, len(feed), LIVE_BATCH)]
            for chunk in chunks[:10]:  # warm the caches, untimed
                storage.pipeline.process(chunk)
            cpu: list[float] = []
            for chunk in chunks[10 : 10 + batches]:
                started = time.process_time()
                storage.pipeline.process(chunk)
                cpu.append(time.process_time() - started)
        finally:
            storage.close()
    return statistics.median(cpu) * 1000


def rows(ctx: Context) -> list[Row]:
    """Both rates, each the best of a few passes (each pass into a fresh database)."""
    days = 0.05 if ctx.quick else 0.5
    rounds = 1 if ctx.quick else 3
    sightings = _sightings(ctx.profile, ctx.seed, days)
    known_rate, known_n, known_cpu = max(measure(sightings, warm_first=True) for _ in range(rounds))
    full_rate, full_n, full_cpu = max(measure(sightings, warm_first=False) for _ in range(rounds))
    area = "ingest"
    return [
        Row(
            area,
            "import rate, transmissions already stored (no decode)",
            f"{known_rate:,.0f} obs/s",
            ">= 50,000 obs/s",
            note=f"{known_n:,} observations in batches of {BATCH:,}, into a fresh database; "
            f"best of {rounds} passes; CPU {known_cpu:.1f} µs/obs (all threads)",
        ),
        Row(
            area,
            "import rate including decode of new transmissions",
            f"{full_rate:,.0f} obs/s",
            ">= 20,000 obs/s",
            note=f"{full_n:,} observations ({days} simulated days of "
            f"`{ctx.profile}`), signatures verified; best of {rounds} passes; "
            f"CPU {full_cpu:.1f} µs/obs (all threads)",
        ),
        Row(
            area,
            f"one live batch of {LIVE_BATCH} new sightings into the dataset, process CPU",
            f"{live_batch_cpu_ms(ctx.db_path, 5 if ctx.quick else 40):.1f} ms",
            note="what the server pays per second at 500 obs/s while reads are busy; median "
            "of the batches, after 10 untimed",
        ),
    ]


def main() -> None:
    """Print the live batch's CPU on a database, optionally with the version-1 indexes."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=STAGING_DB)
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--v1-indexes", action="store_true")
    args = parser.parse_args()
    ms = live_batch_cpu_ms(args.db, args.batches, v1_indexes=args.v1_indexes)
    print(f"live batch of {LIVE_BATCH}: {ms:.2f} ms process CPU (median of {args.batches})")


if __name__ == "__main__":
    main()
