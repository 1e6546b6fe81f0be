"""Named queries: every SQL statement meshlens runs, as a function of a connection."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import Any, TypeVar

from meshlens.records import Node, Observer, ObserverId, PubKey

_OBSERVER_COLUMNS = (
    "idx, id, name, iata, first_seen_ms, last_seen_ms, packet_count, model, firmware, "
    "client_version, radio, battery_mv, uptime_secs, noise_floor, inactive, last_packet_at_ms, "
    "clock_skew_seconds, clock_skew_count_24h, clock_last_naive_at_ms, can_relay, can_relay_seen"
)

_NODE_COLUMNS = (
    "public_key, name, role, lat, lon, first_seen_ms, last_seen_ms, advert_count, battery_mv, "
    "temperature_c, foreign_advert, default_scope"
)


def _observer(row: Any) -> tuple[int, Observer]:
    (idx, oid, name, iata, first, last, count, model, firmware, client, radio, battery,
     uptime, noise, inactive, last_packet, skew, skew_count, naive_at, relay,
     relay_seen) = row  # fmt: skip
    return int(idx), Observer(
        id=ObserverId(str(oid)),
        name=str(name),
        iata=str(iata),
        first_seen_ms=first,
        last_seen_ms=last,
        packet_count=count,
        model=model,
        firmware=firmware,
        client_version=client,
        radio=radio,
        battery_mv=battery,
        uptime_secs=uptime,
        noise_floor=noise,
        inactive=bool(inactive),
        last_packet_at_ms=last_packet,
        clock_skew_seconds=skew,
        clock_skew_count_24h=skew_count,
        clock_last_naive_at_ms=naive_at,
        can_relay=bool(relay),
        can_relay_seen=bool(relay_seen),
    )


def _node(row: Any) -> Node:
    (pk, name, role, lat, lon, first, last, adverts, battery, temp, foreign, scope) = row
    return Node(
        public_key=PubKey(str(pk)),
        name=str(name),
        role=str(role),
        lat=lat,
        lon=lon,
        first_seen_ms=first,
        last_seen_ms=last,
        advert_count=adverts,
        battery_mv=battery,
        temperature_c=temp,
        foreign=bool(foreign),
        default_scope=scope,
    )


@dataclass(frozen=True, slots=True)
class ObserverSeen:
    """What a batch of messages says about one observer (aggregated per batch)."""

    id: str
    name: str  # "" never overwrites a known name (decision 10)
    iata: str  # "" never overwrites a known region
    seen_at_ms: int
    messages: int
    packet_at_ms: int | None = None  # latest packet time, when the messages carried packets
    first_seen_ms: int | None = None  # earliest message time (None: seen_at_ms)


def upsert_observer_seen(conn: sqlite3.Connection, seen: ObserverSeen) -> tuple[int, Observer]:
    """Insert or update an observer from packet/status traffic; returns its row."""
    row = conn.execute(
        f"""INSERT INTO observers (id, name, iata, first_seen_ms, last_seen_ms, packet_count,
                                   last_packet_at_ms)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(id) DO UPDATE SET
                name = CASE WHEN excluded.name != '' THEN excluded.name ELSE name END,
                iata = CASE WHEN excluded.iata != '' THEN excluded.iata ELSE iata END,
                last_seen_ms = MAX(last_seen_ms, excluded.last_seen_ms),
                packet_count = packet_count + excluded.packet_count,
                last_packet_at_ms = CASE
                    WHEN excluded.last_packet_at_ms IS NULL THEN last_packet_at_ms
                    ELSE MAX(COALESCE(last_packet_at_ms, 0), excluded.last_packet_at_ms) END,
                inactive = 0
            RETURNING {_OBSERVER_COLUMNS}""",
        (
            seen.id,
            seen.name,
            seen.iata,
            seen.seen_at_ms if seen.first_seen_ms is None else seen.first_seen_ms,
            seen.seen_at_ms,
            seen.messages,
            seen.packet_at_ms,
        ),
    ).fetchone()
    return _observer(row)


def update_observer(conn: sqlite3.Connection, observer: Observer) -> tuple[int, Observer]:
    """Write an observer row computed by the caller (status metadata, clock fields)."""
    o = observer
    row = conn.execute(
        f"""INSERT INTO observers (id, name, iata, first_seen_ms, last_seen_ms, packet_count,
                model, firmware, client_version, radio, battery_mv, uptime_secs, noise_floor,
                inactive, last_packet_at_ms, clock_skew_seconds, clock_skew_count_24h,
                clock_last_naive_at_ms, can_relay, can_relay_seen)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(id) DO UPDATE SET
                name = excluded.name, iata = excluded.iata, first_seen_ms = excluded.first_seen_ms,
                last_seen_ms = excluded.last_seen_ms, packet_count = excluded.packet_count,
                model = excluded.model, firmware = excluded.firmware,
                client_version = excluded.client_version, radio = excluded.radio,
                battery_mv = excluded.battery_mv, uptime_secs = excluded.uptime_secs,
                noise_floor = excluded.noise_floor, inactive = excluded.inactive,
                last_packet_at_ms = excluded.last_packet_at_ms,
                clock_skew_seconds = excluded.clock_skew_seconds,
                clock_skew_count_24h = excluded.clock_skew_count_24h,
                clock_last_naive_at_ms = excluded.clock_last_naive_at_ms,
                can_relay = excluded.can_relay, can_relay_seen = excluded.can_relay_seen
            RETURNING {_OBSERVER_COLUMNS}""",
        (
            o.id, o.name, o.iata, o.first_seen_ms, o.last_seen_ms, o.packet_count, o.model,
            o.firmware, o.client_version, o.radio, o.battery_mv, o.uptime_secs, o.noise_floor,
            int(o.inactive), o.last_packet_at_ms, o.clock_skew_seconds, o.clock_skew_count_24h,
            o.clock_last_naive_at_ms, int(o.can_relay), int(o.can_relay_seen),
        ),
    ).fetchone()  # fmt: skip
    return _observer(row)


def get_observer(conn: sqlite3.Connection, observer_id: str) -> tuple[int, Observer] | None:
    """One observer row by id."""
    row = conn.execute(
        f"SELECT {_OBSERVER_COLUMNS} FROM observers WHERE id = ?", (observer_id,)
    ).fetchone()
    return None if row is None else _observer(row)


def upsert_node(conn: sqlite3.Connection, node: Node) -> None:
    """Write a node row computed by the caller (the merge rules of protocol §13 live there)."""
    n = node
    conn.execute(
        f"""INSERT INTO nodes ({_NODE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(public_key) DO UPDATE SET
                name = excluded.name, role = excluded.role, lat = excluded.lat,
                lon = excluded.lon, first_seen_ms = excluded.first_seen_ms,
                last_seen_ms = excluded.last_seen_ms, advert_count = excluded.advert_count,
                battery_mv = excluded.battery_mv, temperature_c = excluded.temperature_c,
                foreign_advert = excluded.foreign_advert, default_scope = excluded.default_scope""",
        (
            n.public_key, n.name, n.role, n.lat, n.lon, n.first_seen_ms, n.last_seen_ms,
            n.advert_count, n.battery_mv, n.temperature_c, int(n.foreign), n.default_scope,
        ),
    )  # fmt: skip


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


# Rows per multi-row statement, a power of two: a batch is cut into power-of-two chunks,
# so a dozen statement texts cover every batch size (and stay in the statement cache).
# 1024 rows of 10 values stay under SQLite's default limit of 32,766 variables.
_CHUNK_ROWS = 1024
_statements: dict[tuple[str, int], str] = {}

Row = TypeVar("Row", bound=tuple[Any, ...])


def _chunks(
    rows: Sequence[Row], head: str, one: str, tail: str
) -> Iterator[tuple[Sequence[Row], str]]:
    """Cut `rows` into power-of-two runs, each with its multi-row `head (one),(one)... tail`.

    One statement per run instead of one per row: the Python per row shrinks to flattening
    its values, and SQLite steps a whole run with the GIL released once (docs/benchmarks.md,
    import rate).
    """
    start, n = 0, len(rows)
    while start < n:
        k = _CHUNK_ROWS
        while k > n - start:
            k //= 2
        sql = _statements.get((head, k))
        if sql is None:
            sql = _statements[(head, k)] = head + ",".join([one] * k) + tail
        yield rows[start : start + k], sql
        start += k


def touch_transmissions(conn: sqlite3.Connection, spans: list[tuple[int, int, int]]) -> None:
    """Lower first_seen and raise last_seen (protocol §6.2) of many transmissions.

    `spans` holds (id, first ms, last ms) with distinct ids; a few statements in all.
    """
    for chunk, sql in _chunks(spans, _TOUCH_HEAD, "(?,?,?)", _TOUCH_TAIL):
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
    for chunk, sql in _chunks(rows, _INSERT_OBSERVATIONS, "(?,?,?,?,?,?,?,?,?,?)", ""):
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


# -- reading everything back at start-up ---------------------------------------------


@dataclass(frozen=True, slots=True)
class RowCounts:
    """How many rows each table holds."""

    transmissions: int
    observations: int
    nodes: int
    observers: int


def count_rows(conn: sqlite3.Connection) -> RowCounts:
    """Row counts of the main tables (MAX(id) is exact enough for progress and O(1))."""

    def count(sql: str) -> int:
        return int(conn.execute(sql).fetchone()[0] or 0)

    return RowCounts(
        transmissions=count("SELECT COUNT(*) FROM transmissions"),
        observations=count("SELECT COUNT(*) FROM observations"),
        nodes=count("SELECT COUNT(*) FROM nodes"),
        observers=count("SELECT COUNT(*) FROM observers"),
    )


def all_observers(conn: sqlite3.Connection) -> list[tuple[int, Observer]]:
    """Every observer row with its rowid."""
    return [_observer(r) for r in conn.execute(f"SELECT {_OBSERVER_COLUMNS} FROM observers")]


def all_nodes(conn: sqlite3.Connection) -> list[Node]:
    """Every node row."""
    return [_node(r) for r in conn.execute(f"SELECT {_NODE_COLUMNS} FROM nodes")]


TxRecord = tuple[int, str, bytes, int, int]  # id, hash, raw, first_seen_ms, last_seen_ms


def iter_transmissions(
    conn: sqlite3.Connection, after_id: int = 0, chunk: int = 20_000
) -> Iterator[list[TxRecord]]:
    """Transmissions in id order, in chunks."""
    last = after_id
    while True:
        rows: list[TxRecord] = conn.execute(
            """SELECT id, hash, raw, first_seen_ms, last_seen_ms FROM transmissions
               WHERE id > ? ORDER BY id LIMIT ?""",
            (last, chunk),
        ).fetchall()
        if not rows:
            return
        yield rows
        last = rows[-1][0]


# id, transmission_id, observer_idx, ts_ms, snr, rssi, direction, path_byte, hop_width, path.
# snr and rssi come back as +inf when NULL and direction as 0 none / 1 rx / 2 tx / 3 other
# (the store's codes): loading millions of rows, every per-row Python step counts.
ObsRecord = tuple[int, int, int, int, float, float, int, int, int, bytes]
_NO_VALUE = "9e999"  # SQLite reads this literal as +infinity


def iter_observations(
    conn: sqlite3.Connection, after_id: int = 0, chunk: int = 50_000
) -> Iterator[list[ObsRecord]]:
    """Observations in id order, in chunks."""
    last = after_id
    while True:
        rows: list[ObsRecord] = conn.execute(
            f"""SELECT id, transmission_id, observer_idx, ts_ms, IFNULL(snr, {_NO_VALUE}),
                       IFNULL(rssi, {_NO_VALUE}),
                       CASE WHEN direction IS NULL OR direction = '' THEN 0
                            WHEN lower(direction) = 'rx' THEN 1
                            WHEN lower(direction) = 'tx' THEN 2 ELSE 3 END,
                       path_byte, hop_width, path
                FROM observations WHERE id > ? ORDER BY id LIMIT ?""",
            (last, chunk),
        ).fetchall()
        if not rows:
            return
        yield rows
        last = rows[-1][0]


def observation_score(conn: sqlite3.Connection, observation_id: int) -> int | None:
    """The score an observer reported for one observation (the store does not keep it)."""
    row = conn.execute("SELECT score FROM observations WHERE id = ?", (observation_id,)).fetchone()
    return None if row is None or row[0] is None else int(row[0])


def count_dropped(conn: sqlite3.Connection) -> int:
    """Rows of dropped_packets (every drop reason)."""
    return int(conn.execute("SELECT COUNT(*) FROM dropped_packets").fetchone()[0])


@dataclass(frozen=True, slots=True)
class ObserverMetrics:
    """One observer_metrics sample (protocol §11): device stats from a status message."""

    observer_id: str
    ts_ms: int  # rounded to metrics.sampleIntervalSec
    noise_floor: float | None
    tx_air_secs: int | None
    rx_air_secs: int | None
    recv_errors: int | None
    battery_mv: int | None
    packets_sent: int | None
    packets_recv: int | None


def replace_observer_metrics(conn: sqlite3.Connection, m: ObserverMetrics) -> None:
    """Store a sample; a later one in the same interval replaces it (protocol §11)."""
    conn.execute(
        """INSERT OR REPLACE INTO observer_metrics (observer_id, ts_ms, noise_floor, tx_air_secs,
               rx_air_secs, recv_errors, battery_mv, packets_sent, packets_recv)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        (m.observer_id, m.ts_ms, m.noise_floor, m.tx_air_secs, m.rx_air_secs, m.recv_errors,
         m.battery_mv, m.packets_sent, m.packets_recv),
    )  # fmt: skip
