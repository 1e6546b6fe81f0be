"""Masks that grow with the store agree with a scan from scratch, for new and pinned snapshots."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from meshlens.api.resources import selection as sel
from meshlens.api.resources.index import ObservationIndex
from meshlens.db.database import Database
from meshlens.ingest.pipeline import Pipeline
from meshlens.store.snapshot import Snapshot
from meshlens.store.store import PacketStore
from meshlens.wire.channels import PUBLIC_KEY_HEX
from tests.ingest.helpers import T0, advert_frame, channel_frame, public_key_hex, sighting

PUBLIC = bytes.fromhex(PUBLIC_KEY_HEX)


def _heard_naive(snap: Snapshot, observers: list[int]) -> list[int]:
    obs = snap.obs
    return sorted({int(obs.tx[i]) for i in range(len(obs)) if int(obs.observer[i]) in observers})


def _relayed_naive(snap: Snapshot, hops: list[int]) -> list[int]:
    obs = snap.obs
    out = set()
    for i in range(len(obs)):
        off, n = int(obs.path_off[i]), int(obs.path_len[i])
        if any(int(h) in hops for h in snap.hops[off : off + n]):
            out.add(int(obs.tx[i]))
    return sorted(out)


def test_grown_masks_match_a_scan_from_scratch(tmp_path: Path) -> None:
    db = Database(tmp_path / "index.db")
    try:
        store = PacketStore()
        pipeline = Pipeline(db, store)
        index = ObservationIndex()
        relay = bytes.fromhex(public_key_hex(1)[:2])
        snapshots = []
        for step in range(6):
            at = T0 + step * 10_000
            pipeline.process([
                sighting(advert_frame(1 + step % 3, name=f"N{step}", timestamp=1_767_225_600 + step),
                         "OBS1", at_ms=at),
                sighting(channel_frame(PUBLIC, f"m{step}", path=relay * (step % 2)), "OBS2",
                         region="PDX", at_ms=at + 1),
                sighting(channel_frame(PUBLIC, f"m{step}", path=relay + b"\x99"), f"OBS{3 + step}",
                         region="PDX", at_ms=at + 2),
            ])  # fmt: skip
            snap = store.snapshot()
            snapshots.append(snap)
            for observers in ([0], [1, 2], [len(snap.observers) - 1]):
                grown = sel.heard_by(snap, observers, index)
                assert np.flatnonzero(grown).tolist() == _heard_naive(snap, observers)
            hop = snap.hop_hex.index(relay.hex().upper())
            grown = sel.relayed_by(snap, [hop], index)
            assert np.flatnonzero(grown).tolist() == _relayed_naive(snap, [hop])
        # A pinned older snapshot, asked after the index grew past it, gets its own answer.
        old = snapshots[2]
        hop = old.hop_hex.index(relay.hex().upper())
        assert np.flatnonzero(sel.relayed_by(old, [hop], index)).tolist() == _relayed_naive(
            old, [hop]
        )
        fresh = dataclasses.replace(old, derived={})  # no memo: the index answers
        assert np.flatnonzero(sel.heard_by(fresh, [1, 2], index)).tolist() == _heard_naive(
            old, [1, 2]
        )
    finally:
        db.close()
