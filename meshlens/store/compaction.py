"""Retention's half of the store: new columns without the pruned transmissions.

The store is append-only, so pruning cannot delete in place: readers hold prefixes of the
live buffers. Instead the kept rows are gathered into fresh columns and the store swaps
them in (DESIGN invariant 2). Row numbers change, so every column that holds a row number
(observation -> transmission, best observation, raw and hop offsets) is renumbered, the
string table is rebuilt with only the strings kept rows still use, and the link evidence
is folded again (its counts and latest times cannot be subtracted).

That work is O(store) and done by `prepare` on any thread from a snapshot; the store's
writer then only catches up the rows appended since (`PacketStore.apply_prune`), so
ingest waits for the tail, not for the whole rebuild.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from meshlens.store.columns import BoundedIntern, Column, HashIndex, InternTable
from meshlens.store.hops import HopUsage
from meshlens.store.links import LinkLog
from meshlens.store.sightings import TX_MUTABLE
from meshlens.store.snapshot import OBS_DTYPES, TX_DTYPES, Snapshot
from meshlens.wire import PayloadType

I64 = npt.NDArray[np.int64]

# Transmission columns that hold an id of the store's string table (-1: none).
STRING_COLUMNS = ("from_key", "channel", "sender", "text", "scope")


@dataclass(frozen=True, slots=True)
class PreparedPrune:
    """A snapshot's kept rows, compacted into new columns the writer has yet to swap in."""

    base_epoch: int
    base_tx: int  # transmission rows of the snapshot it was built from
    base_obs: int
    tx_of: I64  # snapshot transmission row -> new row, -1 when dropped
    obs_of: I64  # snapshot observation row -> new row, -1 when dropped
    tx: dict[str, Column]  # the columns not in TX_MUTABLE
    obs: dict[str, Column]
    hops: Column
    raw: Column
    strings: InternTable[str, str]
    by_hash: HashIndex
    links: LinkLog
    hop_usage: HopUsage
    dropped_db_ids: I64  # database ids of the dropped transmissions


def gather_slices(
    data: npt.NDArray[Any], starts: npt.NDArray[Any], lengths: npt.NDArray[Any]
) -> tuple[npt.NDArray[Any], I64]:
    """The slices data[start:start+length] back to back, and where each now starts."""
    lengths = lengths.astype(np.int64)
    new_starts = np.cumsum(lengths) - lengths
    total = int(lengths.sum())
    index = np.repeat(starts.astype(np.int64) - new_starts, lengths) + np.arange(total)
    return data[index], new_starts


def renumber(keep: npt.NDArray[np.bool_], offset: int = 0) -> I64:
    """Old row -> new row for the kept rows (from `offset`), -1 for the others."""
    return np.where(keep, np.cumsum(keep, dtype=np.int64) - 1 + offset, -1)


