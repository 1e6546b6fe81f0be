"""Transmission, observation and dropped-packet rows: batched inserts and chunked reads."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import Any

from meshlens.db import multirow


@dataclass(frozen=True, slots=True)
class NewTransmission:
    """A transmission row to insert."""

    content_hash: str
    raw: bytes
    seen_at_ms: int
    route_type: int
    payload_type: int
    payload_version: int
    decoded_json: str
    from_pubkey: str | None
    channel_hash: str | None
    scope_name: str | None
    last_seen_ms: int | None = None  # the latest sighting so far (None: seen_at_ms)


def insert_transmission(conn: sqlite3.Connection, tx: NewTransmission) -> int:
    """Insert a new transmission; returns its id."""
    last = tx.seen_at_ms if tx.last_seen_ms is None else tx.last_seen_ms
    cur = conn.execute(
        """INSERT INTO transmissions (hash, raw, first_seen_ms, last_seen_ms, route_type,
               payload_type, payload_version, decoded_json, from_pubkey, channel_hash, scope_name)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        (
            tx.content_hash, tx.raw, tx.seen_at_ms, last, tx.route_type, tx.payload_type,
            tx.payload_version, tx.decoded_json, tx.from_pubkey, tx.channel_hash, tx.scope_name,
        ),
    )  # fmt: skip
    assert cur.lastrowid is not None
    return cur.lastrowid


def known_transmissions(
    conn: sqlite3.Connection, content_hashes: Sequence[str]
) -> list[tuple[str, int, int, str | None]]:
    """(hash, id, payload type, from_pubkey) of the stored ones among `content_hashes`."""
    # One JSON array bound as a whole: no limit on the number of SQL variables.
    return conn.execute(
        "SELECT hash, id, payload_type, from_pubkey FROM transmissions"
        " WHERE hash IN (SELECT value FROM json_each(?))",
        (json.dumps(list(content_hashes)),),
    ).fetchall()


def touch_transmissions(conn: sqlite3.Connection, spans: list[tuple[int, int, int]]) -> None:
    """Lower first_seen and raise last_seen (protocol §6.2) of many transmissions.

    `spans` holds (id, first ms, last ms) with distinct ids; a few statements in all.
    """
    for chunk, sql in multirow.chunked(spans, _TOUCH_HEAD, "(?,?,?)", _TOUCH_TAIL):
        conn.execute(sql, list(chain.from_iterable(chunk)))


_TOUCH_HEAD = """UPDATE transmissions SET first_seen_ms = MIN(first_seen_ms, v.column2),
    last_seen_ms = MAX(last_seen_ms, v.column3) FROM (VALUES """
_TOUCH_TAIL = ") AS v WHERE transmissions.id = v.column1"


@dataclass(frozen=True, slots=True)
class NewObservation:
    """An observation row to insert."""

    transmission_id: int
    observer_idx: int
    ts_ms: int
    snr: float | None
    rssi: float | None
    score: int | None
    direction: str | None
    path_byte: int
    hop_width: int
    path: bytes


# transmission_id, observer_idx, ts_ms, snr, rssi, score, direction, path_byte, hop_width, path
ObservationValues = tuple[
    int, int, int, float | None, float | None, int | None, str | None, int, int, bytes
]

_INSERT_OBSERVATIONS = """INSERT OR IGNORE INTO observations (transmission_id, observer_idx,
    ts_ms, snr, rssi, score, direction, path_byte, hop_width, path) VALUES """

_SEQUENCE = "SELECT seq FROM sqlite_sequence WHERE name = 'observations'"


def insert_observations(
    conn: sqlite3.Connection, rows: list[ObservationValues]
) -> list[int | None]:
    """Insert observations with multi-row statements; each gets its id, or None when it
    repeats a stored one (or one earlier in `rows`).

    AUTOINCREMENT hands out ids in insertion order after the table's sequence, and this
    connection is the only writer, so when nothing was ignored the ids follow from the
    sequence. When some were, SQLite has still given every row its number before the
    unique index refused it (the sequence moved by one per row): row i is stored as
    start + 1 + i if at all, and only the ids need reading back. Should a SQLite ever
    number otherwise, the new rows are read back and matched in order.
    """
    if not rows:
        return []
    row = conn.execute(_SEQUENCE).fetchone()
    start = int(row[0]) if row else 0
    before = conn.total_changes
    for chunk, sql in multirow.chunked(rows, _INSERT_OBSERVATIONS, "(?,?,?,?,?,?,?,?,?,?)", ""):
        conn.execute(sql, list(chain.from_iterable(chunk)))
    n = len(rows)
    if conn.total_changes - before == n:
        return list(range(start + 1, start + 1 + n))
    end = conn.execute(_SEQUENCE).fetchone()
    if end is not None and int(end[0]) == start + n:
        out: list[int | None] = [None] * n
        for (offset,) in conn.execute(
            "SELECT id - ? FROM observations WHERE id > ?", (start + 1, start)
        ).fetchall():
            out[offset] = start + 1 + offset
        return out
    return match_stored(conn, rows, start)


