"""The SQL of retention: delete old rows in bounded batches and give the space back.

Each function runs inside one writer transaction (Database.write), except the vacuum
steps, which SQLite must run outside one (Database.maintain).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from meshlens.db.directory import get_observer
from meshlens.records import Observer


@dataclass(frozen=True, slots=True)
class FileSize:
    """How much of the database file is in use, and how much is free pages."""

    page_size: int
    pages: int
    free_pages: int

    @property
    def used_bytes(self) -> int:
        """Bytes of pages that hold data."""
        return (self.pages - self.free_pages) * self.page_size

    @property
    def file_bytes(self) -> int:
        """Bytes of the main file (the WAL aside)."""
        return self.pages * self.page_size


def file_size(conn: sqlite3.Connection) -> FileSize:
    """Pages in use and free pages of the main database."""

    def pragma(name: str) -> int:
        return int(conn.execute(f"PRAGMA {name}").fetchone()[0])

    return FileSize(pragma("page_size"), pragma("page_count"), pragma("freelist_count"))


def delete_transmissions(conn: sqlite3.Connection, ids: Sequence[int]) -> tuple[int, int]:
    """Delete transmissions and their observations; returns (transmissions, observations)."""
    params = [(i,) for i in ids]
    before = conn.total_changes
    conn.executemany("DELETE FROM observations WHERE transmission_id = ?", params)
    observations = conn.total_changes - before
    conn.executemany("DELETE FROM transmissions WHERE id = ?", params)
    return conn.total_changes - before - observations, observations


def delete_transmission_by_hash(conn: sqlite3.Connection, content_hash: str) -> bool:
    """Delete one transmission (and its observations) by content hash; False if absent."""
    row = conn.execute("SELECT id FROM transmissions WHERE hash = ?", (content_hash,)).fetchone()
    if row is None:
        return False
    delete_transmissions(conn, [int(row[0])])
    return True


def inactivate_observers(conn: sqlite3.Connection, before_ms: int) -> list[tuple[int, Observer]]:
    """Mark observers silent since before `before_ms` inactive (protocol §11); the changed rows.

    Their metrics go too. A message from one of them later makes it active again.
    """
    ids = [
        str(r[0])
        for r in conn.execute(
            "UPDATE observers SET inactive = 1 WHERE inactive = 0 AND last_seen_ms < ?"
            " RETURNING id",
            (before_ms,),
        ).fetchall()
    ]
    conn.executemany("DELETE FROM observer_metrics WHERE observer_id = ?", [(i,) for i in ids])
    rows = [get_observer(conn, i) for i in ids]
    return [row for row in rows if row is not None]


def delete_metrics(conn: sqlite3.Connection, before_ms: int) -> int:
    """Delete observer metrics older than `before_ms`; returns how many."""
    return conn.execute("DELETE FROM observer_metrics WHERE ts_ms < ?", (before_ms,)).rowcount


def vacuum_step(conn: sqlite3.Connection, pages: int) -> int:
    """Return up to `pages` free pages to the file system; returns the free pages left.

    Works in auto_vacuum=INCREMENTAL databases (every one meshlens creates); elsewhere a
    no-op, and the free pages are reused by later inserts instead. Run it inside a
    transaction: each call below is a statement, and outside one each would commit.
    """
    free = free_page_count(conn)
    # Python's sqlite3 steps a statement without result columns once, and each step of
    # incremental_vacuum frees one page: so one statement a page (~15 µs in a transaction).
    for _ in range(min(pages, free) if auto_vacuum_mode(conn) == 2 else 0):
        conn.execute("PRAGMA incremental_vacuum(1)")
    return free_page_count(conn)


def free_page_count(conn: sqlite3.Connection) -> int:
    """Pages on the free list."""
    return int(conn.execute("PRAGMA freelist_count").fetchone()[0])


def checkpoint(conn: sqlite3.Connection) -> None:
    """Copy the WAL into the main file and truncate both (so the file really shrinks)."""
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()


def auto_vacuum_mode(conn: sqlite3.Connection) -> int:
    """0 none, 1 full, 2 incremental."""
    return int(conn.execute("PRAGMA auto_vacuum").fetchone()[0])
