"""Masks that grow with the store agree with a scan from scratch, for new and pinned snapshots."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from meshlens.api.resources import selection as sel
from meshlens.api.resources.index import ObservationIndex
from meshlens.api.resources.labels import ChannelLabels
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


def snap_copy(snap: Snapshot) -> Snapshot:
    """The same snapshot without its memo."""
    return dataclasses.replace(snap, derived={})


def test_grown_masks_match_a_scan_from_scratch(tmp_path: Path) -> None:
    db = Database(tmp_path / "index.db")
    try:
        store = PacketStore()
        pipeline = Pipeline(db, store)
        index = ObservationIndex()
        labels = ChannelLabels()
        relay = bytes.fromhex(public_key_hex(1)[:2])
        snapshots = []
        for step in range(6):
            at = T0 + step * 10_000
            secret = bytes([step % 3]) * 16  # a sealed channel, a new hash byte now and then
            pipeline.process([
                sighting(channel_frame(secret, f"s{step}"), "OBS1", at_ms=at + 5),
                sighting(advert_frame(1 + step % 3, name=f"N{step}", timestamp=T0 // 1000 + step),
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
            label, names, n_decrypted = labels.of(snap)
            fresh_label, fresh_names, fresh_n = ChannelLabels().of(snap_copy(snap))
            assert (label.tolist(), names, n_decrypted) == (fresh_label.tolist(), fresh_names,
                                                            fresh_n)  # fmt: skip
        # A pinned older snapshot, asked after the index grew past it, gets its own answer.
        old = snapshots[2]
        hop = old.hop_hex.index(relay.hex().upper())
        assert np.flatnonzero(sel.relayed_by(old, [hop], index)).tolist() == _relayed_naive(
            old, [hop]
        )
        fresh = snap_copy(old)  # no memo: the index answers
        assert np.flatnonzero(sel.heard_by(fresh, [1, 2], index)).tolist() == _heard_naive(
            old, [1, 2]
        )
        # Retention renumbers the rows (a new epoch): what grew before is not reused.
        last = store.snapshot()
        keep = np.ones(len(last.tx), np.bool_)
        keep[: len(last.tx) // 2] = False
        store.prune(keep)
        pruned = store.snapshot()
        assert pruned.epoch != last.epoch
        assert np.flatnonzero(sel.heard_by(pruned, [1, 2], index)).tolist() == _heard_naive(
            pruned, [1, 2]
        )
        label, names, n_decrypted = labels.of(pruned)
        fresh_label, fresh_names, fresh_n = ChannelLabels().of(snap_copy(pruned))
        assert (label.tolist(), names, n_decrypted) == (fresh_label.tolist(), fresh_names, fresh_n)
    finally:
        db.close()
