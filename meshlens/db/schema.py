"""The meshlens SQLite schema, its forward migrations and its row counts.

The tables follow CoreScope's model (protocol.md §12) with meshlens' own encoding: raw
frames and paths as BLOBs, times as integer unix milliseconds, observations referring to
observers by integer rowid. `PRAGMA user_version` is the schema version; each migration
moves it forward by one and runs in its own transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

from meshlens.db import retention
from meshlens.errors import StorageError

_V1 = """
CREATE TABLE observers (
    idx INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL DEFAULT '',
    iata TEXT NOT NULL DEFAULT '',
    first_seen_ms INTEGER NOT NULL,
    last_seen_ms INTEGER NOT NULL,
    packet_count INTEGER NOT NULL DEFAULT 0,
    model TEXT,
    firmware TEXT,
    client_version TEXT,
    radio TEXT,
    battery_mv INTEGER,
    uptime_secs INTEGER,
    noise_floor REAL,
    inactive INTEGER NOT NULL DEFAULT 0,
    last_packet_at_ms INTEGER,
    clock_skew_seconds INTEGER,
    clock_skew_count_24h INTEGER NOT NULL DEFAULT 0,
    clock_last_naive_at_ms INTEGER,
    can_relay INTEGER NOT NULL DEFAULT 1,
    can_relay_seen INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX observers_last_seen ON observers(last_seen_ms);

CREATE TABLE observer_metrics (
    observer_id TEXT NOT NULL,
    ts_ms INTEGER NOT NULL,
    noise_floor REAL,
    tx_air_secs INTEGER,
    rx_air_secs INTEGER,
    recv_errors INTEGER,
    battery_mv INTEGER,
    packets_sent INTEGER,
    packets_recv INTEGER,
    PRIMARY KEY (observer_id, ts_ms)
) WITHOUT ROWID;
CREATE INDEX observer_metrics_ts ON observer_metrics(ts_ms);

CREATE TABLE nodes (
    public_key TEXT PRIMARY KEY,
    name TEXT NOT NULL DEFAULT '',
    role TEXT NOT NULL DEFAULT '',
    lat REAL,
    lon REAL,
    first_seen_ms INTEGER NOT NULL,
    last_seen_ms INTEGER NOT NULL,
    advert_count INTEGER NOT NULL DEFAULT 0,
    battery_mv INTEGER,
    temperature_c REAL,
    foreign_advert INTEGER NOT NULL DEFAULT 0,
    default_scope TEXT
) WITHOUT ROWID;
CREATE INDEX nodes_last_seen ON nodes(last_seen_ms);

CREATE TABLE transmissions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    hash TEXT NOT NULL UNIQUE,
    raw BLOB NOT NULL,
    first_seen_ms INTEGER NOT NULL,
    last_seen_ms INTEGER NOT NULL,
    route_type INTEGER NOT NULL,
    payload_type INTEGER NOT NULL,
    payload_version INTEGER NOT NULL,
    decoded_json TEXT NOT NULL,
    from_pubkey TEXT,
    channel_hash TEXT,
    scope_name TEXT
);
CREATE INDEX transmissions_first_seen ON transmissions(first_seen_ms);
CREATE INDEX transmissions_payload_type ON transmissions(payload_type);
CREATE INDEX transmissions_from_pubkey ON transmissions(from_pubkey) WHERE from_pubkey IS NOT NULL;

CREATE TABLE observations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    transmission_id INTEGER NOT NULL REFERENCES transmissions(id) ON DELETE CASCADE,
    observer_idx INTEGER NOT NULL REFERENCES observers(idx),
    ts_ms INTEGER NOT NULL,
    snr REAL,
    rssi REAL,
    score INTEGER,
    direction TEXT,
    path_byte INTEGER NOT NULL,
    hop_width INTEGER NOT NULL,
    path BLOB NOT NULL
);
-- protocol §6.2: one row per (transmission, observer, path), so repeats are ignored
CREATE UNIQUE INDEX observations_dedup ON observations(transmission_id, observer_idx, path);
CREATE INDEX observations_ts ON observations(ts_ms);
CREATE INDEX observations_observer_ts ON observations(observer_idx, ts_ms);

CREATE TABLE dropped_packets (
    id INTEGER PRIMARY KEY,
    hash TEXT,
    raw BLOB,
    reason TEXT NOT NULL,
    observer_id TEXT,
    observer_name TEXT,
    node_pubkey TEXT,
    node_name TEXT,
    dropped_at_ms INTEGER NOT NULL
);
CREATE INDEX dropped_packets_observer ON dropped_packets(observer_id);
"""

# Version 2: the two secondary indexes of observations go. No meshlens query used them
# (observations are read by id and deleted by transmission, through observations_dedup),
# yet they were nearly a third of the staging database (295 MB -> 207 MB) and 30-45 % of
# a live ingest batch's CPU (docs/benchmarks.md, "Two unused indexes").
_V2_DROPPED = ("observations_ts", "observations_observer_ts")

Migration = Callable[[sqlite3.Connection], None]


def _script(sql: str) -> Migration:
    def run(conn: sqlite3.Connection) -> None:
        for statement in sql.split(";"):
            if statement.strip():
                conn.execute(statement)

    return run


def _drop_unused_observation_indexes(conn: sqlite3.Connection) -> None:
    for name in _V2_DROPPED:
        conn.execute(f"DROP INDEX IF EXISTS {name}")
    # Give the freed pages back now, not at the first retention pass that deletes
    # something: ~88 MB at the staging profile, ~0.3 s.
    retention.vacuum_step(conn, retention.free_page_count(conn))


# Index i moves the schema from version i to i + 1. Append; never edit a shipped entry.
MIGRATIONS: tuple[Migration, ...] = (_script(_V1), _drop_unused_observation_indexes)

SCHEMA_VERSION = len(MIGRATIONS)


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the database to SCHEMA_VERSION; returns the version it started at."""
    start = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if start > SCHEMA_VERSION:
        raise StorageError(
            f"database schema version {start} is newer than this meshlens ({SCHEMA_VERSION}); "
            "upgrade meshlens"
        )
    for version in range(start, SCHEMA_VERSION):
        conn.execute("BEGIN IMMEDIATE")
        try:
            MIGRATIONS[version](conn)
            conn.execute(f"PRAGMA user_version = {version + 1}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return start


@dataclass(frozen=True, slots=True)
class RowCounts:
    """How many rows each table holds."""

    transmissions: int
    observations: int
    nodes: int
    observers: int


def count_rows(conn: sqlite3.Connection) -> RowCounts:
    """Row counts of the main tables (exact, COUNT(*): read once, to size the start-up load)."""

    def count(sql: str) -> int:
        return int(conn.execute(sql).fetchone()[0] or 0)

    return RowCounts(
        transmissions=count("SELECT COUNT(*) FROM transmissions"),
        observations=count("SELECT COUNT(*) FROM observations"),
        nodes=count("SELECT COUNT(*) FROM nodes"),
        observers=count("SELECT COUNT(*) FROM observers"),
    )
