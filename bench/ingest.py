"""Import rate: the pipeline storing observations, with and without decoding.

Sightings come from a slice of the same simulated mesh as the dataset (generated before
timing starts). "Excluding decode" (issue 2's target) feeds first one sighting of every
transmission, untimed, so the timed pass sees only known transmissions: framing and
content hash (`peek_frame`), the observation rows, one transaction per batch and the
store append. The full rate includes decoding and verifying every new transmission.
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from pathlib import Path

from bench.suite import Context, Row
from meshlens.records import Sighting

ORDER = 50
BATCH = 20_000


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
    ]
