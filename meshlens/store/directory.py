"""The store's nodes and observers: the latest record of each, found by key through an intern table.

Both are small (hundreds to a few thousand rows), so each change replaces the whole tuple
and a snapshot shares it as is. Writer side: one thread upserts, snapshots read `records`.
"""

from __future__ import annotations

from collections.abc import KeysView

import numpy as np
import numpy.typing as npt

from meshlens.records import Node, Observer
from meshlens.store.batch import ObserverRow
from meshlens.store.columns import BoundedIntern, InternTable


class NodeDirectory:
    """Nodes by public key."""

    def __init__(self) -> None:
        self._ids: InternTable[str, str] = InternTable()
        self.records: tuple[Node, ...] = ()

    def ids(self) -> BoundedIntern[str, str]:
        """Public key -> index into `records`, as of now."""
        return self._ids.bounded()

    def upsert(self, nodes: list[Node]) -> None:
        """Add new nodes and replace known ones, keyed by public key."""
        if not nodes:
            return
        table = list(self.records)
        for node in nodes:
            idx = self._ids.intern(node.public_key, node.public_key)
            if idx == len(table):
                table.append(node)
            else:
                table[idx] = node
        self.records = tuple(table)


class ObserverDirectory:
    """Observers by id, and the store index of each database rowid."""

    def __init__(self) -> None:
        self._ids: InternTable[str, str] = InternTable()
        self.records: tuple[Observer, ...] = ()
        self._of_rowid: dict[int, int] = {}
        self._table: npt.NDArray[np.int32] = np.empty(0, np.int32)

    def ids(self) -> BoundedIntern[str, str]:
        """Observer id -> index into `records`, as of now."""
        return self._ids.bounded()

    def rowids(self) -> KeysView[int]:
        """The database rowids known so far."""
        return self._of_rowid.keys()

    def index(self, rowid: int) -> int | None:
        """The store index of an observer database rowid."""
        return self._of_rowid.get(rowid)

    def upsert(self, rows: list[ObserverRow]) -> None:
        """Add new observers and replace known ones, keyed by id."""
        if not rows:
            return
        observers = list(self.records)
        for row in rows:
            idx = self._ids.intern(row.observer.id, row.observer.id)
            if row.rowid not in self._of_rowid:
                self._table = np.empty(0, np.int32)  # rebuilt on next use
            self._of_rowid[row.rowid] = idx
            if idx == len(observers):
                observers.append(row.observer)
            else:
                observers[idx] = row.observer
        self.records = tuple(observers)

    def lookup(self) -> npt.NDArray[np.int32]:
        """Observer rowid -> store index as an array (rowids are small dense integers)."""
        if self._table.shape[0] == 0:
            size = max(self._of_rowid, default=0) + 1
            table = np.full(size, -1, np.int32)  # -1 never escapes: rowids are validated
            for rowid, index in self._of_rowid.items():
                table[rowid] = index
            self._table = table
        return self._table
