"""Hop usage kept at append: which hops a TRACE path held, which any other path held."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from meshlens.analytics.multibyte import path_suspects
from meshlens.records import Node, Observer, ObserverId, PubKey
from meshlens.store.batch import ObservationRow, ObserverRow, StoreBatch, TxRow, obs_batch
from meshlens.store.compaction import prepare
from meshlens.store.snapshot import Snapshot
from meshlens.store.store import PacketStore
from meshlens.wire import PayloadType

KEY_A = "aabb" + "11" * 30  # its 2-byte prefix AABB only ever shows in a TRACE route
KEY_B = "ccdd" + "22" * 30  # CCDD: a TRACE route hop, later also in a text message


def _tx(db_id: int, payload_type: int) -> TxRow:
    return TxRow(
        db_id=db_id,
        content_hash=f"{db_id:016x}",
        first_seen_ms=1000,
        route_type=1,
        payload_type=payload_type,
        payload_version=0,
        path_byte=0,
        raw=bytes([db_id % 256, 0]),
    )


def _obs(db_id: int, tx_db_id: int, path: bytes) -> ObservationRow:
    return ObservationRow(
        db_id=db_id,
        tx_db_id=tx_db_id,
        observer_rowid=1,
        ts_ms=1000 + db_id,
        snr_db=None,
        rssi_dbm=None,
        direction=1,
        path_byte=len(path) // 2,
        hop_width=2,
        path=path,
    )


def _node(key: str) -> Node:
    return Node(PubKey(key), key[:4], "repeater", None, None, 0, 0, 1)


def _flags(snap: Snapshot, hex_: str) -> tuple[bool, bool]:
    i = next(i for i in range(len(snap.hop_hex)) if snap.hop_hex[i] == hex_)
    return bool(snap.hop_in_trace[i]), bool(snap.hop_in_other[i])


def _store() -> PacketStore:
    store = PacketStore()
    store.append(
        StoreBatch(
            transmissions=[_tx(1, PayloadType.TRACE), _tx(2, PayloadType.TXT_MSG)],
            observations=obs_batch([_obs(10, 1, b"\xaa\xbb\xcc\xdd"), _obs(11, 2, b"\x12\x34")]),
            observers=[ObserverRow(1, Observer(ObserverId("OBS1"), "o", "SEA", 0, 0))],
            nodes=[_node(KEY_A), _node(KEY_B)],
        )
    )
    return store


def test_marks_trace_and_other_paths_per_hop() -> None:
    snap = _store().snapshot()
    assert _flags(snap, "AABB") == (True, False)
    assert _flags(snap, "CCDD") == (True, False)
    assert _flags(snap, "1234") == (False, True)
    assert not snap.hop_in_trace.flags.writeable


def test_later_appends_never_change_an_earlier_snapshot() -> None:
    store = _store()
    before = store.snapshot()
    store.append(StoreBatch(observations=obs_batch([_obs(12, 2, b"\xcc\xdd\x56\x78")])))
    after = store.snapshot()
    assert _flags(before, "CCDD") == (True, False)  # the old generation keeps its view
    assert _flags(after, "CCDD") == (True, True)
    assert _flags(after, "5678") == (False, True)
    assert len(after.hop_in_other) == len(after.hop_hex) == 4
    assert len(before.hop_in_other) == len(before.hop_hex) == 3


def test_an_append_that_marks_nothing_new_keeps_the_arrays() -> None:
    store = _store()
    before = store.snapshot()
    store.append(StoreBatch(observations=obs_batch([_obs(13, 2, b"\x12\x34")])))
    assert store.snapshot().hop_in_other is before.hop_in_other


@pytest.mark.parametrize("relayed_in_text", [False, True])
def test_trace_only_prefixes_make_no_suspect(relayed_in_text: bool) -> None:
    store = _store()
    if relayed_in_text:
        store.append(StoreBatch(observations=obs_batch([_obs(14, 2, b"\xaa\xbb")])))
    snap = dataclasses.replace(store.snapshot(), derived={})
    suspects = path_suspects(snap)
    assert suspects.get("ccdd") is None  # only a TRACE held CCDD here
    assert suspects.get("aabb") == (2 if relayed_in_text else None)


def test_empty_store_has_empty_usage() -> None:
    snap = PacketStore().snapshot()
    assert snap.hop_in_trace.shape == snap.hop_in_other.shape == (0,)
    assert path_suspects(snap) == {}


def test_a_prune_recounts_from_the_kept_rows() -> None:
    store = _store()
    store.append(StoreBatch(observations=obs_batch([_obs(12, 2, b"\xcc\xdd\x56\x78")])))
    before = store.snapshot()
    store.prune(np.array([True, False]))  # retention drops the text message
    after = store.snapshot()
    assert _flags(after, "CCDD") == (True, False)  # only the TRACE holds it again
    assert _flags(after, "1234") == (False, False)
    assert _flags(before, "CCDD") == (True, True)  # handed-out snapshots keep theirs
    assert path_suspects(dataclasses.replace(after, derived={})).get("ccdd") is None
    store.append(StoreBatch(observations=obs_batch([_obs(13, 1, b"\x12\x34")])))
    assert _flags(store.snapshot(), "1234") == (True, False)


def test_rows_appended_while_a_prune_was_prepared_are_marked() -> None:
    store = _store()
    prepared = prepare(store.snapshot(), np.array([True, False]))
    store.append(StoreBatch(observations=obs_batch([_obs(12, 1, b"\x56\x78")])))
    store.apply_prune(prepared)
    snap = store.snapshot()
    assert _flags(snap, "5678") == (True, False)
    assert _flags(snap, "1234") == (False, False)
