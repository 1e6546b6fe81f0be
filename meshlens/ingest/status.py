"""Observer status messages (protocol §2.5, §11): read them, and write them to observers.

meshcoretomqtt publishes one on `meshcore/{IATA}/{OBSERVER}/status` when an observer comes
online and every few minutes after: its model, firmware, radio settings and device stats.
Reading is pure; `write_statuses` runs inside a write transaction of the database.
"""

from __future__ import annotations

import dataclasses
import math
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from meshlens.db import directory
from meshlens.errors import InputError
from meshlens.ingest.messages import Topic, coerce_number
from meshlens.records import Observer, ObserverId
from meshlens.store.batch import ObserverRow

_INT_STATS = ("battery_mv", "uptime_secs", "tx_air_secs", "rx_air_secs", "recv_errors",
              "packets_sent", "packets_recv")  # fmt: skip
T = TypeVar("T")
_ON = frozenset({"on", "true", "1", "yes"})
_OFF = frozenset({"off", "false", "0", "no"})


@dataclass(frozen=True, slots=True)
class ObserverStatus:
    """What one status message says about its observer; None means "not said"."""

    observer_id: str
    name: str  # `origin`; "" never overwrites a known name
    iata: str  # the topic's region, upper-cased
    received_at_ms: int
    model: str | None = None
    firmware: str | None = None
    client_version: str | None = None
    radio: str | None = None
    battery_mv: int | None = None
    uptime_secs: int | None = None
    noise_floor: float | None = None
    tx_air_secs: int | None = None
    rx_air_secs: int | None = None
    recv_errors: int | None = None
    packets_sent: int | None = None
    packets_recv: int | None = None
    can_relay: bool | None = None  # firmware 1.16 `repeat`
    where: str = ""

    @property
    def has_meta(self) -> bool:
        """True when any metadata or stat was present (§11: otherwise no metrics row)."""
        return any(
            getattr(self, f.name) is not None
            for f in dataclasses.fields(self)[4:]
            if f.name != "where"
        )


def read_status_message(
    topic: Topic, payload: Mapping[str, object], *, received_at_ms: int
) -> ObserverStatus:
    """One status message (§11) as an ObserverStatus; raises InputError without an observer."""
    where = f"topic {topic.text}"
    if not topic.observer_id:
        raise InputError("missing_observer", where, "a status topic names no observer")
    stats = payload.get("stats")
    nested: Mapping[str, object] = stats if isinstance(stats, dict) else {}
    ints = {name: _stat_int(nested, payload, name) for name in _INT_STATS}
    noise = _stat(nested, payload, "noise_floor")
    origin = payload.get("origin")
    return ObserverStatus(
        observer_id=topic.observer_id,
        name=origin if isinstance(origin, str) else "",
        iata=topic.region,
        received_at_ms=received_at_ms,
        model=_text(payload, "model"),
        firmware=_text(payload, "firmware_version") or _text(payload, "firmware"),
        client_version=_text(payload, "clientVersion") or _text(payload, "client_version"),
        radio=_text(payload, "radio"),
        noise_floor=noise,
        can_relay=_repeat(payload.get("repeat")),
        where=where,
        **ints,
    )


def _text(payload: Mapping[str, object], key: str) -> str | None:
    value = payload.get(key)
    return value if isinstance(value, str) and value else None


def _stat(nested: Mapping[str, object], payload: Mapping[str, object], key: str) -> float | None:
    """§11: a key found in `stats` is used even when it does not coerce (no fall-back)."""
    value = nested[key] if key in nested else payload.get(key)
    number = coerce_number(value)
    return None if number is None or not math.isfinite(number) else number


def _stat_int(nested: Mapping[str, object], payload: Mapping[str, object], key: str) -> int | None:
    number = _stat(nested, payload, key)
    if number is None or abs(number) >= 2**63:
        return None
    return round(number)


def _repeat(value: object) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _ON:
            return True
        if word in _OFF:
            return False
    return None


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
