"""Indexes over the store's observations that grow with it: rows by transmission, time tails.

The store's observation columns are append-only, so an index built over the first B rows
stays true for every later snapshot of the same epoch (retention starts a new one). The
rows by transmission are a CSR over a base of B rows plus a scan of the (bounded) tail
past B; the base is rebuilt when the tail grows past a sixteenth of the store. A running
maximum of observation times finds "the last hour" by binary search although sightings
arrive slightly out of time order. Masks of "transmissions with a sighting that matches"
(heard by these observers, relayed by these hops) grow the same way: a new generation
scans only the sightings past the last one seen, so a filter costs the same under ingest
as on a still store. All of it runs on the event loop only, so it needs no lock.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from meshlens.store.columns import Column
from meshlens.store.snapshot import Snapshot

I64 = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]
MIN_TAIL = 65_536
MAX_MARKS = 64  # grown masks kept (observer sets, regions, nodes); least recent dropped

# The transmission rows to mark among observation rows [start, stop) of a snapshot.
Marker = Callable[[Snapshot, int, int], I64]


@dataclass(frozen=True, slots=True)
class _Marks:
    epoch: int  # the store's column epoch (retention renumbers rows)
    obs_n: int  # observation rows scanned
    last_db_id: int  # db_id of row obs_n - 1: the same store's prefix, not a rebuilt one
    mask: Mask  # over transmission rows; never written once handed out


class ObservationIndex:
    """Observation rows by transmission row, and a running maximum of observation time."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self, epoch: int = 0) -> None:
        self._epoch = epoch  # the store's column epoch the index was built over
        self._base_n = 0  # observation rows the CSR covers
        self._starts: I64 = np.zeros(1, np.int64)  # per transmission row, into _order
        self._order: I64 = np.empty(0, np.int64)  # observation rows grouped by transmission
        self._time_max = Column(np.int64)
        self._marks: OrderedDict[Hashable, _Marks] = OrderedDict()

    def refresh(self, snap: Snapshot) -> None:
        """Take in the rows `snap` has beyond what is indexed (cheap when nothing is new)."""
        n = len(snap.obs)
        if snap.epoch != self._epoch:  # retention rebuilt the columns: start again
            self._reset(snap.epoch)
        done = len(self._time_max)
        if n > done:
            new = np.maximum.accumulate(snap.obs.ts_ms[done:n])
            if done:
                new = np.maximum(new, self._time_max.view()[done - 1])
            self._time_max.append(new)
        if n - self._base_n > max(MIN_TAIL, n // 16):
            self._rebuild(snap)

    def _rebuild(self, snap: Snapshot) -> None:
        n = len(snap.obs)
        tx = snap.obs.tx[:n]
        counts = np.bincount(tx, minlength=len(snap.tx))
        starts = np.zeros(counts.shape[0] + 1, np.int64)
        np.cumsum(counts, out=starts[1:])
        # Sightings arrive near their transmission, so the stable sort meets sorted runs.
        self._order = np.argsort(tx, kind="stable").astype(np.int64)
        self._starts = starts
        self._base_n = n

    def rows_of(self, snap: Snapshot, tx_rows: npt.ArrayLike) -> list[I64]:
        """The observation rows of each transmission row, in arrival order."""
        self.refresh(snap)
        wanted = np.asarray(tx_rows, np.int64)
        n = len(snap.obs)
        base_n = min(self._base_n, n)
        in_base = self._starts.shape[0] - 1
        out: list[I64] = []
        tail_rows: I64 = np.empty(0, np.int64)
        tail_tx: I64 = np.empty(0, np.int64)
        if n > base_n and wanted.size:
            tail = snap.obs.tx[base_n:n]
            hit = np.flatnonzero(np.isin(tail, wanted))
            tail_rows = hit + base_n
            tail_tx = tail[hit].astype(np.int64)
        for t in wanted.tolist():
            rows = self._order[self._starts[t] : self._starts[t + 1]] if t < in_base else None
            if rows is not None and self._base_n > n:  # an older snapshot than the index
                rows = rows[rows < n]
            extra = tail_rows[tail_tx == t] if tail_rows.size else tail_rows
            if rows is None or not rows.size:
                out.append(extra)
            elif extra.size:
                out.append(np.concatenate([rows, extra]))
            else:
                out.append(rows)
        return out

    def marked(self, snap: Snapshot, key: Hashable, marker: Marker) -> Mask:
        """Transmissions `marker` marks among all of `snap`'s sightings, grown per generation.

        `marker` must depend on the sighting rows alone (and on `key`), so what it marked in
        an older generation still holds; the returned mask must not be written.
        """
        n, n_tx = len(snap.obs), len(snap.tx)
        found = self._marks.get(key)
        if found is not None and (
            found.epoch != snap.epoch
            or found.obs_n > n
            or found.mask.shape[0] > n_tx
            or (found.obs_n and int(snap.obs.db_id[found.obs_n - 1]) != found.last_db_id)
        ):
            if snap.epoch < found.epoch or (snap.epoch == found.epoch and found.obs_n > n):
                # An older (pinned) snapshot than the one grown to: compute it apart.
                mask = np.zeros(n_tx, np.bool_)
                mask[marker(snap, 0, n)] = True
                return mask
            del self._marks[key]  # a new epoch (retention) or a rebuilt store: start again
            found = None
        start = 0 if found is None else found.obs_n
        if found is not None and start == n and found.mask.shape[0] == n_tx:
            self._marks.move_to_end(key)
            return found.mask
        mask = np.zeros(n_tx, np.bool_)
        if found is not None:
            mask[: found.mask.shape[0]] = found.mask
        if n > start:
            mask[marker(snap, start, n)] = True
        last = int(snap.obs.db_id[n - 1]) if n else 0
        self._marks[key] = _Marks(snap.epoch, n, last, mask)
        self._marks.move_to_end(key)
        while len(self._marks) > MAX_MARKS:
            self._marks.popitem(last=False)
        return mask

    def tail_start(self, snap: Snapshot, after_ms: int) -> int:
        """The first row from which an observation may be later than `after_ms`."""
        self.refresh(snap)
        n = len(snap.obs)
        return int(np.searchsorted(self._time_max.view()[:n], after_ms, side="right"))

    def count_after(self, snap: Snapshot, after_ms: int) -> int:
        """Observations later than `after_ms`."""
        start = self.tail_start(snap, after_ms)
        return int(np.count_nonzero(snap.obs.ts_ms[start:] > after_ms))

    def per_observer_after(self, snap: Snapshot, after_ms: int) -> I64:
        """Observations later than `after_ms`, counted per observer index."""
        start = self.tail_start(snap, after_ms)
        ts = snap.obs.ts_ms[start:]
        who = snap.obs.observer[start:][ts > after_ms]
        return np.bincount(who, minlength=len(snap.observers)).astype(np.int64)
