"""Link evidence kept at append equals a recount over the snapshot, however batches fall."""

from __future__ import annotations

from collections import defaultdict

from hypothesis import given, settings
from hypothesis import strategies as st

from meshlens.store.batch import ObservationRow, StoreBatch, TxRow, obs_batch
from meshlens.store.links import LinkTable
from meshlens.store.snapshot import Snapshot
from meshlens.store.store import PacketStore
from tests.store.test_store import _observer

Key = tuple[int, int, int]


def _table(t: LinkTable) -> dict[Key, tuple[int, int]]:
    return {
        (x, h, o): (n, last)
        for x, h, o, n, last in zip(
            t.x.tolist(), t.hop.tolist(), t.observer.tolist(), t.count.tolist(),
            t.last_ms.tolist(), strict=True,
        )
    }  # fmt: skip


def _recount(snap: Snapshot) -> tuple[dict[Key, tuple[int, int]], ...]:
    tables: tuple[dict[Key, list[int]], ...] = (defaultdict(list), defaultdict(list),
                                                defaultdict(list))  # fmt: skip
    for i in range(len(snap.obs)):
        tx = int(snap.obs.tx[i])
        obs = int(snap.obs.observer[i])
        ts = int(snap.obs.ts_ms[i])
        off, n = int(snap.obs.path_off[i]), int(snap.obs.path_len[i])
        origin = int(snap.tx.from_key[tx]) if snap.tx.payload_type[tx] == 4 else -1
        if n == 0 and origin >= 0:
            tables[0][(origin, -1, obs)].append(ts)
        if n and origin >= 0:
            tables[1][(origin, int(snap.hops[off]), obs)].append(ts)
        if n:
            tables[2][(obs, int(snap.hops[off + n - 1]), obs)].append(ts)
    return tuple({k: (len(v), max(v)) for k, v in t.items()} for t in tables)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.lists(
            st.tuples(
                st.integers(0, 3),  # transmission; even ones are adverts
                st.integers(1, 2),  # observer rowid
                st.binary(max_size=4),
                st.integers(0, 1000),
            ),
            max_size=10,
        ),
        max_size=8,
    )
)
def test_links_match_a_recount(batches: list[list[tuple[int, int, bytes, int]]]) -> None:
    store = PacketStore()
    store.append(StoreBatch(observers=[_observer(1), _observer(2)]))
    known: set[int] = set()
    next_obs = 1
    snaps: list[tuple[Snapshot, tuple[dict[Key, tuple[int, int]], ...]]] = []
    for batch in batches:
        new = sorted({t for t, *_ in batch} - known)
        if new and known and new[0] < max(known):
            continue  # transmissions arrive in id order
        txs = [TxRow(t + 1, f"{t + 1:016x}", 0, 1, 4 if t % 2 == 0 else 2, 1, 0, b"\x00",
                     from_pubkey=f"{t:064x}" if t % 2 == 0 else None) for t in new]  # fmt: skip
        known |= set(new)
        rows = []
        for t, observer, path, ts in batch:
            rows.append(ObservationRow(next_obs, t + 1, observer, ts, None, None, 1, len(path),
                                       1, path))  # fmt: skip
            next_obs += 1
        store.append(StoreBatch(transmissions=txs, observations=obs_batch(rows)))
        snap = store.snapshot()
        got = tuple(_table(t) for t in snap.links.merged())
        assert got == _recount(snap)
        snaps.append((snap, got))
    for snap, seen in snaps:  # later appends never change what an older snapshot sees
        assert tuple(_table(t) for t in snap.links.merged()) == seen
