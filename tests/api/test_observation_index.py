"""The observation index starts again when retention rebuilds the store's columns."""

from __future__ import annotations

import numpy as np

from meshlens.api.resources.index import ObservationIndex
from meshlens.store.batch import ObservationRow, StoreBatch, TxRow, obs_batch
from meshlens.store.store import PacketStore
from tests.store.test_store import _observer


def _append(store: PacketStore, tx_ids: range, per_tx: int, first_obs: int) -> None:
    txs = [TxRow(t, f"{t:016x}", t, 1, 5, 0, 0, b"\x15") for t in tx_ids]
    rows = [
        ObservationRow(first_obs + k * per_tx + j, t, 1, t * 10 + j, None, None, 1, 0, 1, b"")
        for k, t in enumerate(tx_ids)
        for j in range(per_tx)
    ]
    store.append(StoreBatch(transmissions=txs, observations=obs_batch(rows)))


def test_rows_by_transmission_are_right_after_a_prune_and_regrowth() -> None:
    store = PacketStore()
    store.append(StoreBatch(observers=[_observer(1)]))
    _append(store, range(1, 41), 3, 1)
    index = ObservationIndex()
    snap = store.snapshot()
    assert [r.tolist() for r in index.rows_of(snap, [0, 39])] == [[0, 1, 2], [117, 118, 119]]
    keep = np.arange(len(snap.tx)) >= 30  # the 30 oldest go
    store.prune(keep)
    # Regrow past the old row count, so a row count alone could not tell the epochs apart.
    _append(store, range(41, 121), 2, 1000)
    grown = store.snapshot()
    assert len(grown.obs) > len(snap.obs)
    for tx_row in (0, 9, 10, 89):
        expected = np.flatnonzero(grown.obs.tx == tx_row).tolist()
        assert index.rows_of(grown, [tx_row])[0].tolist() == expected
    assert index.count_after(grown, 0) == len(grown.obs)
