"""Compute time of hash sizes, hash collisions, observer and node clock skew, and roles.

Loads a meshlens database read-only (default: the simulated staging database,
`meshlens simulate --profile staging --seed 1 --db PATH`, ~80k transmissions and ~2.4M
observations) and times each compute cold: every run gets a fresh snapshot memo, so
the clock-skew engine is rebuilt each time. `nodes-clock-skew details` is the per-node
detail map published with the fleet list (what `/api/nodes/{pubkey}/clock-skew`
serves), timed with its JSON encoding; `roles (engine shared)` is roles after the
fleet list ran on the same snapshot (a compute round's jobs share one forked child).
The `child CPU ms` column is the analytic's whole recompute job (compute, details,
encoding, gzip) in a forked child, the placement the server uses (bench/compute_timing.py).

    flock /work/bench.lock env PYTHONPATH=. .venv/bin/python \\
        -m bench.analytics_skew_hashes --db /work/bench-data/staging-seed1.db
"""

from __future__ import annotations

import argparse
from pathlib import Path

import orjson

from bench.compute_timing import Job, Times, cold, in_child, suite_row
from bench.dataset import STAGING_DB
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

ORDER = 61

# (registry name, compute, default-shape target)
ANALYTICS: tuple[tuple[str, Job, str], ...] = (
    ("hash-sizes", hash_sizes.compute, "<= 100 ms"),
    ("hash-collisions", hash_collisions.compute, "<= 50 ms"),
    ("observers-clock-skew", observers_clock_skew.compute, "<= 150 ms"),
    ("nodes-clock-skew", nodes_clock_skew.compute, "<= 250 ms"),
    ("roles", roles.compute, "<= 100 ms"),
)


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


def _details(snap: Snapshot, query: Query) -> bytes:
    encoded = {k: orjson.dumps(v) for k, v in nodes_clock_skew.details(snap, query).items()}
    return b"".join(encoded.values())


def _list_len(value: JSONValue) -> int:
    return len(value) if isinstance(value, list) else 0


def _cells(t: Times) -> str:
    return f"{t.first:.1f} | {t.median:.1f} | {t.best:.1f} | {t.cpu_median:.1f} | {t.cpu_best:.1f}"


def main() -> None:
    """Print one markdown row per analytic and shape."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=STAGING_DB)
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
    print(
        "| analytic | shape | first ms | median ms | best ms | median CPU ms | best CPU ms "
        "| child CPU ms (median) | bytes |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for name, job, _ in ANALYTICS:
        shapes = [("default", default)]
        if name.startswith("hash-"):
            shapes.append((f"region={args.region}", region))
        for shape, query in shapes:
            t = cold(job, snap, query, args.runs)
            child = in_child(name, snap, query, args.runs).median
            print(f"| {name} | {shape} | {_cells(t)} | {child:.1f} | {t.size:,} |")
    extra: list[tuple[str, Job, Job]] = [
        ("nodes-clock-skew details", _details, nodes_clock_skew.compute),
        ("roles (engine shared)", roles.compute, nodes_clock_skew.compute),
    ]
    for name, job, warm in extra:
        t = cold(job, snap, default, args.runs, warm=warm)
        print(f"| {name} | default | {_cells(t)} | - | {t.size:,} |")


def rows(ctx: object) -> list[object]:
    """Suite rows: each analytic cold and as its job in a child; the hash ones also by region."""
    from bench.suite import Context

    assert isinstance(ctx, Context)
    snap = ctx.snapshot()
    now_ms = int(snap.tx.first_seen_ms.max(initial=0)) + 60_000
    query = Query(now_ms=now_ms)
    runs = 2 if ctx.quick else 7
    out: list[object] = []
    regions = sorted({o.iata for o in snap.observers if o.iata})
    shapes = [("default shape", query, None)] + [
        (f"region {r}", Query(now_ms=now_ms, region=frozenset({r})), "<= 300 ms")
        for r in regions[-1:]
    ]
    for name, job, target in ANALYTICS:
        # Roles and the clock analytics take no parameters: any shape is the default one.
        for shape, q, shape_target in shapes if name.startswith("hash-") else shapes[:1]:
            details = " (with the per-node details, encoding and gzip)"
            more = details if name == "nodes-clock-skew" else ""
            out.append(
                suite_row(
                    name,
                    job,
                    snap,
                    q,
                    shape=shape,
                    target=shape_target or target,
                    runs=runs,
                    more=f"{more}; more: `python -m bench.analytics_skew_hashes --db PATH`",
                )
            )
    return out


if __name__ == "__main__":
    main()
