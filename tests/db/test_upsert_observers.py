"""Observers upserted from traffic, many in one statement: each row as the rules say."""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meshlens.db import directory, multirow
from meshlens.db.database import Database
from meshlens.records import Observer

_seen = st.builds(
    directory.ObserverSeen,
    id=st.sampled_from(["O1", "O2", "O3", "o1", "O4"]),
    name=st.sampled_from(["", "Ridge", "Ridge Repeater"]),
    iata=st.sampled_from(["", "SEA", "PDX"]),
    seen_at_ms=st.integers(0, 10_000),
    messages=st.integers(1, 50),
    packet_at_ms=st.none() | st.integers(0, 10_000),
    first_seen_ms=st.none() | st.integers(0, 10_000),
)


def _distinct(seens: list[directory.ObserverSeen]) -> list[directory.ObserverSeen]:
    return list({s.id: s for s in seens}.values())


Row = tuple[str, str, int, int, int, int | None]  # name, iata, first, last, count, packet


def _model(rows: dict[str, Row], seen: directory.ObserverSeen) -> None:
    """What an upsert from traffic does to an observer's row, written out by hand."""
    old = rows.get(seen.id)
    if old is None:
        first = seen.seen_at_ms if seen.first_seen_ms is None else seen.first_seen_ms
        rows[seen.id] = (
            seen.name, seen.iata, first, seen.seen_at_ms, seen.messages, seen.packet_at_ms,
        )  # fmt: skip
        return
    name, iata, first, last, count, packet = old
    rows[seen.id] = (
        seen.name or name,
        seen.iata or iata,
        first,
        max(last, seen.seen_at_ms),
        count + seen.messages,
        packet if seen.packet_at_ms is None else max(packet or 0, seen.packet_at_ms),
    )


@settings(max_examples=40, deadline=None)
@given(batches=st.lists(st.lists(_seen, max_size=6).map(_distinct), min_size=1, max_size=4))
def test_a_batch_upsert_gives_every_observer_the_row_the_rules_say(
    batches: list[list[directory.ObserverSeen]],
) -> None:
    expected: dict[str, Row] = {}
    with (
        tempfile.TemporaryDirectory() as tmp,
        Database(Path(tmp) / "o.db") as db,
        pytest.MonkeyPatch.context() as patch,
    ):
        patch.setattr(multirow, "CHUNK_ROWS", 2)  # statements of 1 and 2 rows, in turn
        for batch in batches:

            def write(conn: sqlite3.Connection) -> list[tuple[int, Observer]]:
                return directory.upsert_observers_seen(conn, batch)  # noqa: B023

            returned = db.write(write)
            for seen in batch:
                _model(expected, seen)
            assert [o.id for _, o in returned] == [s.id for s in batch]
            for _, o in returned:
                got = (o.name, o.iata, o.first_seen_ms, o.last_seen_ms, o.packet_count,
                       o.last_packet_at_ms)  # fmt: skip
                assert got == expected[o.id]
        stored = db.read(
            lambda c: c.execute(
                "SELECT id, name, iata, first_seen_ms, last_seen_ms, packet_count,"
                " last_packet_at_ms FROM observers"
            ).fetchall()
        )
    assert {row[0]: tuple(row[1:]) for row in stored} == expected


def test_counts_add_up_and_an_empty_name_keeps_the_known_one(tmp_path: Path) -> None:
    with Database(tmp_path / "o.db") as db:
        db.write(
            lambda c: directory.upsert_observers_seen(
                c, [directory.ObserverSeen("A", "Alpha", "SEA", 100, 3, 90, 80)]
            )
        )
        rows = db.write(
            lambda c: directory.upsert_observers_seen(
                c,
                [
                    directory.ObserverSeen("B", "Bravo", "PDX", 200, 2),
                    directory.ObserverSeen("A", "", "", 150, 4, None, 120),
                ],
            )
        )
    (b_idx, b), (a_idx, a) = rows
    assert (b.id, b.name, b.packet_count, b.first_seen_ms, b.last_seen_ms) == (
        "B", "Bravo", 2, 200, 200,
    )  # fmt: skip
    assert (a.id, a.name, a.iata, a.packet_count) == ("A", "Alpha", "SEA", 7)
    assert (a.first_seen_ms, a.last_seen_ms, a.last_packet_at_ms) == (80, 150, 90)
    assert a_idx != b_idx


def test_an_observer_named_twice_in_one_batch_is_refused(tmp_path: Path) -> None:
    twice = [directory.ObserverSeen("A", "", "", 1, 1), directory.ObserverSeen("A", "", "", 2, 1)]
    with Database(tmp_path / "o.db") as db, pytest.raises(ValueError, match="each observer once"):
        db.write(lambda c: directory.upsert_observers_seen(c, twice))