def match_stored(
    conn: sqlite3.Connection, rows: list[ObservationValues], start: int
) -> list[int | None]:
    """The ids of `rows` just inserted after id `start`, None for those ignored, read back
    and matched on the unique key in order."""
    stored = conn.execute(
        "SELECT id, transmission_id, observer_idx, path FROM observations WHERE id > ? ORDER BY id",
        (start,),
    ).fetchall()
    out: list[int | None] = []
    j = 0
    for values in rows:
        if j < len(stored) and stored[j][1:] == (values[0], values[1], values[9]):
            out.append(int(stored[j][0]))
            j += 1
        else:
            out.append(None)
    return out


def insert_observation(conn: sqlite3.Connection, obs: NewObservation) -> int | None:
    """Insert an observation; returns its id, or None when it repeats a stored one."""
    cur = conn.execute(
        """INSERT OR IGNORE INTO observations (transmission_id, observer_idx, ts_ms, snr, rssi,
               score, direction, path_byte, hop_width, path)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        (
            obs.transmission_id, obs.observer_idx, obs.ts_ms, obs.snr, obs.rssi, obs.score,
            obs.direction, obs.path_byte, obs.hop_width, obs.path,
        ),
    )  # fmt: skip
    return cur.lastrowid if cur.rowcount == 1 else None


def insert_dropped(
    conn: sqlite3.Connection,
    *,
    content_hash: str | None,
    raw: bytes | None,
    reason: str,
    observer_id: str | None,
    observer_name: str | None,
    node_pubkey: str | None,
    node_name: str | None,
    at_ms: int,
) -> None:
    """Record a packet that was received but refused (invalid signature, bad advert)."""
    conn.execute(
        """INSERT INTO dropped_packets (hash, raw, reason, observer_id, observer_name,
               node_pubkey, node_name, dropped_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
        (content_hash, raw, reason, observer_id, observer_name, node_pubkey, node_name, at_ms),
    )


TxRecord = tuple[int, str, bytes, int, int]  # id, hash, raw, first_seen_ms, last_seen_ms


def iter_transmissions(
    conn: sqlite3.Connection, after_id: int = 0, chunk: int = 20_000
) -> Iterator[list[TxRecord]]:
    """Transmissions in id order, in chunks."""
    return _by_id(
        conn,
        """SELECT id, hash, raw, first_seen_ms, last_seen_ms FROM transmissions
           WHERE id > ? ORDER BY id LIMIT ?""",
        after_id,
        chunk,
    )


# id, transmission_id, observer_idx, ts_ms, snr, rssi, direction, path_byte, hop_width, path.
# snr and rssi come back as +inf when NULL and direction as 0 none / 1 rx / 2 tx / 3 other
# (the store's codes): loading millions of rows, every per-row Python step counts.
ObsRecord = tuple[int, int, int, int, float, float, int, int, int, bytes]
_NO_VALUE = "9e999"  # SQLite reads this literal as +infinity


def iter_observations(
    conn: sqlite3.Connection, after_id: int = 0, chunk: int = 50_000
) -> Iterator[list[ObsRecord]]:
    """Observations in id order, in chunks."""
    return _by_id(
        conn,
        f"""SELECT id, transmission_id, observer_idx, ts_ms, IFNULL(snr, {_NO_VALUE}),
                   IFNULL(rssi, {_NO_VALUE}),
                   CASE WHEN direction IS NULL OR direction = '' THEN 0
                        WHEN lower(direction) = 'rx' THEN 1
                        WHEN lower(direction) = 'tx' THEN 2 ELSE 3 END,
                   path_byte, hop_width, path
            FROM observations WHERE id > ? ORDER BY id LIMIT ?""",
        after_id,
        chunk,
    )


def _by_id(conn: sqlite3.Connection, sql: str, after_id: int, chunk: int) -> Iterator[list[Any]]:
    """Rows of `sql` (its parameters: the last id seen, a limit) in id order, a chunk at a time.

    Keyset paging: each chunk starts after the last id of the one before, so a chunk costs
    the same however far into the table it is.
    """
    last = after_id
    while rows := conn.execute(sql, (last, chunk)).fetchall():
        yield rows
        last = rows[-1][0]


def observation_score(conn: sqlite3.Connection, observation_id: int) -> int | None:
    """The score an observer reported for one observation (the store does not keep it)."""
    row = conn.execute("SELECT score FROM observations WHERE id = ?", (observation_id,)).fetchone()
    return None if row is None or row[0] is None else int(row[0])


def count_dropped(conn: sqlite3.Connection) -> int:
    """Rows of dropped_packets (every drop reason)."""
    return int(conn.execute("SELECT COUNT(*) FROM dropped_packets").fetchone()[0])
