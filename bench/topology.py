"""Topology and distance compute times (and encode times) at the staging profile.

Run: `flock /work/bench.lock env PYTHONPATH=. python -m bench.topology [--db PATH]`.
With --db it loads a staging database read-only (`meshlens simulate --profile staging`);
without, it uses the synthetic mesh of bench/mesh_model.py (cached as a pickle under
/work/bench-data/ so it is built once). Each figure is the best and median of several
cold computes: every run gets a fresh snapshot memo, so nothing carries over.
Also: `--accuracy [DB]` (resolver against the true relays) and `--append-cost DB` (what
the store's link evidence costs ingest). Delete the cached pickle after changing the
store's internals.
"""

from __future__ import annotations

import argparse
import dataclasses
import pickle
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from meshlens.analytics import distance, topology
from meshlens.analytics.hops.context import best_paths, resolve_per_transmission
from meshlens.analytics.hops.neighbours import neighbour_graph
from meshlens.analytics.query import Query
from meshlens.records import JSONValue
from meshlens.store.snapshot import Snapshot
from meshlens.store.store import PacketStore

CACHE = Path("/work/bench-data")


def synthetic(seed: int) -> tuple[PacketStore, int]:
    """The synthetic staging-sized mesh, built once and cached."""
    from bench.mesh_model import build_mesh

    path = CACHE / f"topology-synthetic-{seed}.pickle"
    if path.is_file():
        with path.open("rb") as f:
            store, now_ms = pickle.load(f)  # our own cache file, written below
        return store, now_ms
    model = build_mesh(seed=seed, observers=40)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        pickle.dump((model.store, model.now_ms), f, protocol=pickle.HIGHEST_PROTOCOL)
    return model.store, model.now_ms


def staging(db_path: Path) -> tuple[PacketStore, int]:
    """A staging database loaded read-only; 'now' is its latest observation."""
    from meshlens.db.database import ReadOnlyDatabase
    from meshlens.ingest.loader import load_store

    store = PacketStore()
    load_store(ReadOnlyDatabase(db_path), store)
    snap = store.snapshot()
    return store, int(snap.obs.ts_ms.max(initial=0))


def timed(run: Callable[[], object], rounds: int) -> tuple[float, float, float]:
    """Best and median wall time, and best CPU time of this process, in ms.

    CPU time is printed too because the machine is shared: another process' load
    stretches wall time far more than it stretches our own CPU time.
    """
    wall, cpu = [], []
    for _ in range(rounds):
        start, start_cpu = time.perf_counter(), time.process_time()
        run()
        wall.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    return min(wall), statistics.median(wall), min(cpu)


