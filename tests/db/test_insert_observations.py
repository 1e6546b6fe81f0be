"""Bulk observation inserts: ids in order, None for repeats of stored or earlier rows."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from meshlens.db import tables
from meshlens.db.database import Database


def _values(tx_id: int, path: bytes, at: int = 1000) -> tables.ObservationValues:
    return (tx_id, 1, at, 1.5, -90.0, None, "rx", len(path), 1, path)


def _setup(db: Database) -> int:
    def write(conn: sqlite3.Connection) -> int:
        tx = tables.NewTransmission(
            "00000000000000aa", b"\x11\x00", 1000, 1, 4, 0, "{}", None, None, None
        )
        tx_id = tables.insert_transmission(conn, tx)
        tables.upsert_observer_seen(conn, tables.ObserverSeen("O", "", "", 1, 1))
        return tx_id

    return db.write(write)


def test_ids_follow_insertion_order_when_all_are_new(tmp_path: Path) -> None:
    with Database(tmp_path / "m.db") as db:
        tx = _setup(db)
        first = db.write(lambda c: tables.insert_observations(c, [_values(tx, b"\x01")]))
        rows = [_values(tx, bytes([i])) for i in range(2, 7)]
        ids = db.write(lambda c: tables.insert_observations(c, rows))
        stored = db.read(
            lambda c: c.execute("SELECT id, path FROM observations ORDER BY id").fetchall()
        )
    assert first == [1]
    assert ids == [2, 3, 4, 5, 6]
    assert [p for _, p in stored] == [bytes([i]) for i in range(1, 7)]


def test_repeats_get_none_and_the_rest_their_real_ids(tmp_path: Path) -> None:
    with Database(tmp_path / "m.db") as db:
        tx = _setup(db)
        db.write(lambda c: tables.insert_observations(c, [_values(tx, b"\x01")]))
        rows = [_values(tx, b"\x02"), _values(tx, b"\x01"), _values(tx, b"\x03"),
                _values(tx, b"\x02", at=5), _values(tx, b"\x04")]  # fmt: skip
        ids = db.write(lambda c: tables.insert_observations(c, rows))
        assert db.write(lambda c: tables.insert_observations(c, [])) == []
        by_path = dict(db.read(lambda c: c.execute("SELECT path, id FROM observations").fetchall()))
    # Ignored rows may still use up sequence numbers; the ids returned are the stored ones.
    assert ids == [by_path[b"\x02"], None, by_path[b"\x03"], None, by_path[b"\x04"]]
    assert by_path[b"\x01"] == 1 and len(by_path) == 4
