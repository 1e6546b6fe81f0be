"""Observer status messages (protocol §2.5, §11): what one says, read from its JSON.

meshcoretomqtt publishes one on `meshcore/{IATA}/{OBSERVER}/status` when an observer comes
online and every few minutes after: its model, firmware, radio settings and device stats.
Reading is pure, and imports neither the database nor the store, so the MQTT receipt
process stays small (mqtt_child.py); `status_rows` writes what was read.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass

from meshlens.errors import InputError
from meshlens.ingest.messages import Topic, coerce_number

_INT_STATS = ("battery_mv", "uptime_secs", "tx_air_secs", "rx_air_secs", "recv_errors",
              "packets_sent", "packets_recv")  # fmt: skip
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
    where = topic.where
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