def main() -> None:
    """Print markdown rows for docs/benchmarks.md."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", type=Path)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    store, now_ms = staging(args.db) if args.db else synthetic(args.seed)
    base = store.snapshot()
    print(f"data: {len(base.tx)} transmissions, {len(base.obs)} observations, "
          f"{len(base.nodes)} nodes, {len(base.observers)} observers, "
          f"{len(base.hop_hex)} distinct hops")  # fmt: skip

    def cold() -> Snapshot:
        return dataclasses.replace(base, derived={})

    default = Query(now_ms=now_ms)
    regions = sorted({o.iata for o in base.observers if o.iata})
    region = Query(now_ms=now_ms, region=frozenset(regions[:1]))
    window = Query(now_ms=now_ms, since_ms=now_ms - 24 * 3_600_000, window_key="rel:24h")
    black = {n.public_key for n in base.nodes[:50]}
    blacklisted = Query(now_ms=now_ms, node_blacklist=frozenset(black))
    rows: list[tuple[str, Callable[[], object]]] = [
        ("neighbour graph", lambda: neighbour_graph(cold())),
        ("distance resolution (per transmission)", lambda: _resolve_all(cold(), now_ms)),
        ("topology, default shape", lambda: topology.compute(cold(), default)),
        ("topology, region " + ",".join(region.region), lambda: topology.compute(cold(), region)),
        ("topology, window 24h", lambda: topology.compute(cold(), window)),
        ("topology, 50 nodes blacklisted", lambda: topology.compute(cold(), blacklisted)),
        ("distance, default shape", lambda: distance.compute(cold(), default)),
        ("distance, region " + ",".join(region.region), lambda: distance.compute(cold(), region)),
    ]
    print("| compute | best ms | median ms | best CPU ms |")
    print("|---|---|---|---|")
    for label, run in rows:
        best, median, cpu = timed(run, args.rounds)
        print(f"| {label} | {best:.0f} | {median:.0f} | {cpu:.0f} |")
    for name, value in (("topology", topology.compute(cold(), default)),
                        ("distance", distance.compute(cold(), default))):  # fmt: skip
        best, median, cpu = timed(lambda v=value: orjson.dumps(v), args.rounds)  # type: ignore[misc]
        size = len(orjson.dumps(value))
        print(f"| {name}: encode with orjson ({size / 1e6:.2f} MB) | {best:.1f} | {median:.1f} "
              f"| {cpu:.1f} |")  # fmt: skip


def _resolve_all(snap: Snapshot, now_ms: int) -> JSONValue:
    import numpy as np

    rows = np.flatnonzero(snap.tx.best_obs >= 0).astype(np.int64)
    _, owner, hop = best_paths(snap, rows)
    resolve_per_transmission(snap, rows, owner, hop, now_ms)
    return None


def accuracy(seed: int, transmissions: int) -> None:
    """How often the resolver names the true relay, by tier, on a synthetic mesh."""
    import numpy as np

    from bench.mesh_model import build_mesh

    model = build_mesh(seed=seed, transmissions=transmissions, observers=40)
    snap = model.store.snapshot()
    rows = np.flatnonzero(snap.tx.best_obs >= 0).astype(np.int64)
    best, owner, hop = best_paths(snap, rows)
    result = resolve_per_transmission(snap, rows, owner, hop, model.now_ms)
    counts = np.bincount(owner, minlength=rows.size)
    within = np.arange(owner.size) - (np.cumsum(counts) - counts)[owner]
    truth = model.truth[snap.obs.path_off[best][owner] + within]
    _print_accuracy(result.node == truth, result.tier)


def staging_accuracy(db_path: Path) -> None:
    """The same, against the simulator's ground truth saved beside a staging database."""
    import numpy as np

    store, now_ms = staging(db_path)
    snap = store.snapshot()
    with np.load(db_path.with_name(db_path.name + ".truth.npz")) as data:
        truth = {name: data[name] for name in data.files}
    keys = [str(k) for k in truth["node_keys"]]
    rows = np.flatnonzero(snap.tx.best_obs >= 0).astype(np.int64)
    best, owner, hop = best_paths(snap, rows)
    wanted = {(int(snap.tx.hash[t]), snap.observers[int(snap.obs.observer[b])].id.upper())
              for t, b in zip(rows.tolist(), best.tolist(), strict=True)}  # fmt: skip
    index: dict[tuple[int, str, int], int] = {}
    obs_hash, obs_observer = truth["obs_hash"].tolist(), truth["obs_observer"].tolist()
    for row, (h, o) in enumerate(zip(obs_hash, obs_observer, strict=True)):
        key = (h, keys[o].upper())
        if key in wanted:
            index.setdefault((*key, int(truth["obs_hop_count"][row])), row)
    result = resolve_per_transmission(snap, rows, owner, hop, now_ms)
    node_key = np.array((*roster_keys(snap), ""))
    got = node_key[result.node]  # -1 -> ""
    counts = np.bincount(owner, minlength=rows.size)
    true_keys = np.full(owner.size, "?", dtype=object)
    starts = np.cumsum(counts) - counts
    for i, (t, b) in enumerate(zip(rows.tolist(), best.tolist(), strict=True)):
        n = int(counts[i])
        hit = index.get(
            (int(snap.tx.hash[t]), snap.observers[int(snap.obs.observer[b])].id.upper(), n)
        )
        if hit is None or n == 0:
            continue
        off = int(truth["obs_hop_off"][hit])
        true_keys[starts[i] : starts[i] + n] = [keys[j] for j in truth["hop_node"][off : off + n]]
    known = true_keys != "?"
    right = (got == true_keys) & known
    _print_accuracy(right[known], result.tier[known])


