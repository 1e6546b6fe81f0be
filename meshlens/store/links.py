"""Link evidence: which endpoints were heard next to which hops, kept up to date at append.

The neighbour graph of hop resolution (analytics-part-a §1.4) comes from every
observation, and scanning millions of them on every compute costs more than the rest of
topology. So the writer folds each appended batch into three small grouped tables, in
store ids only (nothing here depends on the node roster, which changes):

- `zero`:  zero-hop ADVERT    (originator string id, -, observer)
- `first`: ADVERT with a path (originator string id, path[0] hop id, observer)
- `last`:  any path           (observer, path[last] hop id, observer)

each row with the number of observations and the latest observation time. Tables are
immutable chunks merged like a log-structured tree (a new chunk merges into the one
before it while that one is at most twice its size), so an append costs O(batch) plus
amortised merging, and a snapshot holds a few chunks per table by reference.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

I64 = npt.NDArray[np.int64]

ADVERT = 4


@dataclass(frozen=True, slots=True)
class LinkTable:
    """Grouped rows: key columns (x, hop, observer), count and latest time; sorted by key."""

    x: I64
    hop: I64  # -1 in the zero-hop table
    observer: I64
    count: I64
    last_ms: I64

    def __len__(self) -> int:
        return int(self.x.shape[0])

    @staticmethod
    def empty() -> LinkTable:
        """A table with no rows."""
        e = np.empty(0, np.int64)
        return LinkTable(e, e, e, e, e)


def group_links(x: I64, hop: I64, observer: I64, count: I64, last_ms: I64) -> LinkTable:
    """Group rows by (x, hop, observer), summing counts and keeping the latest time."""
    if x.shape[0] == 0:
        return LinkTable.empty()
    order = np.lexsort((observer, hop, x))
    x, hop, observer = x[order], hop[order], observer[order]
    lead = np.ones(x.shape[0], np.bool_)
    lead[1:] = (x[1:] != x[:-1]) | (hop[1:] != hop[:-1]) | (observer[1:] != observer[:-1])
    starts = np.flatnonzero(lead)
    return LinkTable(
        x=x[starts],
        hop=hop[starts],
        observer=observer[starts],
        count=np.add.reduceat(count[order], starts),
        last_ms=np.maximum.reduceat(last_ms[order], starts),
    )


def merge_tables(tables: tuple[LinkTable, ...]) -> LinkTable:
    """One table holding the rows of all of them."""
    if not tables:
        return LinkTable.empty()
    if len(tables) == 1:
        return tables[0]
    return group_links(
        *(np.concatenate([getattr(t, name) for t in tables])
          for name in ("x", "hop", "observer", "count", "last_ms"))
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Links:
    """The three evidence tables as chunk tuples (immutable; shared by snapshots)."""

    zero: tuple[LinkTable, ...] = ()
    first: tuple[LinkTable, ...] = ()
    last: tuple[LinkTable, ...] = ()

    def merged(self) -> tuple[LinkTable, LinkTable, LinkTable]:
        """Each table as one grouped table."""
        return merge_tables(self.zero), merge_tables(self.first), merge_tables(self.last)

    def rows(self) -> tuple[LinkTable, LinkTable, LinkTable]:
        """Each table's chunks back to back: a key may repeat across chunks (no regrouping)."""
        return _concat(self.zero), _concat(self.first), _concat(self.last)


def _concat(tables: tuple[LinkTable, ...]) -> LinkTable:
    if not tables:
        return LinkTable.empty()
    if len(tables) == 1:
        return tables[0]
    return LinkTable(
        *(np.concatenate([getattr(t, name) for t in tables])
          for name in ("x", "hop", "observer", "count", "last_ms"))
    )  # fmt: skip


@dataclass(slots=True)
class LinkLog:
    """The writer's side: folds batches in and hands out immutable `Links`."""

    links: Links = field(default_factory=Links)

    def fold(
        self,
        *,
        from_key: I64 | npt.NDArray[np.int32],
        payload_type: npt.NDArray[np.uint8],
        tx_rows: I64,
        observer: npt.NDArray[np.integer[Any]],
        ts_ms: I64,
        hop_ids: npt.NDArray[np.integer[Any]],
        path_len: npt.NDArray[np.uint8],
    ) -> None:
        """Fold in observations given as store columns (hops flat, back to back)."""
        plen = path_len.astype(np.int64)
        start = np.cumsum(plen) - plen
        with_path = plen > 0
        at_first = np.where(with_path, start, 0)
        at_last = np.where(with_path, start + plen - 1, 0)
        hops = hop_ids.astype(np.int64) if hop_ids.size else np.zeros(1, np.int64)
        origin = from_key[tx_rows].astype(np.int64)
        advert = payload_type[tx_rows] == ADVERT
        self.add(
            originator=np.where(advert, origin, -1),
            observer=observer.astype(np.int64),
            ts_ms=np.asarray(ts_ms, np.int64),
            first_hop=hops[at_first],
            last_hop=hops[at_last],
            path_len=plen,
        )

    def add(
        self,
        *,
        originator: I64,
        observer: I64,
        ts_ms: I64,
        first_hop: I64,
        last_hop: I64,
        path_len: I64,
    ) -> None:
        """Fold in observations: originator string id (-1: no advert), path ends, length."""
        with_path = path_len > 0
        one = np.ones(observer.shape[0], np.int64)
        minus = np.full(observer.shape[0], -1, np.int64)
        rows = np.flatnonzero(~with_path & (originator >= 0))
        zero = group_links(originator[rows], minus[rows], observer[rows], one[rows], ts_ms[rows])
        rows = np.flatnonzero(with_path & (originator >= 0))
        first = group_links(
            originator[rows], first_hop[rows], observer[rows], one[rows], ts_ms[rows]
        )
        rows = np.flatnonzero(with_path)
        last = group_links(observer[rows], last_hop[rows], observer[rows], one[rows], ts_ms[rows])
        self.links = Links(
            zero=_push(self.links.zero, zero),
            first=_push(self.links.first, first),
            last=_push(self.links.last, last),
        )


def _push(chunks: tuple[LinkTable, ...], new: LinkTable) -> tuple[LinkTable, ...]:
    """Append a chunk, merging while the one before is at most twice its size."""
    if len(new) == 0:
        return chunks
    out = [*chunks, new]
    while len(out) >= 2 and len(out[-2]) <= 2 * len(out[-1]):
        tail = merge_tables((out[-2], out[-1]))
        out[-2:] = [tail]
    return tuple(out)
