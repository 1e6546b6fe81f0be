"""Compute time of hash sizes, hash collisions, observer and node clock skew, and roles.

Loads a meshlens database read-only (default: the simulated staging database,
`meshlens simulate --profile staging --seed 1 --db PATH`, ~80k transmissions and ~2.4M
observations) and times each compute cold: every run gets a fresh snapshot memo, so
the clock-skew engine is rebuilt each time. `nodes-clock-skew details` is the per-node
detail map published with the fleet list (what `/api/nodes/{pubkey}/clock-skew`
serves), timed with its JSON encoding; `roles (engine shared)` is roles after the
fleet list ran in the same round, as the recomputers share it in one forked child.

    flock /work/bench.lock env PYTHONPATH=. /work/venv/bin/python -m bench.analytics_skew_hashes \\
        --db /work/bench-data/staging-seed1.db
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import orjson

from meshlens.analytics import (
    hash_collisions,
    hash_sizes,
    nodes_clock_skew,
    observers_clock_skew,
    roles,
)
from meshlens.analytics.query import Query, normalise_region
from meshlens.records import JSONValue
from meshlens.store.snapshot import Snapshot

Job = Callable[[Snapshot, Query], object]


def load(path: Path) -> Snapshot:
    """The store of a meshlens database, opened read-only."""
    from meshlens.db.database import ReadOnlyDatabase
    from meshlens.ingest.loader import load_store
    from meshlens.store.store import PacketStore

    db = ReadOnlyDatabase(path)
    try:
        store = PacketStore()
        load_store(db, store)
    finally:
        db.close()
    return store.snapshot()


def timed(snap: Snapshot, query: Query, job: Job, runs: int, *, warm: Job | None = None) -> str:
    """first / median / best milliseconds and the encoded size, each run on a fresh memo."""
    times: list[float] = []
    size = 0
    for _ in range(runs):
        fresh = dataclasses.replace(snap, derived={})
        if warm is not None:
            warm(fresh, query)
        start = time.perf_counter()
        out = job(fresh, query)
        size = len(orjson.dumps(out)) if not isinstance(out, bytes) else len(out)
        times.append((time.perf_counter() - start) * 1000)
    return f"{times[0]:.1f} | {statistics.median(times):.1f} | {min(times):.1f} | {size:,}"


def _details(snap: Snapshot, query: Query) -> bytes:
    encoded = {k: orjson.dumps(v) for k, v in nodes_clock_skew.details(snap, query).items()}
    return b"".join(encoded.values())


def _list_len(value: JSONValue) -> int:
    return len(value) if isinstance(value, list) else 0


def main() -> None:
    """Print one markdown row per analytic and shape."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=Path("/work/bench-data/staging-seed1.db"))
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--region", default="SJC")
    args = parser.parse_args()
    snap = load(args.db)
    now_ms = int(snap.tx.first_seen_ms.max()) + 60_000
    default = Query(now_ms=now_ms)
    region = Query(now_ms=now_ms, region=normalise_region(args.region))
    print(
        f"{len(snap.tx):,} transmissions, {len(snap.obs):,} observations, "
        f"{len(snap.nodes):,} nodes, {len(snap.observers)} observers; "
        f"{_list_len(nodes_clock_skew.compute(snap, default)):,} nodes with clock data"
    )
    print("| analytic | shape | first ms | median ms | best ms | body bytes |")
    print("|---|---|---|---|---|---|")
    rows: list[tuple[str, str, Query, Job, Job | None]] = [
        ("hash-sizes", "default", default, hash_sizes.compute, None),
        ("hash-sizes", f"region={args.region}", region, hash_sizes.compute, None),
        ("hash-collisions", "default", default, hash_collisions.compute, None),
        ("hash-collisions", f"region={args.region}", region, hash_collisions.compute, None),
        ("observers-clock-skew", "default", default, observers_clock_skew.compute, None),
        ("nodes-clock-skew", "default", default, nodes_clock_skew.compute, None),
        ("nodes-clock-skew details", "default", default, _details, nodes_clock_skew.compute),
        ("roles", "default", default, roles.compute, None),
        ("roles (engine shared)", "default", default, roles.compute, nodes_clock_skew.compute),
    ]
    for name, shape, query, job, warm in rows:
        print(f"| {name} | {shape} | {timed(snap, query, job, args.runs, warm=warm)} |")


if __name__ == "__main__":
    main()