def _print_accuracy(right: Any, tiers: Any) -> None:
    from meshlens.analytics.hops.resolver import TIER_NAMES

    print(f"accuracy over {right.size} best-path hops: {right.mean():.1%}")
    print("| tier | share of hops | right |")
    print("|---|---|---|")
    for tier, name in enumerate(TIER_NAMES):
        sel = tiers == tier
        if sel.any():
            print(f"| {name} | {sel.mean():.1%} | {right[sel].mean():.1%} |")


def append_cost(db_path: Path) -> None:
    """What keeping the link evidence costs ingest: the initial load, and small appends."""
    import numpy as np

    from meshlens.store import links

    keep = links.LinkLog.add
    for label, add in (("with link evidence", keep), ("without", None)):
        if add is None:
            links.LinkLog.add = lambda self, **kw: None  # type: ignore[method-assign]
        start = time.process_time()
        store, now_ms = staging(db_path)
        print(f"load {label}: {time.process_time() - start:.2f} s CPU")
    links.LinkLog.add = keep  # type: ignore[method-assign]
    store, now_ms = staging(db_path)
    log = links.LinkLog(store.snapshot().links)
    rng = np.random.default_rng(0)
    spent = []
    for i in range(3000):  # live ingest: batches of 20 observations
        n = 20
        start = time.perf_counter()
        log.add(originator=np.where(rng.random(n) < 0.15, rng.integers(0, 2000, n), -1),
                observer=rng.integers(0, 31, n), ts_ms=np.full(n, now_ms + i),
                first_hop=rng.integers(0, 1112, n), last_hop=rng.integers(0, 1112, n),
                path_len=rng.integers(0, 8, n))  # fmt: skip
        spent.append((time.perf_counter() - start) * 1e6)
    us = np.array(spent)
    print(f"20-observation append: mean {us.mean():.0f} us, median {np.median(us):.0f} us, "
          f"p99 {np.percentile(us, 99):.0f} us, max {us.max():.0f} us")  # fmt: skip


def roster_keys(snap: Snapshot) -> tuple[str, ...]:
    """Lower-case node keys by node index."""
    from meshlens.analytics.hops.roster import roster_of

    return roster_of(snap).keys


ORDER = 62


def rows(ctx: object) -> list[object]:
    """Suite rows: topology and distance, default shape, and one region for distance."""
    from bench.compute_timing import suite_row
    from bench.suite import Context

    assert isinstance(ctx, Context)
    snap = ctx.snapshot()
    now_ms = int(snap.obs.ts_ms.max(initial=0))
    runs = 2 if ctx.quick else 7
    regions = sorted({o.iata for o in snap.observers if o.iata})
    default = Query(now_ms=now_ms)
    region = Query(now_ms=now_ms, region=frozenset(regions[-1:]))
    shapes = [
        ("topology", topology.compute, default, "default shape", "<= 250 ms"),
        ("distance", distance.compute, default, "default shape", "<= 150 ms"),
        ("distance", distance.compute, region, f"region {','.join(region.region)}", "<= 300 ms"),
    ]
    out: list[object] = []
    for name, compute, query, shape, target in shapes:
        out.append(
            suite_row(
                name,
                compute,
                snap,
                query,
                shape=shape,
                target=target,
                runs=runs,
                more="; more: `python -m bench.topology --db PATH`",
            )
        )
    return out


if __name__ == "__main__":
    import sys

    if sys.argv[1:2] == ["--append-cost"]:
        append_cost(Path(sys.argv[2]))
    elif sys.argv[1:2] == ["--accuracy"]:
        if len(sys.argv) > 2:
            staging_accuracy(Path(sys.argv[2]))
        else:
            accuracy(1, 10_000)
    else:
        main()
