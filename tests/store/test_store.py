"""The packet store: appends are atomic, snapshots never change, columns match a model."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from meshlens.records import Node, Observer, ObserverId, PubKey
from meshlens.store.batch import ObservationRow, ObserverRow, StoreBatch, TxRow, obs_batch
from meshlens.store.hops import HopTable
from meshlens.store.store import PacketStore


def _tx(db_id: int, ts: int = 1000, pubkey: str | None = None) -> TxRow:
    return TxRow(
        db_id=db_id,
        content_hash=f"{db_id:016x}",
        first_seen_ms=ts,
        route_type=1,
        payload_type=4 if pubkey else 5,
        payload_version=0,
        path_byte=0,
        raw=bytes([db_id % 256, 0]),
        from_pubkey=pubkey,
    )


def _obs(
    db_id: int, tx_db_id: int, path: bytes = b"", ts: int = 1000, observer: int = 1, width: int = 1
) -> ObservationRow:
    return ObservationRow(
        db_id=db_id,
        tx_db_id=tx_db_id,
        observer_rowid=observer,
        ts_ms=ts,
        snr_db=5.5,
        rssi_dbm=None,
        direction=1,
        path_byte=len(path) // width,
        hop_width=width,
        path=path,
    )


def _observer(rowid: int, name: str = "obs") -> ObserverRow:
    return ObserverRow(rowid, Observer(ObserverId(f"OBS{rowid}"), name, "SEA", 0, 0))


def test_empty_store_snapshot_has_no_rows() -> None:
    snap = PacketStore().snapshot()
    assert snap.generation == 0
    assert len(snap.tx) == 0 and len(snap.obs) == 0


def test_append_then_read_back_paths_and_identity() -> None:
    store = PacketStore()
    gen = store.append(
        StoreBatch(
            transmissions=[_tx(1), _tx(2)],
            observations=obs_batch(
                [_obs(10, 1, b"\xaa\xbb"), _obs(11, 2, b"\x12\x34\x56", width=3), _obs(12, 1)]
            ),
            observers=[_observer(1)],
        )
    )
    snap = store.snapshot()
    assert gen == 1 == snap.generation
    assert snap.path(0) == ("AA", "BB")
    assert snap.path(1) == ("123456",)
    assert snap.path(2) == ()
    assert snap.content_hash(1) == "0000000000000002"
    assert snap.tx_row("0000000000000002") == 1
    assert snap.tx_row("zz") is None
    assert list(snap.obs.tx) == [0, 1, 0]
    assert list(snap.tx.obs_count) == [2, 1]
    assert snap.observers[0].name == "obs" and list(snap.obs.observer) == [0, 0, 0]
    assert math.isnan(float(snap.obs.rssi_dbm[0])) and float(snap.obs.snr_db[0]) == 5.5
    assert snap.raw_frame(1) == bytes([2, 0])


def test_best_observation_is_longest_path_and_earliest_on_ties() -> None:
    store = PacketStore()
    store.append(
        StoreBatch(
            transmissions=[_tx(1)],
            observations=obs_batch([_obs(1, 1, b"\x01"), _obs(2, 1, b"\x02")]),
            observers=[_observer(1)],
        )
    )
    assert int(store.snapshot().tx.best_obs[0]) == 0
    store.append(StoreBatch(observations=obs_batch([_obs(3, 1, b"\x03\x04"), _obs(4, 1, b"\x05")])))
    assert int(store.snapshot().tx.best_obs[0]) == 2


def test_first_and_last_seen_follow_observations() -> None:
    store = PacketStore()
    store.append(
        StoreBatch(
            transmissions=[_tx(1, ts=5000)],
            observations=obs_batch([_obs(1, 1, ts=5000), _obs(2, 1, ts=7000)]),
            observers=[_observer(1)],
        )
    )
    store.append(StoreBatch(observations=obs_batch([_obs(3, 1, ts=4000)])))
    snap = store.snapshot()
    assert int(snap.tx.first_seen_ms[0]) == 4000
    assert int(snap.tx.last_seen_ms[0]) == 7000


def test_snapshot_never_changes_after_later_appends() -> None:
    store = PacketStore()
    store.append(
        StoreBatch(
            transmissions=[_tx(1)],
            observations=obs_batch([_obs(1, 1, b"\x01")]),
            observers=[_observer(1)],
            nodes=[_node("aa", "first")],
        )
    )
    old = store.snapshot()
    before = (old.tx.obs_count.copy(), old.tx.best_obs.copy(), old.nodes)
    for i in range(2, 600):  # enough to force column growth
        store.append(
            StoreBatch(
                transmissions=[_tx(i)],
                observations=obs_batch([_obs(i, i, b"\x02\x03"), _obs(10_000 + i, 1, b"\x04\x05")]),
                nodes=[_node("aa", f"renamed{i}")],
            )
        )
    assert len(old.tx) == 1 and len(old.obs) == 1
    assert list(old.tx.obs_count) == list(before[0]) == [1]
    assert list(old.tx.best_obs) == list(before[1])
    assert old.nodes == before[2] and old.nodes[0].name == "first"
    assert old.tx_row(f"{2:016x}") is None
    assert old.node("aa") is not None and old.node("bb") is None
    assert not old.obs.tx.flags.writeable
    assert store.snapshot().tx.obs_count[0] == 599


def test_observations_for_unknown_transmission_are_refused() -> None:
    store = PacketStore()
    try:
        store.append(StoreBatch(observations=obs_batch([_obs(1, 99)])))
    except ValueError as err:
        assert "unknown transmissions" in str(err)
    else:  # pragma: no cover
        raise AssertionError("expected ValueError")
    assert store.generation == 0


def _node(pk: str, name: str) -> Node:
    return Node(PubKey(pk), name, "repeater", None, None, 0, 0, 1)


def test_hop_table_interns_each_distinct_hop_once() -> None:
    table = HopTable()
    ids, lens = table.intern_paths(
        [b"\xaa\xbb\xaa", b"\xaa\xbb", b"\x00\x00\x00\x00"],
        np.array([1, 2, 4], np.uint8),
    )
    assert list(lens) == [3, 1, 1]
    hexes = [table.bounded()[int(i)] for i in ids]
    assert hexes == ["AA", "BB", "AA", "AABB", "00000000"]
    assert ids[0] == ids[2]
    assert len(table) == 4


@dataclass
class _ModelObs:
    tx: int
    path: bytes
    ts: int


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.lists(
            st.tuples(
                st.integers(0, 5),  # which transmission (creating it if new)
                st.binary(max_size=6),
                st.integers(0, 10_000),
            ),
            max_size=8,
        ),
        max_size=6,
    )
)
def test_store_matches_a_list_model(batches: list[list[tuple[int, bytes, int]]]) -> None:
    store = PacketStore()
    store.append(StoreBatch(observers=[_observer(1)]))
    model: list[_ModelObs] = []
    known: list[int] = []
    next_obs = 1
    for batch in batches:
        new_tx: list[TxRow] = []
        rows = []
        for tx_key, path, ts in batch:
            if tx_key not in known and tx_key not in [t.db_id - 1 for t in new_tx]:
                new_tx.append(_tx(tx_key + 1, ts))
            rows.append(_obs(next_obs, tx_key + 1, path, ts))
            next_obs += 1
        new_tx.sort(key=lambda t: t.db_id)
        if new_tx and known and new_tx[0].db_id - 1 < max(known):
            continue  # transmissions arrive in id order, as the database assigns them
        known.extend(t.db_id - 1 for t in new_tx)
        store.append(StoreBatch(transmissions=new_tx, observations=obs_batch(rows)))
        model.extend(_ModelObs(tx_key, path, ts) for tx_key, path, ts in batch)
    snap = store.snapshot()
    assert len(snap.obs) == len(model)
    tx_keys = [int(snap.tx.db_id[int(r)]) - 1 for r in snap.obs.tx]
    assert tx_keys == [m.tx for m in model]
    for i, m in enumerate(model):
        assert snap.path(i) == tuple(f"{b:02X}" for b in m.path)
    for row in range(len(snap.tx)):
        key = int(snap.tx.db_id[row]) - 1
        mine = [i for i, m in enumerate(model) if m.tx == key]
        assert int(snap.tx.obs_count[row]) == len(mine)
        if mine:
            best = max(mine, key=lambda i: (len(model[i].path), -i))
            assert int(snap.tx.best_obs[row]) == best
            assert int(snap.tx.last_seen_ms[row]) == max(model[i].ts for i in mine)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.integers(0, (1 << 64) - 1), max_size=200), max_size=12))
def test_hash_index_finds_every_key_and_respects_reader_bounds(batches: list[list[int]]) -> None:
    from meshlens.store.columns import HashIndex

    index = HashIndex()
    seen: dict[int, int] = {}
    views = []
    for batch in batches:
        fresh = [k for k in dict.fromkeys(batch) if k not in seen]
        rows = np.arange(len(seen), len(seen) + len(fresh), dtype=np.int64)
        index.extend(np.array(fresh, np.uint64), rows)
        seen.update(zip(fresh, rows.tolist(), strict=True))
        views.append((index.bounded(len(seen)), dict(seen)))
    for key, row in seen.items():
        assert index.get(key) == row
    assert index.get(12345678901234567) == seen.get(12345678901234567)
    asked = [*seen, 12345678901234567, 0, (1 << 64) - 1]
    assert index.get_many(asked) == [seen.get(k, -1) for k in asked]
    for view, known in views:
        for key, row in seen.items():
            assert view.get(key) == (row if key in known else None)


def test_hop_column_widens_past_65536_distinct_hops_and_old_snapshots_stay_valid() -> None:
    store = PacketStore()
    store.append(
        StoreBatch(
            transmissions=[_tx(1)],
            observations=obs_batch([_obs(1, 1, b"\x01\x02\x03", width=3)]),
            observers=[_observer(1)],
        )
    )
    before = store.snapshot()
    assert before.hops.dtype == np.uint16
    rows = []
    value = 0
    for i in range(3300):  # 3300 paths x 21 distinct 3-byte hops = 69,300 hops
        path = b"".join((value + k).to_bytes(3, "big") for k in range(21))
        value += 21
        rows.append(_obs(10 + i, 1, path, width=3))
    store.append(StoreBatch(observations=obs_batch(rows)))
    after = store.snapshot()
    assert after.hops.dtype == np.int32
    assert after.path(1)[:2] == ("000000", "000001")
    assert after.path(3300)[-1] == f"{3300 * 21 - 1:06X}"
    assert before.hops.dtype == np.uint16 and before.path(0) == ("010203",)
