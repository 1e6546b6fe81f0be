"""The in-memory packet store: numpy columns with one writer and lock-free readers.

`append(batch)` is called by one thread (the pipeline, or the loader before serving);
`snapshot()` from any thread. Each append builds the next Snapshot completely and then
publishes it with one reference assignment, so readers never see a half-applied batch.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from meshlens.records import Observer
from meshlens.store.batch import ObsBatch, ObserverRow, StoreBatch, TxRow, resolve_tx_rows
from meshlens.store.columns import Column, HashIndex, InternTable, frozen
from meshlens.store.compaction import (
    PreparedPrune,
    append_tail_obs,
    append_tail_tx,
    prepare,
    renumber,
)
from meshlens.store.directory import NodeDirectory, ObserverDirectory
from meshlens.store.hops import HopTable, HopUsage
from meshlens.store.links import LinkLog
from meshlens.store.sightings import TX_MUTABLE, fold_sightings, grown, new_rows
from meshlens.store.snapshot import (
    OBS_DTYPES,
    TX_DTYPES,
    ObsColumns,
    Snapshot,
    TxColumns,
)
from meshlens.wire import PayloadType


@dataclass(frozen=True, slots=True)
class LoadProgress:
    """How far the initial load from the database has come."""

    loading: bool
    transmissions_loaded: int
    observations_loaded: int
    observations_total: int

    @property
    def fraction(self) -> float:
        """Share of observations loaded, 0..1 (1 when there is nothing to load)."""
        if self.observations_total <= 0:
            return 0.0 if self.loading else 1.0
        return min(1.0, self.observations_loaded / self.observations_total)


class StoreListener(Protocol):
    """Told of every change, in order, by the writer (a compute replica follows the store)."""

    def appended(self, batch: StoreBatch) -> None:
        """`batch` is about to be applied (called with `write_lock` held)."""
        ...

    def pruned(self) -> None:
        """The columns were replaced by compacted ones (called with `write_lock` held)."""
        ...


class PacketStore:
    """Owner of the columns. One thread appends; any thread takes snapshots."""

    def __init__(self) -> None:
        self._tx = {name: Column(dt) for name, dt in TX_DTYPES.items() if name not in TX_MUTABLE}
        self._tx_mut: dict[str, npt.NDArray[Any]] = {
            name: np.empty(0, TX_DTYPES[name]) for name in TX_MUTABLE
        }
        self._obs = {name: Column(dt) for name, dt in OBS_DTYPES.items()}
        # Hop ids fit 16 bits on real meshes (~1,100 distinct at the staging profile); the
        # column widens to int32 the first time they do not. 27 MB saved at staging.
        self._hops = Column(np.uint16)
        self._hop_table = HopTable()
        self._hop_usage = HopUsage()
        self._links = LinkLog()
        self._raw = Column(np.uint8, 1 << 16)
        self._strings: InternTable[str, str] = InternTable()
        self._tx_by_hash = HashIndex()
        self._nodes = NodeDirectory()
        self._observers = ObserverDirectory()
        self._generation = 0
        self._epoch = 0
        self._progress = LoadProgress(False, 0, 0, 0)
        self._snapshot = Snapshot(generation=0)
        # Held by the writer for each change and its listener call: whoever copies the
        # store (a replica's fork) takes it, so every change is either in the copy or told.
        self.write_lock = threading.Lock()
        self._listener: StoreListener | None = None

    # -- readers ---------------------------------------------------------------------

    @property
    def generation(self) -> int:
        """Bumped by every append that changed something."""
        return self._snapshot.generation

    def snapshot(self) -> Snapshot:
        """The latest published snapshot (one attribute read)."""
        return self._snapshot

    @property
    def progress(self) -> LoadProgress:
        """Initial-load progress, for /api/health and the warm-up gate."""
        return self._progress

    # -- the writer ------------------------------------------------------------------

    def tx_row_of_hash(self, content_hash: int) -> int | None:
        """Writer-side lookup of a transmission row by its content hash integer."""
        return self._tx_by_hash.get(content_hash)

    def tx_rows_of_hashes(self, content_hashes: list[int]) -> list[int]:
        """Writer-side rows of many content hash integers (each 0 <= h < 2**64), -1 if new."""
        return self._tx_by_hash.get_many(content_hashes)

    def tx_db_id(self, row: int) -> int:
        """The database id of a transmission row (writer side)."""
        return int(self._snapshot.tx.db_id[row])

    def observer_index(self, rowid: int) -> int | None:
        """The store index of an observer database rowid (writer side)."""
        return self._observers.index(rowid)

    def set_progress(self, progress: LoadProgress) -> None:
        """Record initial-load progress (called by the loader)."""
        self._progress = progress

    def listen(self, listener: StoreListener | None) -> None:
        """Tell `listener` of every later change (one listener; None stops telling)."""
        with self.write_lock:
            self._listener = listener

    def append(self, batch: StoreBatch) -> int:
        """Apply a batch atomically and publish the next snapshot; returns the generation."""
        if batch.is_empty():
            return self._generation
        with self.write_lock:
            if self._listener is not None:
                self._listener.appended(batch)
            return self._append(batch)

    def _append(self, batch: StoreBatch) -> int:
        # validates before anything changes
        tx_rows = resolve_tx_rows(batch, self._tx["db_id"].view(), self._observers.rowids())
        self._observers.upsert(batch.observers)
        self._nodes.upsert(batch.nodes)
        added = self._append_transmissions(batch.transmissions)
        self._append_observations(batch.observations, tx_rows, added)
        self._generation += 1
        self._publish()
        return self._generation

    def _intern(self, text: str | None) -> int:
        return -1 if text is None else self._strings.intern(text, text)

    def _append_transmissions(self, rows: list[TxRow]) -> dict[str, npt.NDArray[Any]]:
        """Append the immutable columns; returns the new rows' mutable values (see sightings)."""
        if not rows:
            return {}
        n = len(rows)
        first_row = len(self._tx["db_id"])
        raw_off = len(self._raw)
        offsets = np.empty(n, np.int64)
        lengths = np.empty(n, np.int32)
        pos = raw_off
        for i, r in enumerate(rows):
            offsets[i] = pos
            lengths[i] = len(r.raw)
            pos += len(r.raw)
        self._raw.append(np.frombuffer(b"".join(r.raw for r in rows), np.uint8))
        nan = math.nan
        cols: dict[str, npt.ArrayLike] = {
            "db_id": [r.db_id for r in rows],
            "hash": np.array([int(r.content_hash, 16) for r in rows], np.uint64),
            "route_type": [r.route_type for r in rows],
            "payload_type": [r.payload_type for r in rows],
            "payload_version": [r.payload_version for r in rows],
            "path_byte": [r.path_byte for r in rows],
            "raw_off": offsets,
            "raw_len": lengths,
            "from_key": [self._intern(r.from_pubkey) for r in rows],
            "advert_ts": [r.advert_ts for r in rows],
            "advert_lat": [nan if r.advert_lat is None else r.advert_lat for r in rows],
            "advert_lon": [nan if r.advert_lon is None else r.advert_lon for r in rows],
            "advert_flags": [r.advert_flags for r in rows],
            "channel_hash": [r.channel_hash for r in rows],
            "channel": [self._intern(r.channel) for r in rows],
            "decryption": [r.decryption for r in rows],
            "sender": [self._intern(r.sender) for r in rows],
            "text": [self._intern(r.text) for r in rows],
            "scope": [self._intern(r.scope) for r in rows],
        }
        for name, values in cols.items():
            self._tx[name].append(values)
        self._tx_by_hash.extend(
            np.asarray(cols["hash"], np.uint64), np.arange(first_row, first_row + n, dtype=np.int64)
        )
        return new_rows(np.array([r.first_seen_ms for r in rows], np.int64))

    def _append_observations(
        self,
        batch: ObsBatch,
        tx_rows: npt.NDArray[np.int64],
        added: dict[str, npt.NDArray[Any]],
    ) -> None:
        """Append the observations, and fold them and the new transmissions' rows `added`
        into the mutable transmission columns."""
        n = len(batch)
        if n == 0:
            if added:
                self._tx_mut = grown(self._tx_mut, added)
            return
        first_obs = len(self._obs["db_id"])
        observer = self._observers.lookup()[batch.observer_rowid]
        hop_ids, path_len = self._hop_table.intern_paths(batch.paths, batch.hop_width)
        path_off = len(self._hops) + np.concatenate([[0], np.cumsum(path_len[:-1])])
        if len(self._hops) + int(hop_ids.shape[0]) >= 1 << 31:
            raise ValueError("the store holds 2**31 hops, its limit: configure retention")
        if len(self._hop_table) > 1 << 16 and self._hops.dtype == np.uint16:
            self._hops.widen(np.int32)
        self._hops.append(hop_ids)
        cols: dict[str, npt.ArrayLike] = {
            "db_id": batch.db_id,
            "tx": tx_rows,
            "observer": observer,
            "ts_ms": batch.ts_ms,
            "snr_db": batch.snr_db,
            "rssi_dbm": batch.rssi_dbm,
            "direction": batch.direction,
            "path_byte": batch.path_byte,
            "hop_width": batch.hop_width,
            "path_off": path_off,
            "path_len": path_len,
        }
        for name, values in cols.items():
            self._obs[name].append(values)
        self._tx_mut = fold_sightings(
            self._tx_mut, self._obs["path_len"].view(), added=added,
            tx_rows=tx_rows, ts_ms=batch.ts_ms, path_len=path_len, first_obs=first_obs,
        )  # fmt: skip
        self._mark_hops(tx_rows, hop_ids, path_len)
        self._add_links(tx_rows, observer, batch.ts_ms, hop_ids, path_len)

    def _add_links(
        self,
        tx_rows: npt.NDArray[np.int64],
        observer: npt.NDArray[np.int32],
        ts_ms: npt.NDArray[np.int64],
        hop_ids: npt.NDArray[np.int32],
        path_len: npt.NDArray[np.uint8],
    ) -> None:
        """Fold the batch into the link evidence (see links.py for why it is incremental)."""
        self._links.fold(
            from_key=self._tx["from_key"].view(), payload_type=self._tx["payload_type"].view(),
            tx_rows=tx_rows, observer=observer, ts_ms=ts_ms, hop_ids=hop_ids, path_len=path_len,
        )  # fmt: skip

    def _mark_hops(
        self,
        tx_rows: npt.NDArray[np.integer[Any]],
        hop_ids: npt.NDArray[np.integer[Any]],
        path_len: npt.NDArray[np.uint8],
    ) -> None:
        """Record which hops a TRACE path and which another path held (hops.HopUsage)."""
        trace = self._tx["payload_type"].view()[tx_rows] == PayloadType.TRACE
        self._hop_usage.add(hop_ids, np.repeat(trace, path_len), len(self._hop_table))

    def _publish(self) -> None:
        n_tx = len(self._tx["db_id"])
        tx_cols = {name: col.view() for name, col in self._tx.items()}
        tx_cols.update({name: frozen(self._tx_mut[name][:n_tx]) for name in TX_MUTABLE})
        obs_cols = {name: col.view() for name, col in self._obs.items()}
        self._snapshot = Snapshot(
            generation=self._generation,
            epoch=self._epoch,
            tx=TxColumns(**tx_cols),
            obs=ObsColumns(**obs_cols),
            hops=self._hops.view(),
            hop_hex=self._hop_table.bounded(),
            strings=self._strings.bounded(),
            raw=self._raw.view(),
            nodes=self._nodes.records,
            node_ids=self._nodes.ids(),
            observers=self._observers.records,
            observer_ids=self._observers.ids(),
            tx_by_hash=self._tx_by_hash.bounded(n_tx),
            links=self._links.links,
            hop_in_trace=self._hop_usage.in_trace,
            hop_in_other=self._hop_usage.in_other,
        )

    def prune(self, keep_tx: npt.NDArray[np.bool_]) -> int:
        """Drop the transmissions `keep_tx` leaves out, in one step (writer side; tests)."""
        if keep_tx.all():
            return self._generation
        return self.apply_prune(prepare(self._snapshot, keep_tx))

    def apply_prune(self, p: PreparedPrune) -> int:
        """Swap in compacted columns (see `_apply_prune`), and tell the listener."""
        with self.write_lock:
            generation = self._apply_prune(p)
            if self._listener is not None:
                self._listener.pruned()
            return generation

    def _apply_prune(self, p: PreparedPrune) -> int:
        """Swap in compacted columns, with the rows appended since they were prepared.

        Writer side. Observations that arrived meanwhile for a dropped transmission are
        dropped with it. Snapshots already handed out keep their rows; the new snapshot
        starts a new epoch (row numbers changed) and generation (recomputers run).
        """
        if p.base_epoch != self._epoch:
            raise ValueError("the store was pruned since this prune was prepared")
        n_tx, n_obs = len(self._tx["db_id"]), len(self._obs["db_id"])
        tx_of = np.concatenate(
            [p.tx_of, np.arange(len(p.tx["db_id"]), len(p.tx["db_id"]) + n_tx - p.base_tx)]
        )
        if n_tx > p.base_tx:
            tail = {name: self._tx[name].view()[p.base_tx : n_tx] for name in p.tx}
            append_tail_tx(p, tail, self._raw.view(), self._strings.bounded())
        obs_tx = self._obs["tx"].view()[p.base_obs : n_obs]
        keep_tail = tx_of[obs_tx] >= 0
        obs_of = np.concatenate([p.obs_of, renumber(keep_tail, len(p.obs["db_id"]))])
        tail_rows = np.flatnonzero(keep_tail) + p.base_obs
        tail_hops = append_tail_obs(
            p, {name: self._obs[name].view()[tail_rows] for name in p.obs}, self._hops.view(), tx_of
        )
        kept_tx = tx_of >= 0
        mutable = {name: self._tx_mut[name][:n_tx][kept_tx] for name in TX_MUTABLE}
        best = mutable["best_obs"]
        if obs_of.size:  # a kept transmission's observations, its best one too, are kept
            best = np.where(best >= 0, obs_of[np.maximum(best, 0)], -1)
        mutable["best_obs"] = best.astype(np.int32)
        tail_hashes = self._tx["hash"].view()[p.base_tx : n_tx]
        p.by_hash.extend(np.array(tail_hashes), tx_of[p.base_tx : n_tx])
        self._tx, self._tx_mut, self._obs = p.tx, mutable, p.obs
        self._hops, self._raw, self._strings = p.hops, p.raw, p.strings
        self._tx_by_hash, self._links = p.by_hash, p.links
        self._hop_usage = p.hop_usage
        if tail_rows.size:  # after the swap: link folding reads the new tx columns
            obs = {name: col.view()[-tail_rows.size :] for name, col in self._obs.items()}
            self._add_links(obs["tx"].astype(np.int64), obs["observer"], obs["ts_ms"],
                            tail_hops, obs["path_len"])  # fmt: skip
            self._mark_hops(obs["tx"], tail_hops, obs["path_len"])
        self._epoch += 1
        self._generation += 1
        self._publish()
        return self._generation

    def replace_observer(self, rowid: int, observer: Observer) -> int:
        """Upsert one observer row alone (status messages); returns the generation."""
        return self.append(StoreBatch(observers=[ObserverRow(rowid, observer)]))
