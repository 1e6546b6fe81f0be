"""Observer and node rows: upserts from traffic, lookups, metrics samples, the start-up read."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from meshlens.db import multirow
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
    return upsert_observers_seen(conn, [seen])[0]


_UPSERT_OBSERVERS = """INSERT INTO observers (id, name, iata, first_seen_ms, last_seen_ms,
    packet_count, last_packet_at_ms) VALUES """
_UPSERT_OBSERVERS_TAIL = f"""
    ON CONFLICT(id) DO UPDATE SET
        name = CASE WHEN excluded.name != '' THEN excluded.name ELSE name END,
        iata = CASE WHEN excluded.iata != '' THEN excluded.iata ELSE iata END,
        last_seen_ms = MAX(last_seen_ms, excluded.last_seen_ms),
        packet_count = packet_count + excluded.packet_count,
        last_packet_at_ms = CASE
            WHEN excluded.last_packet_at_ms IS NULL THEN last_packet_at_ms
            ELSE MAX(COALESCE(last_packet_at_ms, 0), excluded.last_packet_at_ms) END,
        inactive = 0
    RETURNING {_OBSERVER_COLUMNS}"""


def upsert_observers_seen(
    conn: sqlite3.Connection, seens: Sequence[ObserverSeen]
) -> list[tuple[int, Observer]]:
    """`upsert_observer_seen` for many distinct observers, in multi-row statements; rows in order.

    A live batch names each of its observers once, and one statement for all of them
    costs the writer a fraction of a statement each (docs/benchmarks.md, session 19).
    """
    values = [
        (s.id, s.name, s.iata, s.seen_at_ms if s.first_seen_ms is None else s.first_seen_ms,
         s.seen_at_ms, s.messages, s.packet_at_ms)
        for s in seens
    ]  # fmt: skip
    rows: dict[str, tuple[int, Observer]] = {}
    for chunk, sql in multirow.chunked(
        values, _UPSERT_OBSERVERS, "(?, ?, ?, ?, ?, ?, ?)", _UPSERT_OBSERVERS_TAIL
    ):
        returned = conn.execute(sql, [v for row in chunk for v in row]).fetchall()
        for row in returned:  # RETURNING's order is unspecified: matched by id
            rowid, observer = _observer(row)
            rows[observer.id] = (rowid, observer)
    if len(rows) != len(seens):
        raise ValueError("upsert_observers_seen takes each observer once")
    return [rows[seen.id] for seen in seens]


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


def get_node(conn: sqlite3.Connection, public_key: str) -> Node | None:
    """One node row by public key."""
    row = conn.execute(
        f"SELECT {_NODE_COLUMNS} FROM nodes WHERE public_key = ?", (public_key,)
    ).fetchone()
    return None if row is None else _node(row)


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


def all_observers(conn: sqlite3.Connection) -> list[tuple[int, Observer]]:
    """Every observer row with its rowid."""
    return [_observer(r) for r in conn.execute(f"SELECT {_OBSERVER_COLUMNS} FROM observers")]


def all_nodes(conn: sqlite3.Connection) -> list[Node]:
    """Every node row."""
    return [_node(r) for r in conn.execute(f"SELECT {_NODE_COLUMNS} FROM nodes")]


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
