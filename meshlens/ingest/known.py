"""What an ingest batch reads of what is already stored, and where its rows go once written.

A batch must know which of its content hashes are stored (and as which transmission), the
nodes its adverts merge into, and the observers an import adopts; its rows, once
committed, are appended to a store. In the server's process the store itself answers
(`StoreKnown`); in the pipeline process, which has no store, the database does
(`DatabaseKnown`), and the rows are sent back to the server's store.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Protocol

from meshlens.db import directory, packets
from meshlens.records import Node, Observer
from meshlens.store.batch import StoreBatch
from meshlens.store.store import PacketStore

_ADVERT = 4


class Known(Protocol):
    """The stored state one batch reads, and the sink of the rows it writes."""

    def tx_rows_of_hashes(self, content_hashes: list[int]) -> list[int]:
        """A row for each content hash integer that is stored, -1 for each new one.

        Rows are valid for the rest of the batch, and only for it.
        """
        ...

    def tx_db_id(self, row: int) -> int:
        """The database id of a stored transmission's row."""
        ...

    def advert_sender(self, row: int) -> str | None:
        """The public key that sent a stored transmission, when it is an ADVERT."""
        ...

    def node(self, public_key: str) -> Node | None:
        """The stored node with this public key."""
        ...

    def observer(self, observer_id: str) -> Observer | None:
        """The stored observer with this id."""
        ...

    def append(self, batch: StoreBatch) -> object:
        """Take the rows of a committed transaction."""
        ...


class StoreKnown:
    """The store answers: a pipeline in the process that holds it."""

    def __init__(self, store: PacketStore) -> None:
        self.store = store

    def tx_rows_of_hashes(self, content_hashes: list[int]) -> list[int]:
        """Store rows of the stored hashes, -1 for new ones."""
        return self.store.tx_rows_of_hashes(content_hashes)

    def tx_db_id(self, row: int) -> int:
        """The database id of a store row."""
        return self.store.tx_db_id(row)

    def advert_sender(self, row: int) -> str | None:
        """The sender of the store row's transmission, when it is an ADVERT."""
        snap = self.store.snapshot()
        if int(snap.tx.payload_type[row]) != _ADVERT:
            return None
        return snap.string(int(snap.tx.from_key[row]))

    def node(self, public_key: str) -> Node | None:
        """The node in the latest snapshot."""
        return self.store.snapshot().node(public_key)

    def observer(self, observer_id: str) -> Observer | None:
        """The observer in the latest snapshot."""
        return self.store.snapshot().observer(observer_id)

    def append(self, batch: StoreBatch) -> object:
        """Append to the store."""
        return self.store.append(batch)


class DatabaseKnown:
    """The database answers: a pipeline in a process without the store.

    The database can hold a transmission the store has already dropped: retention drops
    it from the store first and deletes its rows later, in bounded steps. Such ids are
    `condemned` here, so a batch treats their hashes as new, as the store would (the
    insert then replaces the condemned row: transaction._write_transmissions).
    Committed rows collect in `outbox` until the process sends them to the store.
    """

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._rows: list[tuple[int, str | None]] = []  # (id, advert sender) per row
        self._condemned: set[int] = set()
        self.outbox: list[StoreBatch] = []

    def condemn(self, tx_ids: Iterable[int]) -> None:
        """Treat these transmissions as gone until `release`d (retention dropped them)."""
        self._condemned.update(tx_ids)

    def release(self, tx_ids: Iterable[int]) -> None:
        """Forget condemned ids whose rows retention has now deleted."""
        self._condemned.difference_update(tx_ids)

    def tx_rows_of_hashes(self, content_hashes: list[int]) -> list[int]:
        """Rows (into this batch's lookups) of the stored hashes, -1 for new ones."""
        distinct = list(dict.fromkeys(content_hashes))
        found = packets.known_transmissions(self._conn, [f"{h:016x}" for h in distinct])
        rows = self._rows = []
        by_hash: dict[int, int] = {}
        condemned = self._condemned
        for text, tx_id, payload_type, sender in found:
            if tx_id in condemned:
                continue
            by_hash[int(text, 16)] = len(rows)
            rows.append((tx_id, sender if payload_type == _ADVERT else None))
        return [by_hash.get(h, -1) for h in content_hashes]

    def tx_db_id(self, row: int) -> int:
        """The database id found for a row."""
        return self._rows[row][0]

    def advert_sender(self, row: int) -> str | None:
        """The sender found for a row, when it is an ADVERT."""
        return self._rows[row][1]

    def node(self, public_key: str) -> Node | None:
        """The node row (committed, or written earlier in this transaction)."""
        return directory.get_node(self._conn, public_key)

    def observer(self, observer_id: str) -> Observer | None:
        """The observer row."""
        found = directory.get_observer(self._conn, observer_id)
        return None if found is None else found[1]

    def append(self, batch: StoreBatch) -> object:
        """Keep the rows for the store, in order."""
        if not batch.is_empty():
            self.outbox.append(batch)
        return None
