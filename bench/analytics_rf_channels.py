"""Compute time of the rf and channels analytics at the staging profile.

The staging profile is ~80k transmissions and ~2.3M observations (the reference system
measured rf ~4 s and channels ~0.5 s cold there). With `--db` the store is loaded from a
meshlens database (e.g. `meshlens simulate --profile staging --seed 1 --db PATH`);
without it a synthetic store of that size is built in memory: frames from the encoder
(real frame lengths, real encrypted group texts), 40 observers in 4 regions, 7 days of
traffic, quarter-dB SNR and whole-dBm RSSI with some missing. Every compute here is cold:
neither analytic memoises anything on the snapshot.

    flock /work/bench.lock env PYTHONPATH=. .venv/bin/python -m bench.analytics_rf_channels
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import orjson

from meshlens.analytics import channels, rf
from meshlens.analytics.query import Query, parse_query
from meshlens.analytics.registry import REGION_WINDOW
from meshlens.records import JSONValue, Observer, ObserverId
from meshlens.store.batch import (
    DECRYPTION_DECRYPTED,
    DECRYPTION_NO_KEY,
    ObsBatch,
    ObserverRow,
    StoreBatch,
    TxRow,
)
from meshlens.store.snapshot import Snapshot
from meshlens.store.store import PacketStore
from meshlens.wire import ChannelKey, ChannelKeys
from meshlens.wire.encode import encode_frame, group_text_payload

DAY_MS = 86_400_000
REGIONS = ("SEA", "PDX", "SFO", "LAX")
# Payload type mix of a busy mesh: adverts, group texts, direct messages, acks, paths.
TYPES = np.array([4, 5, 2, 3, 8, 0, 1, 9, 6, 7, 11], np.uint8)
TYPE_WEIGHTS = np.array([0.35, 0.15, 0.14, 0.12, 0.08, 0.05, 0.04, 0.03, 0.02, 0.01, 0.01])
CHANNELS = ("Public", "#test", "#wardriving", "#emergency", "#bots")


def synthetic(n_tx: int, n_obs: int, seed: int, now_ms: int, *, off_grid: bool = False) -> Snapshot:
    """A store of the staging profile's size, built straight from columns.

    `off_grid` moves 1% of SNR samples off the quarter-dB grid (+0.1 dB), the slow path
    of meshlens.analytics.tally.
    """
    rng = np.random.default_rng(seed)
    start = now_ms - 7 * DAY_MS
    first_seen = np.sort(rng.integers(start, now_ms, n_tx))
    types = rng.choice(TYPES, n_tx, p=TYPE_WEIGHTS / TYPE_WEIGHTS.sum())
    keys = [ChannelKey.hashtag(c) if c != "Public" else None for c in CHANNELS]
    public = next(iter(ChannelKeys.public()))
    senders = [f"user{i:03d}" for i in range(400)]
    rows = [
        _tx_row(
            i, int(first_seen[i]), int(types[i]), rng=rng, keys=keys, public=public, senders=senders
        )
        for i in range(n_tx)
    ]
    observers = [
        ObserverRow(i + 1, Observer(ObserverId(f"OBS{i:02d}"), f"obs {i}", REGIONS[i % 4], 0, 0))
        for i in range(40)
    ]
    # Heard by 1..60 observers each; sightings arrive within 30 s of the first.
    per_tx = rng.multinomial(n_obs - n_tx, np.full(n_tx, 1 / n_tx)) + 1
    tx_of = np.repeat(np.arange(n_tx), per_tx)
    ts = first_seen[tx_of] + rng.integers(0, 30_000, tx_of.size)
    ts[np.cumsum(per_tx) - per_tx] = first_seen  # the first sighting sets first_seen
    order = np.argsort(ts, kind="stable")
    tx_of, ts = tx_of[order], ts[order]
    n = tx_of.size
    snr = (rng.integers(-80, 56, n) / 4).astype(np.float32)
    if off_grid:
        snr[rng.random(n) < 0.01] += np.float32(0.1)
    snr[rng.random(n) < 0.08] = np.nan
    rssi = rng.integers(-125, -40, n).astype(np.float32)
    rssi[rng.random(n) < 0.05] = np.nan
    obs = ObsBatch(
        db_id=np.arange(1, n + 1, dtype=np.int64),
        tx_db_id=(tx_of + 1).astype(np.int64),
        observer_rowid=rng.integers(1, 41, n).astype(np.int64),
        ts_ms=ts.astype(np.int64),
        snr_db=snr,
        rssi_dbm=rssi,
        direction=np.ones(n, np.uint8),
        path_byte=np.zeros(n, np.uint8),
        hop_width=np.ones(n, np.uint8),
        paths=[b""] * n,
    )
    store = PacketStore()
    store.append(StoreBatch(transmissions=rows, observations=obs, observers=observers))
    return store.snapshot()


def _tx_row(
    i: int,
    first_seen: int,
    payload_type: int,
    *,
    rng: np.random.Generator,
    keys: list[ChannelKey | None],
    public: ChannelKey,
    senders: list[str],
) -> TxRow:
    base = TxRow(
        db_id=i + 1,
        content_hash=f"{i + 1:016x}",
        first_seen_ms=first_seen,
        route_type=1,
        payload_type=payload_type,
        payload_version=0,
        path_byte=0,
        raw=b"",
    )
    if payload_type != 5:
        payload = rng.bytes(int(rng.integers(8, 150)))
        return base._replace(
            raw=encode_frame(route_type=1, payload_type=payload_type, payload=payload)
        )
    c = int(rng.integers(0, len(CHANNELS) + 3))  # some channels nobody has the key for
    key = (keys[c] or public) if c < len(CHANNELS) else ChannelKey.hashtag(f"#secret{c}")
    sender = senders[int(rng.zipf(1.5)) % len(senders)]
    text = f"{sender}: message {i} " + "x" * int(rng.integers(0, 80))
    frame = encode_frame(
        route_type=1,
        payload_type=5,
        payload=group_text_payload(key.key, timestamp=first_seen // 1000, text=text),
    )
    if c >= len(CHANNELS):
        return base._replace(raw=frame, channel_hash=key.channel_hash, decryption=DECRYPTION_NO_KEY)
    return base._replace(
        raw=frame,
        channel_hash=key.channel_hash,
        channel=key.text_label,
        decryption=DECRYPTION_DECRYPTED,
        sender=sender,
        text=text,
    )


def load(path: Path, hash_channels: list[str]) -> Snapshot:
    """A store loaded from a meshlens database, decrypting with Public and `hash_channels`."""
    from meshlens.db.database import ReadOnlyDatabase
    from meshlens.ingest.loader import load_store

    keys, _ = ChannelKeys.build(hash_channels=hash_channels)
    store = PacketStore()
    db = ReadOnlyDatabase(path)
    try:
        load_store(db, store, keys=keys)
    finally:
        db.close()
    return store.snapshot()


def timed(
    compute: Callable[[Snapshot, Query], JSONValue], snap: Snapshot, query: Query, runs: int
) -> tuple[float, float, float, int]:
    """First, median and best wall time in ms over `runs`, and the encoded body size."""
    times = []
    body = b""
    for _ in range(runs):
        t = time.perf_counter()
        out = compute(snap, query)
        times.append((time.perf_counter() - t) * 1000)
        body = orjson.dumps(out)
    return times[0], statistics.median(times), min(times), len(body)


def main() -> None:
    """Build or load the store, then time each analytic in each shape."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", type=Path, help="a meshlens database (default: synthetic)")
    ap.add_argument("--hash-channels", default="", help="comma-separated #channels to decrypt")
    ap.add_argument("--transmissions", type=int, default=80_000)
    ap.add_argument("--observations", type=int, default=2_300_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--runs", type=int, default=11)
    ap.add_argument("--off-grid", action="store_true", help="1%% of SNR off the 0.25 dB grid")
    args = ap.parse_args()
    t = time.perf_counter()
    if args.db:
        snap = load(args.db, [c for c in args.hash_channels.split(",") if c])
        source = str(args.db)
    else:
        now = 1_767_225_600_000
        snap = synthetic(
            args.transmissions, args.observations, args.seed, now, off_grid=args.off_grid
        )
        source = f"synthetic seed {args.seed}" + (", 1% SNR off grid" if args.off_grid else "")
    built_s = time.perf_counter() - t
    now_ms = int(snap.obs.ts_ms.max()) if len(snap.obs) else 0
    print(f"store: {source}: {len(snap.tx):,} transmissions, {len(snap.obs):,} observations "
          f"({built_s:.1f} s to build)")  # fmt: skip
    region = snap.observers[0].iata if snap.observers else "SEA"
    shapes: list[tuple[str, Query]] = [
        ("default", _query({}, now_ms)),
        (f"region={region}", _query({"region": region}, now_ms)),
        ("window=24h", _query({"window": "24h"}, now_ms)),
    ]
    print("| analytic | shape | first ms | median ms | best ms | body bytes |")
    print("|---|---|---|---|---|---|")
    for name, compute in (("rf", rf.compute), ("channels", channels.compute)):
        for label, query in shapes:
            first, median, best, size = timed(compute, snap, query, args.runs)
            print(f"| {name} | {label} | {first:.1f} | {median:.1f} | {best:.1f} | {size:,} |")


ORDER = 60


def rows(ctx: object) -> list[object]:
    """Suite rows: rf and channels compute time, default shape and the filtered shapes."""
    from bench.suite import Context, Row

    assert isinstance(ctx, Context)
    snap = ctx.snapshot()
    now_ms = int(snap.obs.ts_ms.max()) if len(snap.obs) else 0
    runs = 2 if ctx.quick else 11
    regions = sorted({o.iata for o in snap.observers if o.iata})
    # Filtered shapes are computed on request (single-flight), so each has its own budget.
    shapes: list[tuple[str, dict[str, str], str | None]] = [
        ("default shape", {}, None),
        *[(f"region {r}", {"region": r}, "<= 300 ms") for r in regions[-1:]],
        ("window 24h", {"window": "24h"}, "<= 300 ms"),
    ]
    out: list[object] = []
    for name, compute, target in (
        ("rf", rf.compute, "<= 150 ms"),
        ("channels", channels.compute, "<= 50 ms"),
    ):
        for shape, params, shape_target in shapes:
            query = _query(params, now_ms)
            first, median, best, size = timed(compute, snap, query, runs)
            out.append(
                Row(
                    "analytics",
                    f"{name} compute, {shape} (median of {runs}, cold)",
                    f"{median:.0f} ms",
                    shape_target or target,
                    note=f"first call {first:.0f} ms, best {best:.0f} ms, {size:,}-byte body; "
                    "more shapes: `python -m bench.analytics_rf_channels --db PATH`",
                )
            )
    return out


def _query(params: dict[str, str], now_ms: int) -> Query:
    return parse_query(params, now_ms=now_ms, accepts=REGION_WINDOW)


if __name__ == "__main__":
    main()
