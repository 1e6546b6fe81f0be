"""Shared record types and aliases: what crosses the boundaries between layers."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import NewType, Protocol, TypeAlias

JSONScalar: TypeAlias = bool | int | float | str | None
JSONValue: TypeAlias = JSONScalar | list["JSONValue"] | dict[str, "JSONValue"]
JSONObject: TypeAlias = dict[str, JSONValue]

PubKey = NewType("PubKey", str)
"""A node's Ed25519 public key as 64 lower-case hex characters."""

ObserverId = NewType("ObserverId", str)
"""An observer's id as published in its MQTT topic (case preserved; usually its pubkey)."""

ContentHash = NewType("ContentHash", str)
"""The route-independent packet identity: 16 lower-case hex characters (protocol §6.1)."""


class Clock(Protocol):
    """A source of wall-clock time; injected so tests need no sleeps."""

    def now_ms(self) -> int:
        """Unix time in milliseconds."""
        ...

    def monotonic_s(self) -> float:
        """Seconds on a monotonic clock (for intervals and durations)."""
        ...


class SystemClock:
    """The real clock."""

    def now_ms(self) -> int:
        """Unix time in milliseconds."""
        return time.time_ns() // 1_000_000

    def monotonic_s(self) -> float:
        """Seconds on the monotonic clock."""
        return time.monotonic()


class FakeClock:
    """A clock that moves only when told to; for deterministic tests."""

    def __init__(self, now_ms: int = 1_767_225_600_000) -> None:
        self._now_ms = now_ms
        self._mono_s = 1000.0

    def now_ms(self) -> int:
        """Unix time in milliseconds."""
        return self._now_ms

    def monotonic_s(self) -> float:
        """Seconds on the fake monotonic clock."""
        return self._mono_s

    def advance(self, seconds: float) -> None:
        """Move both clocks forward."""
        self._now_ms += round(seconds * 1000)
        self._mono_s += seconds


@dataclass(frozen=True, slots=True)
class Sighting:
    """One observer's report of one frame, as it arrived from MQTT, a file or a POST."""

    raw: bytes
    observer_id: str  # "" when the source names no observer
    observer_name: str  # "" when unknown; never overwrites a known name (decision 10)
    region: str  # IATA code, upper case, "" when unknown
    snr_db: float | None
    rssi_dbm: float | None
    score: int | None
    direction: str | None
    received_at_ms: int
    where: str  # provenance for error messages: a topic, "file.jsonl:12", "POST /api/packets"


@dataclass(frozen=True, slots=True)
class Node:
    """A node known from its adverts (protocol §13)."""

    public_key: PubKey
    name: str
    role: str
    lat: float | None
    lon: float | None
    first_seen_ms: int
    last_seen_ms: int
    advert_count: int
    battery_mv: int | None = None
    temperature_c: float | None = None
    foreign: bool = False
    default_scope: str | None = None

    @property
    def has_gps(self) -> bool:
        """True when the node advertised a position other than the 0,0 'no fix'."""
        return (
            self.lat is not None
            and self.lon is not None
            and not (self.lat == 0.0 and self.lon == 0.0)
        )


@dataclass(frozen=True, slots=True)
class Observer:
    """An observer: a radio whose host publishes what it hears (protocol §11)."""

    id: ObserverId
    name: str
    iata: str
    first_seen_ms: int
    last_seen_ms: int
    packet_count: int = 0
    model: str | None = None
    firmware: str | None = None
    client_version: str | None = None
    radio: str | None = None
    battery_mv: int | None = None
    uptime_secs: int | None = None
    noise_floor: float | None = None
    inactive: bool = False
    last_packet_at_ms: int | None = None
    clock_skew_seconds: int | None = None
    clock_skew_count_24h: int = 0
    clock_last_naive_at_ms: int | None = None
    can_relay: bool = True
    can_relay_seen: bool = False
