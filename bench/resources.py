"""Server-side time of each resource endpoint at its default limit, on the staging store.

The store is loaded read-only from a meshlens database (default: the staging profile,
~80k transmissions, ~2.4M observations), then each endpoint's handler runs `--runs` times
on the event loop with the clock set to the newest sighting: parameter parsing, the
store query, the page's JSON and its encoding (the bytes the server sends). The first
call of each is reported apart: it builds the memoised and incremental indexes.

With `--live`, every timed call follows (untimed) an append of `--live-batch` new
sightings of recent transmissions and a one-second step of the clock: each request then
reads a new store generation, as under ingest, so nothing memoised per snapshot survives
between requests (the worst case for per-generation caches). Background refreshes (the
relay counts) finish between calls, untimed: their GIL share is measured apart.

    flock /work/bench.lock env PYTHONPATH=. .venv/bin/python -m bench.resources [--live]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import numpy as np
import orjson

from bench.dataset import STAGING_DB
from bench.suite import Context, Row
from meshlens.api.resources.context import Answer, Resources
from meshlens.api.resources.index import ObservationIndex
from meshlens.api.resources.pins import SnapshotPins
from meshlens.api.resources.render import DecodedCache
from meshlens.api.resources.service import ResourceService
from meshlens.api.resources.visibility import Visibility
from meshlens.config import Settings
from meshlens.db.database import ReadOnlyDatabase
from meshlens.ingest.loader import load_store
from meshlens.records import FakeClock
from meshlens.storage import channel_keys
from meshlens.store.batch import ObsBatch, StoreBatch
from meshlens.store.store import PacketStore


def build(path: Path) -> tuple[ResourceService, PacketStore, float]:
    """A ResourceService over the database's store, its clock at the newest sighting."""
    settings = Settings(db_path=path)
    keys = channel_keys(settings)
    store = PacketStore()
    started = time.perf_counter()
    db = ReadOnlyDatabase(path)
    try:
        load_store(db, store, keys=keys)
    finally:
        db.close()
    load_s = time.perf_counter() - started
    snap = store.snapshot()
    clock = FakeClock(int(snap.obs.ts_ms.max()) if len(snap.obs) else 0)
    resources = Resources(
        settings=settings, store=store, clock=clock, visibility=Visibility.of(settings, None),
        decoded=DecodedCache(keys, None, validate_signatures=settings.validate_signatures),
        pins=SnapshotPins(store, clock), index=ObservationIndex(),
    )  # fmt: skip
    service = ResourceService(resources, store_bytes=lambda: 0, rss_bytes=lambda: 0)
    return service, store, load_s


