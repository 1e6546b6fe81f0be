"""Channel labels of the transmissions (api-resources §11-§12), grown with the store.

A transmission's label depends on its own immutable columns alone (payload type,
decryption, channel key label, channel hash byte), so a new generation labels only its
new transmissions; a label not seen before (a new channel) relabels everything, because
labels are numbered in sorted order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from meshlens.store.batch import DECRYPTION_DECRYPTED
from meshlens.store.snapshot import Snapshot

I64 = npt.NDArray[np.int64]
GRP_TXT = 5
Labels = tuple[I64, list[str], int]


@dataclass(frozen=True, slots=True)
class _Grown:
    epoch: int  # the store's column epoch (retention renumbers rows)
    n_tx: int
    last_db_id: int  # db_id of row n_tx - 1: the same store, not a rebuilt one
    labels: Labels
    decrypted: dict[int, int]  # channel string id -> label
    sealed: dict[int, int]  # channel hash byte -> label


def _kinds(snap: Snapshot, start: int, stop: int) -> tuple[I64, I64, I64, I64]:
    """Rows (relative) and keys of decrypted and of sealed GRP_TXT among [start, stop)."""
    tx = snap.tx
    grp = tx.payload_type[start:stop] == GRP_TXT
    channel = tx.channel[start:stop]
    decrypted = grp & (tx.decryption[start:stop] == DECRYPTION_DECRYPTED) & (channel >= 0)
    hash_byte = tx.channel_hash[start:stop]
    sealed = grp & ~decrypted & (hash_byte >= 0)
    dec_rows, seal_rows = np.flatnonzero(decrypted), np.flatnonzero(sealed)
    return (
        dec_rows,
        channel[dec_rows].astype(np.int64),
        seal_rows,
        hash_byte[seal_rows].astype(np.int64),
    )


def _build(snap: Snapshot) -> _Grown:
    """Every transmission's label: decrypted channels first, then `enc_<HASH BYTE>` ones."""
    n = len(snap.tx)
    label = np.full(n, -1, np.int64)
    dec_rows, dec_keys, seal_rows, seal_keys = _kinds(snap, 0, n)
    ids, inverse = np.unique(dec_keys, return_inverse=True)
    names = [snap.strings[sid] for sid in ids.tolist()]
    label[dec_rows] = inverse
    n_decrypted = len(names)
    bytes_, inv = np.unique(seal_keys, return_inverse=True)
    label[seal_rows] = inv + n_decrypted
    names += [f"enc_{b:02X}" for b in bytes_.tolist()]
    last = int(snap.tx.db_id[n - 1]) if n else 0
    return _Grown(
        snap.epoch, n, last, (label, names, n_decrypted),
        {sid: i for i, sid in enumerate(ids.tolist())},
        {b: i + n_decrypted for i, b in enumerate(bytes_.tolist())},
    )  # fmt: skip


def _grow(snap: Snapshot, old: _Grown) -> _Grown | None:
    """`old` extended over the new transmissions; None when one brings a new label."""
    n = len(snap.tx)
    dec_rows, dec_keys, seal_rows, seal_keys = _kinds(snap, old.n_tx, n)
    dec = [old.decrypted.get(k, -1) for k in dec_keys.tolist()]
    seal = [old.sealed.get(k, -1) for k in seal_keys.tolist()]
    if -1 in dec or -1 in seal:
        return None
    part = np.full(n - old.n_tx, -1, np.int64)
    part[dec_rows] = np.array(dec, np.int64)
    part[seal_rows] = np.array(seal, np.int64)
    label = np.concatenate([old.labels[0], part])
    return _Grown(old.epoch, n, int(snap.tx.db_id[n - 1]), (label, *old.labels[1:]),
                  old.decrypted, old.sealed)  # fmt: skip


class ChannelLabels:
    """The labels of the newest snapshot asked for, grown per generation (event loop only)."""

    def __init__(self) -> None:
        self._grown: _Grown | None = None

    def of(self, snap: Snapshot) -> Labels:
        """(label index per transmission or -1, label names, how many are decrypted)."""
        return snap.memo("resources:channel_labels", lambda: self._labels(snap))

    def _labels(self, snap: Snapshot) -> Labels:
        n = len(snap.tx)
        old = self._grown
        same = (
            old is not None
            and old.epoch == snap.epoch
            and old.n_tx <= n
            and (old.n_tx == 0 or int(snap.tx.db_id[old.n_tx - 1]) == old.last_db_id)
        )
        if old is not None and same:
            grown = old if old.n_tx == n else _grow(snap, old)
            if grown is not None:
                self._grown = grown
                return grown.labels
        built = _build(snap)
        older = old is not None and (
            snap.epoch < old.epoch or (snap.epoch == old.epoch and n < old.n_tx)
        )
        if not older:  # an older pinned snapshot's labels are not kept
            self._grown = built
        return built.labels
