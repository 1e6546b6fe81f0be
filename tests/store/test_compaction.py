"""Pruning the store equals building it from the kept rows alone, and later appends still fit."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from meshlens.ingest.retention import select_expired
from meshlens.store.batch import ObservationRow, StoreBatch, TxRow, obs_batch
from meshlens.store.compaction import prepare
from meshlens.store.snapshot import OBS_DTYPES, TX_DTYPES, Snapshot
from meshlens.store.store import PacketStore
from tests.store.test_links import _recount, _table
from tests.store.test_store import _observer

STRING_COLUMNS = ("from_key", "channel", "sender", "text", "scope")

# One transmission: its observations as (observer rowid, path, hop width, time).
Obs = tuple[int, bytes, int, int]
TxSpec = tuple[int, list[Obs]]  # (kind, observations)


def _tx_row(db_id: int, kind: int, first_ms: int) -> TxRow:
    advert = kind == 0
    return TxRow(
        db_id=db_id,
        content_hash=f"{db_id * 7919:016x}",
        first_seen_ms=first_ms,
        route_type=1,
        payload_type=4 if advert else 5,
        payload_version=0,
        path_byte=0,
        raw=bytes([db_id % 256]) * (1 + db_id % 5),
        from_pubkey=f"{db_id % 3:064x}" if advert else None,
        channel=None if advert else f"#chan{kind}",
        text=None if advert else f"message {db_id}",
        sender=None if advert else f"sender {db_id % 4}",
    )


def _rows(specs: list[TxSpec], keep: list[bool] | None) -> list[tuple[TxRow, list[ObservationRow]]]:
    """The specs' transmissions with their observations (only the kept ones if `keep`)."""
    rows: list[tuple[TxRow, list[ObservationRow]]] = []
    next_obs = 1
    for i, (kind, sightings) in enumerate(specs):
        tx_id = i + 1
        obs = []
        for observer, path, width, ts in sightings:
            obs.append(ObservationRow(next_obs, tx_id, observer, ts, 1.5, None, 1,
                                      len(path) // width, width, path))  # fmt: skip
            next_obs += 1
        if keep is None or keep[i]:
            first = min((o.ts_ms for o in obs), default=0)
            rows.append((_tx_row(tx_id, kind, first), obs))
    return rows


def _append(store: PacketStore, rows: list[tuple[TxRow, list[ObservationRow]]]) -> None:
    store.append(
        StoreBatch(
            transmissions=[t for t, _ in rows],
            observations=obs_batch([o for _, obs in rows for o in obs]),
        )
    )


def _build(specs: list[TxSpec], keep: list[bool] | None, batches: int) -> PacketStore:
    """A store of the specs' transmissions (only the kept ones when `keep` is given)."""
    store = PacketStore()
    store.append(StoreBatch(observers=[_observer(1), _observer(2), _observer(3)]))
    rows = _rows(specs, keep)
    size = max(1, -(-len(rows) // batches))
    for start in range(0, len(rows), size):
        _append(store, rows[start : start + size])
    return store


def _assert_same(pruned: Snapshot, fresh: Snapshot) -> None:
    """Two snapshots hold the same rows (ids of interned values may differ)."""
    for name in TX_DTYPES:
        a, b = getattr(pruned.tx, name), getattr(fresh.tx, name)
        if name in STRING_COLUMNS:
            assert [pruned.string(int(i)) for i in a] == [fresh.string(int(i)) for i in b], name
        else:
            np.testing.assert_array_equal(a, b, err_msg=name)
    for name in OBS_DTYPES:
        np.testing.assert_array_equal(
            getattr(pruned.obs, name), getattr(fresh.obs, name), err_msg=name
        )
    assert [pruned.path(i) for i in range(len(pruned.obs))] == [
        fresh.path(i) for i in range(len(fresh.obs))
    ]
    assert [pruned.raw_frame(i) for i in range(len(pruned.tx))] == [
        fresh.raw_frame(i) for i in range(len(fresh.tx))
    ]
    for row in range(len(pruned.tx)):
        assert pruned.tx_row(pruned.content_hash(row)) == row
    # Link evidence, refolded, matches a recount over the kept observations.
    assert tuple(_table(t) for t in pruned.links.merged()) == _recount(pruned)


observation = st.tuples(
    st.integers(1, 3),
    st.binary(max_size=6),
    st.sampled_from([1, 2]),
    st.integers(0, 10 * 86_400_000),
)
specs_strategy = st.lists(
    st.tuples(st.integers(0, 2), st.lists(observation, max_size=4)), min_size=1, max_size=25
)


@settings(max_examples=80, deadline=None)
@given(specs_strategy, st.integers(0, 11 * 86_400_000), st.integers(1, 4))
def test_pruning_equals_building_from_the_kept_rows(
    specs: list[TxSpec], cutoff_ms: int, batches: int
) -> None:
    store = _build(specs, None, batches)
    before = store.snapshot()
    drop = select_expired(before, cutoff_ms=cutoff_ms, excess_fraction=0.0)
    # Rows with no observation have last_seen = first_seen = 0: older than any cutoff > 0.
    assert drop.tolist() == (before.tx.last_seen_ms < cutoff_ms).tolist()
    generation = store.prune(~drop)
    after = store.snapshot()
    fresh = _build(specs, (~drop).tolist(), batches).snapshot()
    _assert_same(after, fresh)
    if drop.any():
        assert generation == after.generation > before.generation
        assert after.epoch == before.epoch + 1
        gone = [before.content_hash(int(r)) for r in np.flatnonzero(drop)]
        assert all(after.tx_row(h) is None for h in gone)
        assert len(set(after.strings)) == len(after.strings)
    else:
        assert after is before  # nothing to drop: no swap, no recompute
    # The snapshot taken before the prune still reads its own rows.
    assert len(before.tx) == len(specs)
    assert all(before.tx_row(before.content_hash(r)) == r for r in range(len(before.tx)))


@settings(max_examples=40, deadline=None)
@given(specs_strategy, st.integers(0, 11 * 86_400_000))
def test_appends_after_a_prune_land_on_the_compacted_columns(
    specs: list[TxSpec], cutoff_ms: int
) -> None:
    store = _build(specs, None, 2)
    snap = store.snapshot()
    drop = select_expired(snap, cutoff_ms=cutoff_ms, excess_fraction=0.0)
    store.prune(~drop)
    kept = store.snapshot()
    new_id = len(specs) + 1
    rows = [ObservationRow(10_000, new_id, 2, 5, 2.0, None, 1, 2, 1, b"\xab\xcd")]
    if len(kept.tx):  # a late sighting of a kept transmission, over a longer path
        old_id = int(kept.tx.db_id[0])
        longest = bytes(range(1, 8))  # longer than any generated path, so it becomes the best
        rows.append(ObservationRow(10_001, old_id, 3, 7, 3.0, None, 1, 7, 1, longest))
    store.append(StoreBatch(transmissions=[_tx_row(new_id, 1, 5)], observations=obs_batch(rows)))
    final = store.snapshot()
    row = final.tx_row(f"{new_id * 7919:016x}")
    assert row == len(kept.tx)
    assert final.path(len(kept.obs)) == ("AB", "CD")
    if len(kept.tx):
        assert int(final.tx.obs_count[0]) == int(kept.tx.obs_count[0]) + 1
        assert final.path(int(final.tx.best_obs[0])) == tuple(f"{i:02X}" for i in range(1, 8))
    assert tuple(_table(t) for t in final.links.merged()) == _recount(final)
    assert final.epoch == kept.epoch


def test_size_selection_takes_the_oldest_until_the_share_is_met() -> None:
    specs: list[TxSpec] = [(1, [(1, b"", 1, day * 86_400_000)] * 3) for day in range(10)]
    snap = _build(specs, None, 1).snapshot()
    drop = select_expired(snap, cutoff_ms=None, excess_fraction=0.35)
    assert drop.tolist() == [True] * 4 + [False] * 6  # 4 x 4 of 40 weight >= 35%
    both = select_expired(snap, cutoff_ms=2 * 86_400_000, excess_fraction=0.1)
    assert both.tolist() == [True] * 2 + [False] * 8  # the cutoff alone already frees 20%


@settings(max_examples=60, deadline=None)
@given(specs_strategy, st.integers(0, 11 * 86_400_000), st.integers(0, 25))
def test_rows_appended_between_prepare_and_apply_are_carried_over(
    specs: list[TxSpec], cutoff_ms: int, split: int
) -> None:
    """Retention prepares off the writer; what ingest appends meanwhile must survive."""
    split = min(split, len(specs))
    store = PacketStore()
    store.append(StoreBatch(observers=[_observer(1), _observer(2), _observer(3)]))
    rows = _rows(specs, None)
    _append(store, rows[:split])
    base = store.snapshot()
    drop = select_expired(base, cutoff_ms=cutoff_ms, excess_fraction=0.0)
    prepared = prepare(base, ~drop)
    _append(store, rows[split:])  # new transmissions arrive meanwhile
    store.apply_prune(prepared)
    keep = [*(~drop).tolist(), *([True] * (len(specs) - split))]
    fresh = PacketStore()
    fresh.append(StoreBatch(observers=[_observer(1), _observer(2), _observer(3)]))
    kept_rows = _rows(specs, keep)
    n_base = int((~drop).sum())
    _append(fresh, kept_rows[:n_base])
    _append(fresh, kept_rows[n_base:])
    _assert_same(store.snapshot(), fresh.snapshot())


def test_late_sightings_of_kept_and_dropped_transmissions_during_a_prepare() -> None:
    specs: list[TxSpec] = [(i % 3, [(1, bytes([i]), 1, i * 86_400_000)]) for i in range(6)]
    store = _build(specs, None, 1)
    base = store.snapshot()
    drop = select_expired(base, cutoff_ms=3 * 86_400_000, excess_fraction=0.0)
    prepared = prepare(base, ~drop)
    late = [  # one more sighting of a dropped (id 1) and of a kept (id 5) transmission
        ObservationRow(100, 1, 2, 9, None, None, 1, 3, 1, b"\x07\x08\x09"),
        ObservationRow(101, 5, 2, 9, None, None, 1, 3, 1, b"\x07\x08\x09"),
    ]
    store.append(StoreBatch(observations=obs_batch(late)))
    store.apply_prune(prepared)
    snap = store.snapshot()
    assert snap.tx.db_id.tolist() == [4, 5, 6]
    assert snap.obs.db_id.tolist() == [4, 5, 6, 101]  # 100 went with its transmission
    assert snap.tx.obs_count.tolist() == [1, 2, 1]
    assert snap.path(int(snap.tx.best_obs[1])) == ("07", "08", "09")
    assert tuple(_table(t) for t in snap.links.merged()) == _recount(snap)
