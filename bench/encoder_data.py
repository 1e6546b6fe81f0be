"""A staging-scale database built with meshlens' own encoder, for the serving benchmark.

The reference system's staging data held about 78k transmissions and 2.3M observations
(analytics-part-b §8). Until the simulator's `meshlens simulate --profile staging` lands
this builds a database of that shape: ~600 nodes (1-byte hop prefixes), 40 observers in
four regions, Public-channel messages, direct messages, signed adverts and ACKs, each
heard by 10-50 observers (30 on average) over 0-7 hops. Deterministic for a seed.
Cached, since building it takes minutes:

    PYTHONPATH=. python -m bench.encoder_data --db /work/bench-data/encoder-staging.db
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from bench.suite import Context, Row
from meshlens.config import Settings
from meshlens.records import Sighting
from meshlens.storage import open_storage
from meshlens.wire.channels import PUBLIC_KEY_HEX
from meshlens.wire.encode import (
    ack_payload,
    advert_payload,
    appdata,
    datagram_payload,
    encode_frame,
    group_text_payload,
)

T0_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z
REGIONS = ("SEA", "PDX", "SFO", "LAX")
DEFAULT_CACHE = Path("/work/bench-data/encoder-staging.db")


def _advert_keys(nodes: int, rng: random.Random) -> list[object]:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return [Ed25519PrivateKey.from_private_bytes(rng.randbytes(32)) for _ in range(nodes)]


def sightings(
    transmissions: int,
    *,
    observers: int = 40,
    nodes: int = 600,
    mean_heard: int = 30,
    seed: int = 1,
) -> Iterator[Sighting]:
    """The sightings of `transmissions` transmissions over about 30 days, in time order."""
    rng = random.Random(seed)
    keys = _advert_keys(nodes, rng)
    public = bytes.fromhex(PUBLIC_KEY_HEX)
    span_ms = 30 * 86_400_000
    for i in range(transmissions):
        at_ms = T0_MS + i * span_ms // transmissions
        kind = rng.random()
        node = rng.randrange(nodes)
        if kind < 0.07:
            key = keys[node]
            lat, lon = 45.0 + rng.random() * 3, -123.0 + rng.random() * 2
            payload = advert_payload(
                key,  # type: ignore[arg-type]
                timestamp=at_ms // 1000 + rng.randrange(-120, 120),
                appdata=appdata(advert_type=rng.choice((1, 2, 2, 3)), lat=lat, lon=lon,
                                name=f"node-{node}"),
            )  # fmt: skip
            payload_type = 4
        elif kind < 0.55:
            text = f"msg {i}: " + "x" * rng.randrange(4, 90)
            payload = group_text_payload(public, timestamp=at_ms // 1000, text=text)
            payload_type = 5
        elif kind < 0.9:
            payload = datagram_payload(
                dest_hash=rng.randrange(256), src_hash=node % 256, mac=rng.randbytes(2),
                ciphertext=rng.randbytes(16 * rng.randrange(1, 6)),
            )  # fmt: skip
            payload_type = 2
        else:
            payload = ack_payload(rng.getrandbits(32))
            payload_type = 3
        heard = min(observers, rng.randint(mean_heard // 3, mean_heard * 5 // 3))
        for observer in rng.sample(range(observers), heard):
            hops = rng.randrange(0, 8)
            path = bytes(rng.randrange(256) for _ in range(hops))
            raw = encode_frame(route_type=1, payload_type=payload_type, payload=payload, path=path)
            yield Sighting(
                raw=raw,
                observer_id=f"OBSERVER{observer:02d}",
                observer_name=f"Observer {observer}",
                region=REGIONS[observer % len(REGIONS)],
                snr_db=round(rng.gauss(4.0, 5.0), 2),
                rssi_dbm=round(rng.gauss(-100.0, 12.0), 1),
                score=None,
                direction="rx",
                received_at_ms=at_ms + rng.randrange(0, 3000),
                where="bench",
            )


def build(db: Path, transmissions: int, *, seed: int = 1, batch: int = 5000) -> int:
    """Write the sightings into a fresh database at `db`; returns observations stored."""
    if db.exists():
        raise SystemExit(f"{db} exists; remove it first")
    storage = open_storage(Settings(db_path=db), load=False)
    stored = 0
    started = time.perf_counter()
    try:
        pending: list[Sighting] = []
        for item in sightings(transmissions, seed=seed):
            pending.append(item)
            if len(pending) >= batch:
                stored += _write(storage.pipeline.process(pending))
                pending = []
                print(f"\r{stored:,} observations, {time.perf_counter() - started:.0f} s", end="")
        stored += _write(storage.pipeline.process(pending))
    finally:
        storage.close()
    print(f"\r{stored:,} observations in {time.perf_counter() - started:.0f} s into {db}")
    return stored


def _write(results: Sequence[object]) -> int:
    return len(results)


def rows(ctx: Context) -> list[Row]:
    """How fast this builder writes a small database (the full one is built on demand)."""
    import tempfile

    transmissions = 300 if ctx.quick else 2_000
    with tempfile.TemporaryDirectory(prefix="meshlens-encoder-") as tmp:
        started = time.perf_counter()
        stored = build(Path(tmp) / "encoder.db", transmissions)
        elapsed = time.perf_counter() - started
    return [
        Row(
            "dataset",
            "encoder dataset build rate (signing, encoding and the full pipeline)",
            f"{stored / elapsed:,.0f} sightings/s",
            note=f"{transmissions:,} transmissions, {stored:,} sightings into a fresh database",
        )
    ]


def main() -> None:
    """Build the cached database."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--transmissions", type=int, default=78_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    args.db.parent.mkdir(parents=True, exist_ok=True)
    build(args.db, args.transmissions, seed=args.seed)


if __name__ == "__main__":
    main()
