"""The database: schema on open, one writer, transactions, the dedupe and upsert rules."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from meshlens.db import directory, packets, schema
from meshlens.db.database import Database
from meshlens.db.schema import SCHEMA_VERSION
from meshlens.errors import StorageError


def _tx(h: str = "00000000000000aa") -> packets.NewTransmission:
    return packets.NewTransmission(h, b"\x11\x00", 1000, 1, 4, 0, "{}", None, None, None)


def _obs(tx_id: int, observer: int, path: bytes = b"") -> packets.NewObservation:
    return packets.NewObservation(tx_id, observer, 1000, 1.5, -90.0, None, "rx", 0, 1, path)


def test_new_database_has_current_schema_and_wal(tmp_path: Path) -> None:
    with Database(tmp_path / "sub" / "m.db") as db:
        version = db.read(lambda c: c.execute("PRAGMA user_version").fetchone()[0])
        mode = db.write(lambda c: c.execute("PRAGMA journal_mode").fetchone()[0])
    assert version == SCHEMA_VERSION
    assert mode == "wal"


def test_database_from_a_newer_meshlens_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(StorageError, match="newer than this meshlens"):
        Database(path)


def test_failed_write_rolls_back_and_writer_keeps_going(tmp_path: Path) -> None:
    with Database(tmp_path / "m.db") as db:

        def half_then_fail(conn: sqlite3.Connection) -> None:
            packets.insert_transmission(conn, _tx())
            raise RuntimeError("boom")

        with pytest.raises(RuntimeError, match="boom"):
            db.write(half_then_fail)
        tx_id = db.write(lambda c: packets.insert_transmission(c, _tx()))
        assert db.read(lambda c: schema.count_rows(c).transmissions) == 1
        assert tx_id >= 1


def test_same_observer_and_path_is_stored_once(tmp_path: Path) -> None:
    with Database(tmp_path / "m.db") as db:

        def write(conn: sqlite3.Connection) -> list[int | None]:
            idx, _ = directory.upsert_observer_seen(
                conn, directory.ObserverSeen("OBS", "north", "SEA", 1000, 1)
            )
            tx_id = packets.insert_transmission(conn, _tx())
            return [
                packets.insert_observation(conn, _obs(tx_id, idx, b"\xaa")),
                packets.insert_observation(conn, _obs(tx_id, idx, b"\xaa")),
                packets.insert_observation(conn, _obs(tx_id, idx, b"\xbb")),
            ]

        first, repeat, other = db.write(write)
        assert first is not None and other is not None and first != other
        assert repeat is None


def test_observer_upsert_keeps_known_name_and_counts_messages(tmp_path: Path) -> None:
    with Database(tmp_path / "m.db") as db:
        db.write(
            lambda c: directory.upsert_observer_seen(
                c, directory.ObserverSeen("O", "north", "SEA", 10, 2)
            )
        )
        idx, obs = db.write(
            lambda c: directory.upsert_observer_seen(c, directory.ObserverSeen("O", "", "", 5, 3))
        )
    assert obs.name == "north" and obs.iata == "SEA"
    assert obs.packet_count == 5
    assert obs.last_seen_ms == 10 and obs.first_seen_ms == 10
    assert idx == 1


def test_everything_survives_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    with Database(path) as db:
        db.write(lambda c: packets.insert_transmission(c, _tx()))
    with Database(path) as db:
        assert db.read(lambda c: schema.count_rows(c).transmissions) == 1


def test_writes_after_close_are_refused(tmp_path: Path) -> None:
    db = Database(tmp_path / "m.db")
    db.close()
    db.close()  # twice is harmless
    with pytest.raises(StorageError, match="closed"):
        db.write(lambda c: None)


def test_a_second_writer_on_the_same_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    with Database(path), pytest.raises(StorageError, match="in use by another meshlens"):
        Database(path)
    with Database(path):  # released on close
        pass


def test_a_read_only_open_shares_the_file_with_its_writer(tmp_path: Path) -> None:
    from meshlens.db.database import ReadOnlyDatabase

    path = tmp_path / "m.db"
    with Database(path) as db:
        db.write(lambda c: packets.insert_transmission(c, _tx()))
        with ReadOnlyDatabase(path) as ro:
            assert ro.read(lambda c: schema.count_rows(c).transmissions) == 1
    with pytest.raises(StorageError, match="no database"):
        ReadOnlyDatabase(tmp_path / "missing.db")


def _observation_indexes(conn: sqlite3.Connection) -> set[str]:
    rows = conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'observations'"
        " AND sql IS NOT NULL"
    )
    return {name for (name,) in rows}


def test_a_version_1_database_loses_its_unused_observation_indexes_and_keeps_its_rows(
    tmp_path: Path,
) -> None:
    path = tmp_path / "v1.db"
    conn = sqlite3.connect(path, isolation_level=None)
    schema.MIGRATIONS[0](conn)
    conn.execute("PRAGMA user_version = 1")
    conn.execute(
        "INSERT INTO observers (idx, id, first_seen_ms, last_seen_ms) VALUES (1, 'OBS', 0, 0)"
    )
    tx_id = packets.insert_transmission(conn, _tx())
    conn.execute(
        "INSERT INTO observations (transmission_id, observer_idx, ts_ms, path_byte, hop_width,"
        " path) VALUES (?, 1, 1000, 0, 1, x'')",
        (tx_id,),
    )
    assert _observation_indexes(conn) == {
        "observations_dedup", "observations_ts", "observations_observer_ts"
    }  # fmt: skip
    conn.close()
    with Database(path) as db:
        version = db.read(lambda c: c.execute("PRAGMA user_version").fetchone()[0])
        indexes = db.read(_observation_indexes)
        counts = db.read(schema.count_rows)
    assert version == SCHEMA_VERSION == 2
    assert indexes == {"observations_dedup"}
    assert (counts.transmissions, counts.observations) == (1, 1)


def test_a_new_database_indexes_observations_only_for_deduplication(tmp_path: Path) -> None:
    with Database(tmp_path / "m.db") as db:
        assert db.read(_observation_indexes) == {"observations_dedup"}
