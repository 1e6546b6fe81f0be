"""Time formats of the reference API, and instant parsing that never raises.

All internal times are integer unix milliseconds (`*_ms`). The wire formats are:
second-precision RFC3339 (`2026-03-28T01:17:11Z`) for stored first/last-seen times and
millisecond ISO (`2026-03-28T01:17:11.000Z`) for observation times (protocol §10.2).
"""

from __future__ import annotations

import datetime as dt
import re

_UTC = dt.UTC
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=_UTC)

# RFC3339 with optional fraction and zone; also the legacy "YYYY-MM-DD HH:MM:SS" form.
_INSTANT = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?"
    r"(Z|z|[+-]\d{2}:?\d{2})?$"
)


def iso_seconds(ms: int) -> str:
    """Format unix ms as RFC3339 UTC with second precision: 2026-03-28T01:17:11Z."""
    t = _EPOCH + dt.timedelta(milliseconds=ms)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_millis(ms: int) -> str:
    """Format unix ms as ISO UTC with milliseconds: 2026-03-28T01:17:11.000Z."""
    t = _EPOCH + dt.timedelta(milliseconds=ms)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def parse_instant(text: str) -> int | None:
    """Parse RFC3339 (any fraction, Z or offset) or legacy 'YYYY-MM-DD HH:MM:SS' to unix ms.

    A string without a zone is read as UTC. Returns None for anything unparseable.
    """
    m = _INSTANT.match(text.strip())
    if m is None:
        return None
    year, month, day, hour, minute, second, frac, zone = m.groups()
    try:
        t = dt.datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), tzinfo=_UTC
        )
    except ValueError:
        return None
    ms = (t - _EPOCH) // dt.timedelta(milliseconds=1)
    if frac:
        ms += int((frac + "000")[:3])
    if zone and zone not in ("Z", "z"):
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        ms -= sign * (int(digits[:2]) * 60 + int(digits[2:])) * 60_000
    return ms


def is_naive(text: str) -> bool:
    """True when a parseable timestamp carries no zone (meshcoretomqtt before June 2026)."""
    m = _INSTANT.match(text.strip())
    return m is not None and m.group(8) is None


def hour_key(ms: int) -> str:
    """The reference API's hour bucket: the first 13 characters of the ISO time."""
    return iso_millis(ms)[:13]