def prepare(snap: Snapshot, keep_tx: npt.NDArray[np.bool_]) -> PreparedPrune:
    """Compacted columns of `snap` without the transmissions `keep_tx` leaves out."""
    if keep_tx.shape[0] != len(snap.tx):
        raise ValueError(f"keep mask has {keep_tx.shape[0]} rows, the snapshot {len(snap.tx)}")
    tx_of = renumber(keep_tx)
    keep_obs = keep_tx[snap.obs.tx]
    obs_of = renumber(keep_obs)
    tx = {n: np.array(getattr(snap.tx, n)[keep_tx]) for n in TX_DTYPES if n not in TX_MUTABLE}
    raw, raw_off = gather_slices(snap.raw, tx["raw_off"], tx["raw_len"])
    tx["raw_off"] = raw_off
    strings = _renumber_strings(snap, tx)
    obs = {name: np.array(getattr(snap.obs, name)[keep_obs]) for name in OBS_DTYPES}
    obs["tx"] = tx_of[obs["tx"]].astype(np.int32)
    hops, path_off = gather_slices(snap.hops, obs["path_off"], obs["path_len"])
    obs["path_off"] = path_off.astype(np.int32)
    by_hash = HashIndex()
    n_tx = tx["hash"].shape[0]
    by_hash.extend(tx["hash"], np.arange(n_tx, dtype=np.int64))
    links = LinkLog()
    links.fold(
        from_key=tx["from_key"], payload_type=tx["payload_type"],
        tx_rows=obs["tx"].astype(np.int64), observer=obs["observer"], ts_ms=obs["ts_ms"],
        hop_ids=hops, path_len=obs["path_len"],
    )  # fmt: skip
    usage = HopUsage()
    trace = tx["payload_type"][obs["tx"]] == PayloadType.TRACE
    usage.add(hops, np.repeat(trace, obs["path_len"]), len(snap.hop_hex))
    return PreparedPrune(
        base_epoch=snap.epoch,
        base_tx=len(snap.tx),
        base_obs=len(snap.obs),
        tx_of=tx_of,
        obs_of=obs_of,
        tx={name: Column.of(values) for name, values in tx.items()},
        obs={name: Column.of(values) for name, values in obs.items()},
        hops=Column.of(hops),
        raw=Column.of(raw),
        strings=strings,
        by_hash=by_hash,
        links=links,
        hop_usage=usage,
        dropped_db_ids=np.array(snap.tx.db_id[~keep_tx]),
    )


def _renumber_strings(snap: Snapshot, tx: dict[str, npt.NDArray[Any]]) -> InternTable[str, str]:
    """Keep only the strings kept rows refer to (message texts would otherwise pile up)."""
    ids = np.concatenate([tx[name] for name in STRING_COLUMNS]).astype(np.int64)
    used = np.unique(ids[ids >= 0])  # ascending, so kept strings keep their order
    new_id = np.full(len(snap.strings) + 1, -1, np.int64)  # the extra slot maps -1 to -1
    new_id[used] = np.arange(used.shape[0])
    for name in STRING_COLUMNS:
        tx[name] = new_id[tx[name]].astype(np.int32)
    table: InternTable[str, str] = InternTable()
    for i in used.tolist():
        text = snap.strings[i]
        table.intern(text, text)
    return table


def append_tail_tx(
    p: PreparedPrune,
    tail: dict[str, npt.NDArray[Any]],
    raw: npt.NDArray[np.uint8],
    strings: BoundedIntern[str, str],
) -> None:
    """Transmissions appended since `p` was prepared (all kept), onto its columns."""
    tail = dict(tail)
    frames, raw_off = gather_slices(raw, tail["raw_off"], tail["raw_len"])
    tail["raw_off"] = raw_off + len(p.raw)
    p.raw.append(frames)
    for name in STRING_COLUMNS:  # by value: the new table numbers strings its own way
        ids = [
            -1 if i < 0 else p.strings.intern(strings[i], strings[i]) for i in tail[name].tolist()
        ]
        tail[name] = np.array(ids, np.int32)
    for name, values in tail.items():
        p.tx[name].append(values)


def append_tail_obs(
    p: PreparedPrune, tail: dict[str, npt.NDArray[Any]], hops: npt.NDArray[Any], tx_of: I64
) -> npt.NDArray[Any]:
    """Kept observations appended since `p` was prepared, onto its columns; their hops."""
    if tail["db_id"].shape[0] == 0:
        return np.empty(0, np.int64)
    tail = dict(tail)
    tail_hops, path_off = gather_slices(hops, tail["path_off"], tail["path_len"])
    if p.hops.dtype != hops.dtype:  # the live column widened meanwhile
        p.hops.widen(hops.dtype)
    tail["path_off"] = (path_off + len(p.hops)).astype(np.int32)
    tail["tx"] = tx_of[tail["tx"]].astype(np.int32)
    p.hops.append(tail_hops)
    for name, values in tail.items():
        p.obs[name].append(values)
    return tail_hops