def cases(
    service: ResourceService, store: PacketStore
) -> dict[str, Callable[[], Awaitable[Answer]]]:
    """Each endpoint at its default shape, plus a few common filtered shapes."""
    snap = store.snapshot()
    repeater = next(n.public_key for n in snap.nodes if n.role == "repeater")
    observer = snap.observers[0].id
    tx_hash = snap.content_hash(len(snap.tx) // 2)

    async def now(answer: Answer) -> Answer:
        return answer

    return {
        "/api/stats": lambda: now(service.stats()),
        "/api/nodes": lambda: service.nodes({}),
        "/api/nodes?limit=2000": lambda: service.nodes({"limit": "2000"}),
        "/api/nodes/{pubkey}": lambda: service.node(repeater),
        "/api/nodes/network-status": lambda: now(service.network_status()),
        "/api/observers": lambda: now(service.observers({})),
        "/api/observers/{id}": lambda: now(service.observer(observer)),
        "/api/packets": lambda: now(service.packets({})),
        "/api/packets?groupByHash=true": lambda: now(service.packets({"groupByHash": "true"})),
        "/api/packets?expand=observations": lambda: now(
            service.packets({"expand": "observations"})
        ),
        "/api/packets?type=4&region=SJC": lambda: now(
            service.packets({"type": "4", "region": "SJC"})
        ),
        "/api/packets?node={pubkey}": lambda: now(service.packets({"node": repeater})),
        "/api/packets/timestamps?since=(-1h)": lambda: now(
            service.timestamps({"since": _iso(snap.tx.first_seen_ms.max() - 3_600_000)})
        ),
        "/api/packets/{hash}": lambda: now(service.packet(tx_hash)),
        "/api/channels": lambda: now(service.channels({})),
        "/api/channels/Public/messages": lambda: now(service.messages("Public", {})),
    }


def _iso(ms: int) -> str:
    from meshlens.times import iso_seconds

    return iso_seconds(int(ms))


class Ingest:
    """Appends re-sightings of recent transmissions, one batch and one clock second a call."""

    def __init__(self, store: PacketStore, clock: FakeClock, batch: int) -> None:
        snap = store.snapshot()
        self._store, self._clock, self._batch = store, clock, batch
        self._next_id = int(snap.obs.db_id.max()) + 1 if len(snap.obs) else 1
        recent = slice(max(0, len(snap.tx) - 1_000), len(snap.tx))
        self._tx_ids = snap.tx.db_id[recent].copy()
        rowids = range(1, 4 * len(snap.observers) + 2)
        self._rowids = np.array([r for r in rowids if store.observer_index(r) is not None])
        self._rng = np.random.default_rng(1)

    def __call__(self) -> None:
        """One append (a new generation) and one second of time."""
        self._clock.advance(1.0)
        n, rng = self._batch, self._rng
        ids = np.arange(self._next_id, self._next_id + n, dtype=np.int64)
        self._next_id += n
        self._store.append(StoreBatch(observations=ObsBatch(
            db_id=ids, tx_db_id=rng.choice(self._tx_ids, n),
            observer_rowid=rng.choice(self._rowids, n),
            ts_ms=np.full(n, self._clock.now_ms(), np.int64),
            snr_db=np.full(n, 5.5, np.float32), rssi_dbm=np.full(n, -101.0, np.float32),
            direction=np.ones(n, np.uint8), path_byte=np.ones(n, np.uint8),
            hop_width=np.ones(n, np.uint8), paths=[b"\x42"] * n,
        )))  # fmt: skip


async def measure(
    call: Callable[[], Awaitable[Answer]], runs: int, before: Callable[[], None] | None = None
) -> tuple[float, float, float, int]:
    """First call, p50 and p99 of the rest (ms), and the body size."""
    started = time.perf_counter()
    body = orjson.dumps((await call()).body)
    first = (time.perf_counter() - started) * 1000
    times = []
    for _ in range(runs):
        if before is not None:
            before()
        # A server's loop runs between requests: refreshes spawned by a stale hit (relay
        # counts, every 30 s) run and land. Fake time would otherwise outrun them (a step
        # per call, not per second) and turn every later hit into a miss.
        await asyncio.sleep(0)
        pending = asyncio.all_tasks() - {asyncio.current_task()}
        if pending:
            await asyncio.wait(pending)
        started = time.perf_counter()
        body = orjson.dumps((await call()).body)
        times.append((time.perf_counter() - started) * 1000)
    p99 = float(np.percentile(times, 99))
    return first, statistics.median(times), p99, len(body)


async def main_async(args: argparse.Namespace) -> None:
    """Load, then time every case."""
    service, store, load_s = build(args.db)
    snap = store.snapshot()
    print(
        f"store: {len(snap.tx)} transmissions, {len(snap.obs)} observations, "
        f"{len(snap.nodes)} nodes, {len(snap.observers)} observers; loaded in {load_s:.1f} s"
    )
    ingest = None
    if args.live:
        clock = service.resources.clock
        assert isinstance(clock, FakeClock)
        ingest = Ingest(store, clock, args.live_batch)
    live = f"; live: {args.live_batch} new sightings and 1 s before each call" if ingest else ""
    print(f"runs per endpoint: {args.runs}{live}\n")
    print("| endpoint | first ms | p50 ms | p99 ms | bytes |")
    print("|---|---|---|---|---|")
    for name, call in cases(service, store).items():
        first, p50, p99, size = await measure(call, args.runs, ingest)
        print(f"| `{name}` | {first:.1f} | {p50:.2f} | {p99:.2f} | {size} |")


DEFAULT_SHAPES = ("/api/stats", "/api/nodes", "/api/nodes/{pubkey}", "/api/nodes/network-status",
                  "/api/observers", "/api/observers/{id}", "/api/packets",
                  "/api/packets?groupByHash=true", "/api/packets/{hash}", "/api/channels",
                  "/api/channels/Public/messages")  # fmt: skip


def rows(ctx: Context) -> list[Row]:
    """The slowest default-shape route's p99, on a still store and under ingest."""
    runs = 20 if ctx.quick else 100

    async def both() -> list[Row]:
        service, store, _ = build(ctx.db_path)
        out = []
        for live in (False, True):
            clock = service.resources.clock
            assert isinstance(clock, FakeClock)
            before = Ingest(store, clock, 10) if live else None
            worst = ("", 0.0)
            for name, call in cases(service, store).items():
                if name in DEFAULT_SHAPES:
                    p99 = (await measure(call, runs, before))[2]
                    worst = max(worst, (name, p99), key=lambda w: w[1])
            shape = "a new generation per call" if live else "a still store"
            out.append(Row(
                "api", f"slowest default-shape resource route p99, {shape}",
                f"{worst[1]:.2f} ms `{worst[0]}`", "<= 20 ms",
                f"handler and encoding in-process, {runs} calls per route"
                + ("; 10 sightings and 1 s before each call" if live else ""),
            ))  # fmt: skip
        return out

    return asyncio.run(both())


def main() -> None:
    """Parse arguments and run."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--db", type=Path, default=STAGING_DB)
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--live", action="store_true", help="a new generation before each call")
    ap.add_argument("--live-batch", type=int, default=10, help="sightings per append")
    asyncio.run(main_async(ap.parse_args()))


if __name__ == "__main__":
    main()
