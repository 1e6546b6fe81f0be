"""Observer status messages written to the database: the observer's row and its metrics."""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Sequence
from typing import TypeVar

from meshlens.db import directory
from meshlens.ingest.status import ObserverStatus
from meshlens.records import Observer, ObserverId
from meshlens.store.batch import ObserverRow

T = TypeVar("T")


def _pick(new: T | None, current: T | None) -> T | None:
    return current if new is None else new


def merge_status(old: Observer | None, s: ObserverStatus) -> Observer:
    """The observer row after a status message: said values replace, unsaid ones stay."""
    at = s.received_at_ms
    if old is None:
        old = Observer(id=ObserverId(s.observer_id), name="", iata="", first_seen_ms=at,
                       last_seen_ms=at)  # fmt: skip

    return dataclasses.replace(
        old,
        name=s.name or old.name,
        iata=s.iata or old.iata,
        first_seen_ms=min(old.first_seen_ms, at),
        last_seen_ms=max(old.last_seen_ms, at),
        packet_count=old.packet_count + 1,  # §11: it counts messages
        model=_pick(s.model, old.model),
        firmware=_pick(s.firmware, old.firmware),
        client_version=_pick(s.client_version, old.client_version),
        radio=_pick(s.radio, old.radio),
        battery_mv=_pick(s.battery_mv, old.battery_mv),
        uptime_secs=_pick(s.uptime_secs, old.uptime_secs),
        noise_floor=_pick(s.noise_floor, old.noise_floor),
        inactive=False,
        can_relay=old.can_relay if s.can_relay is None else s.can_relay,
        can_relay_seen=old.can_relay_seen or s.can_relay is not None,
    )


def write_statuses(
    conn: sqlite3.Connection, statuses: Sequence[ObserverStatus], *, sample_interval_s: int
) -> list[ObserverRow]:
    """Apply status messages in order (inside the caller's transaction); the changed rows."""
    rows: dict[str, ObserverRow] = {}
    step_ms = sample_interval_s * 1000
    for s in statuses:
        found = directory.get_observer(conn, s.observer_id)
        merged = merge_status(None if found is None else found[1], s)
        rowid, observer = directory.update_observer(conn, merged)
        rows[s.observer_id] = ObserverRow(rowid, observer)
        if s.has_meta:
            # §11: the nearest multiple of the interval, halves rounding up.
            ts_ms = (s.received_at_ms + step_ms // 2) // step_ms * step_ms
            directory.replace_observer_metrics(
                conn,
                directory.ObserverMetrics(
                    s.observer_id, ts_ms, s.noise_floor, s.tx_air_secs, s.rx_air_secs,
                    s.recv_errors, s.battery_mv, s.packets_sent, s.packets_recv,
                ),
            )  # fmt: skip
    return list(rows.values())
