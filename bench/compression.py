"""Gzip in a compute round: the stdlib's zlib against ISA-L (isal), on a staging round's output.

Loads the staging database, computes the nine default-shape bodies and the detail bodies
a round publishes (topology's parts, each node's clock skew), then compresses them all
with each candidate, timing process CPU (best of `--runs`). Run:

    flock /work/bench.lock env PYTHONPATH=. python -m bench.compression
"""

from __future__ import annotations

import argparse
import gzip
import time
from collections.abc import Callable
from pathlib import Path

import orjson
from isal import igzip

from bench.dataset import STAGING_DB
from meshlens.analytics import nodes_clock_skew, topology_parts
from meshlens.analytics.query import Query
from meshlens.analytics.registry import ANALYTICS
from meshlens.api.recompute import encode
from meshlens.db.database import ReadOnlyDatabase
from meshlens.ingest.loader import load_store
from meshlens.sim.simulation import channel_keys
from meshlens.store.store import PacketStore

Compress = Callable[[bytes], bytes]


def _candidates() -> dict[str, Compress]:
    return {
        "zlib 6": lambda b: gzip.compress(b, compresslevel=6, mtime=0),
        "zlib 1": lambda b: gzip.compress(b, compresslevel=1, mtime=0),
        "ISA-L 3": lambda b: igzip.compress(b, compresslevel=3, mtime=0),
        "ISA-L 1": lambda b: igzip.compress(b, compresslevel=1, mtime=0),
    }


def _best_cpu_ms(compress: Compress, bodies: list[bytes], runs: int) -> tuple[float, int]:
    best, size = float("inf"), 0
    for _ in range(runs):
        started = time.process_time()
        size = sum(len(compress(b)) for b in bodies)
        best = min(best, time.process_time() - started)
    return best * 1000, size


def main() -> None:
    """Print one markdown row per body set and candidate."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=STAGING_DB)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    store = PacketStore()
    with ReadOnlyDatabase(args.db) as db:
        load_store(db, store, keys=channel_keys())
    snap = store.snapshot()
    query = Query(now_ms=int(snap.tx.first_seen_ms.max(initial=0)) + 60_000)
    values = {a.name: a.compute(snap, query) for a in ANALYTICS if a.compute is not None}
    sets = {
        "the nine bodies": [encode(v) for v in values.values()],
        "topology's parts": [encode(p) for p in topology_parts.parts(values["topology"]).values()],
        "per-node clock skew": [
            orjson.dumps(v) for v in nodes_clock_skew.details(snap, query).values()
        ],
    }
    print("| bodies | JSON | compressor | CPU ms (best) | gzip bytes |\n|---|---|---|---|---|")
    for label, bodies in sets.items():
        raw = sum(map(len, bodies))
        for name, compress in _candidates().items():
            ms, size = _best_cpu_ms(compress, bodies, args.runs)
            print(f"| {label} ({len(bodies):,}) | {raw / 1e6:.2f} MB | {name} | {ms:.0f} "
                  f"| {size / 1e6:.2f} MB |")  # fmt: skip


if __name__ == "__main__":
    main()
