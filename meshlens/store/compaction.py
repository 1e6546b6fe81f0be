"""Retention's half of the store: new columns without the pruned transmissions (pure).

The store is append-only, so pruning cannot delete in place: readers hold prefixes of the
live buffers. Instead the kept rows are gathered into fresh arrays and the store swaps
them in (DESIGN invariant 2). Row numbers change, so every column that holds a row number
(observation -> transmission, best observation, raw and hop offsets) is renumbered, and
the string table is rebuilt with only the strings kept rows still use.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from meshlens.store.snapshot import OBS_DTYPES, TX_DTYPES, Snapshot

# Transmission columns that hold an id of the store's string table (-1: none).
STRING_COLUMNS = ("from_key", "channel", "sender", "text", "scope")


@dataclass(frozen=True, slots=True)
class Compacted:
    """The kept rows of a snapshot, renumbered, as plain writable arrays."""

    tx: dict[str, npt.NDArray[Any]]
    obs: dict[str, npt.NDArray[Any]]
    hops: npt.NDArray[Any]
    raw: npt.NDArray[np.uint8]
    strings: list[str]  # the new string table, in id order


def gather_slices(
    data: npt.NDArray[Any], starts: npt.NDArray[Any], lengths: npt.NDArray[Any]
) -> tuple[npt.NDArray[Any], npt.NDArray[np.int64]]:
    """The slices data[start:start+length] back to back, and where each now starts."""
    lengths = lengths.astype(np.int64)
    new_starts = np.cumsum(lengths) - lengths
    total = int(lengths.sum())
    index = np.repeat(starts.astype(np.int64) - new_starts, lengths) + np.arange(total)
    return data[index], new_starts


def compact(snap: Snapshot, keep_tx: npt.NDArray[np.bool_]) -> Compacted:
    """The snapshot without the transmissions `keep_tx` leaves out, nor their observations."""
    if keep_tx.shape[0] != len(snap.tx):
        raise ValueError(f"keep mask has {keep_tx.shape[0]} rows, the store {len(snap.tx)}")
    tx_of = np.cumsum(keep_tx, dtype=np.int64) - 1  # old row -> new row where kept
    keep_obs = keep_tx[snap.obs.tx]
    obs_of = np.cumsum(keep_obs, dtype=np.int64) - 1
    tx = {name: np.array(getattr(snap.tx, name)[keep_tx]) for name in TX_DTYPES}
    raw, raw_off = gather_slices(snap.raw, tx["raw_off"], tx["raw_len"])
    tx["raw_off"] = raw_off
    best = tx["best_obs"]
    # Whole transmissions go, so a kept transmission's best observation is kept as well.
    tx["best_obs"] = np.where(best >= 0, obs_of[np.maximum(best, 0)], -1).astype(np.int32)
    strings = _renumber_strings(snap, tx)
    obs = {name: np.array(getattr(snap.obs, name)[keep_obs]) for name in OBS_DTYPES}
    obs["tx"] = tx_of[obs["tx"]].astype(np.int32)
    hops, path_off = gather_slices(snap.hops, obs["path_off"], obs["path_len"])
    obs["path_off"] = path_off.astype(np.int32)
    return Compacted(tx=tx, obs=obs, hops=hops, raw=raw, strings=strings)


def _renumber_strings(snap: Snapshot, tx: dict[str, npt.NDArray[Any]]) -> list[str]:
    """Keep only the strings kept rows refer to (message texts would otherwise pile up)."""
    ids = np.concatenate([tx[name] for name in STRING_COLUMNS]).astype(np.int64)
    used = np.unique(ids[ids >= 0])  # ascending, so kept strings keep their order
    new_id = np.full(len(snap.strings) + 1, -1, np.int64)  # the extra slot maps -1 to -1
    new_id[used] = np.arange(used.shape[0])
    for name in STRING_COLUMNS:
        tx[name] = new_id[tx[name]].astype(np.int32)
    return [snap.strings[i] for i in used.tolist()]
