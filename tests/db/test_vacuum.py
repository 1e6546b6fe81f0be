"""Incremental vacuum: a step frees as many pages as it is asked for, and the file shrinks."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from meshlens.db import retention
from meshlens.db.database import Database


def _fill_then_empty(db: Database) -> None:
    """About 400 pages of rows, then deleted: they become free pages."""

    def fill(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE scratch (blob BLOB)")
        conn.executemany("INSERT INTO scratch VALUES (?)", [(bytes(4000),)] * 400)

    db.write(fill)
    db.write(lambda conn: conn.execute("DELETE FROM scratch"))


def test_one_step_frees_the_pages_it_is_asked_for(tmp_path: Path) -> None:
    with Database(tmp_path / "v.db") as db:
        _fill_then_empty(db)
        free = db.read(retention.free_page_count)
        assert free >= 400
        left = db.write(lambda c: retention.vacuum_step(c, 100))
        assert left == free - 100 == db.read(retention.free_page_count)
        assert db.write(lambda c: retention.vacuum_step(c, free)) == 0


def test_vacuum_and_checkpoint_shrink_the_main_file(tmp_path: Path) -> None:
    path = tmp_path / "v.db"
    with Database(path) as db:
        _fill_then_empty(db)
        db.maintain(retention.checkpoint)
        before = path.stat().st_size
        db.write(lambda c: retention.vacuum_step(c, 10_000))
        db.maintain(retention.checkpoint)
        assert path.stat().st_size < before - 400 * 4000
