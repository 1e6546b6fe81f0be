"""Bulk observation inserts: ids in order, None for repeats of stored or earlier rows; the
batched first/last-seen update of transmissions."""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meshlens.db import directory, multirow, packets
from meshlens.db.database import Database


def _values(tx_id: int, path: bytes, at: int = 1000) -> packets.ObservationValues:
    return (tx_id, 1, at, 1.5, -90.0, None, "rx", len(path), 1, path)


def _setup(db: Database) -> int:
    def write(conn: sqlite3.Connection) -> int:
        tx = packets.NewTransmission(
            "00000000000000aa", b"\x11\x00", 1000, 1, 4, 0, "{}", None, None, None
        )
        tx_id = packets.insert_transmission(conn, tx)
        directory.upsert_observer_seen(conn, directory.ObserverSeen("O", "", "", 1, 1))
        return tx_id

    return db.write(write)


def test_ids_follow_insertion_order_when_all_are_new(tmp_path: Path) -> None:
    with Database(tmp_path / "m.db") as db:
        tx = _setup(db)
        first = db.write(lambda c: packets.insert_observations(c, [_values(tx, b"\x01")]))
        rows = [_values(tx, bytes([i])) for i in range(2, 7)]
        ids = db.write(lambda c: packets.insert_observations(c, rows))
        stored = db.read(
            lambda c: c.execute("SELECT id, path FROM observations ORDER BY id").fetchall()
        )
    assert first == [1]
    assert ids == [2, 3, 4, 5, 6]
    assert [p for _, p in stored] == [bytes([i]) for i in range(1, 7)]


def test_repeats_get_none_and_the_rest_their_real_ids(tmp_path: Path) -> None:
    with Database(tmp_path / "m.db") as db:
        tx = _setup(db)
        db.write(lambda c: packets.insert_observations(c, [_values(tx, b"\x01")]))
        rows = [_values(tx, b"\x02"), _values(tx, b"\x01"), _values(tx, b"\x03"),
                _values(tx, b"\x02", at=5), _values(tx, b"\x04")]  # fmt: skip
        ids = db.write(lambda c: packets.insert_observations(c, rows))
        assert db.write(lambda c: packets.insert_observations(c, [])) == []
        by_path = dict(db.read(lambda c: c.execute("SELECT path, id FROM observations").fetchall()))
    # Ignored rows may still use up sequence numbers; the ids returned are the stored ones.
    assert ids == [by_path[b"\x02"], None, by_path[b"\x03"], None, by_path[b"\x04"]]
    assert by_path[b"\x01"] == 1 and len(by_path) == 4


def _row_at_a_time(db: Database, rows: list[packets.ObservationValues]) -> list[int | None]:
    def write(conn: sqlite3.Connection) -> list[int | None]:
        return [packets.insert_observation(conn, packets.NewObservation(*r)) for r in rows]

    return db.write(write)


# Rows from few transmissions and paths, so repeats (of stored rows and of earlier rows in
# the same call) are common; the first list is stored before the second is inserted.
_ROW = st.tuples(st.sampled_from([1, 2]), st.sampled_from([b"\x01", b"\x02", b"\x01\x02"]))


@settings(max_examples=40, deadline=None)
@given(before=st.lists(_ROW, max_size=6), rows=st.lists(_ROW, max_size=40))
def test_chunked_inserts_give_the_ids_of_one_row_at_a_time(
    before: list[tuple[int, bytes]], rows: list[tuple[int, bytes]]
) -> None:
    def values(pairs: list[tuple[int, bytes]]) -> list[packets.ObservationValues]:
        return [_values(tx, path, at=1000 + k) for k, (tx, path) in enumerate(pairs)]

    with tempfile.TemporaryDirectory() as tmp, pytest.MonkeyPatch.context() as patch:
        patch.setattr(multirow, "CHUNK_ROWS", 4)  # chunk edges inside small examples
        with Database(Path(tmp) / "a.db") as a, Database(Path(tmp) / "b.db") as b:
            for db in (a, b):
                _setup(db)
                db.write(_setup_second)
            _row_at_a_time(a, values(before))
            b.write(lambda c: packets.insert_observations(c, values(before)))
            expected = _row_at_a_time(a, values(rows))
            start = b.read(lambda c: c.execute("SELECT MAX(id) FROM observations").fetchone()[0])
            got = b.write(lambda c: packets.insert_observations(c, values(rows)))
            # The fallback that matches rows on their unique key agrees as well.
            matched = b.write(lambda c: packets.match_stored(c, values(rows), start or 0))
            dump = "SELECT * FROM observations ORDER BY id"
            assert b.read(lambda c: c.execute(dump).fetchall()) == a.read(
                lambda c: c.execute(dump).fetchall()
            )
    assert got == expected
    assert matched == expected


def _setup_second(conn: sqlite3.Connection) -> None:
    tx = packets.NewTransmission(
        "00000000000000bb", b"\x11\x00", 1000, 1, 4, 0, "{}", None, None, None
    )
    packets.insert_transmission(conn, tx)


def test_touch_transmissions_moves_first_down_and_last_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(multirow, "CHUNK_ROWS", 2)  # three spans: two statements
    with Database(tmp_path / "m.db") as db:
        first = _setup(db)  # seen at 1000
        second = db.write(
            lambda c: packets.insert_transmission(
                c, packets.NewTransmission("bb", b"\x11\x00", 2000, 1, 4, 0, "{}", None, None, None)
            )
        )
        third = db.write(
            lambda c: packets.insert_transmission(
                c, packets.NewTransmission("cc", b"\x11\x00", 3000, 1, 4, 0, "{}", None, None, None)
            )
        )
        db.write(
            lambda c: packets.touch_transmissions(
                c, [(first, 500, 900), (second, 2500, 2600), (third, 3000, 4000)]
            )
        )
        db.write(lambda c: packets.touch_transmissions(c, []))
        seen = db.read(
            lambda c: c.execute(
                "SELECT id, first_seen_ms, last_seen_ms FROM transmissions ORDER BY id"
            ).fetchall()
        )
    assert seen == [(first, 500, 1000), (second, 2000, 2600), (third, 3000, 4000)]
