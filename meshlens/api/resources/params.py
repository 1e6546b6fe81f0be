"""Query parameters of the resource endpoints (api-resources §0.2), parsed strictly.

CoreScope silently replaces malformed values with defaults; meshlens answers 400 naming
the parameter and what it accepts, so a typo never looks like "no data". The exceptions
are kept for compatibility and listed in docs/api.md: a zero `limit` means the default,
a negative `offset` counts as 0, a boolean flag is on only for exactly `true`, and
`order` is ascending only for exactly `asc`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from meshlens.analytics.query import normalise_region
from meshlens.errors import QueryError
from meshlens.times import parse_instant

LIMIT_CLAMPED_HEADER = b"x-meshlens-limit-clamped"
LIMIT_MAX_HEADER = b"x-meshlens-limit-max"


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a list: how many rows, after how many, and whether `limit` was clamped."""

    limit: int
    offset: int
    cap: int
    requested: int | None = None  # the limit asked for, when it was above the cap

    @property
    def clamped(self) -> bool:
        """True when the client asked for more rows than the cap allows."""
        return self.requested is not None

    def headers(self) -> list[tuple[bytes, bytes]]:
        """The cap, and the limit asked for when it was clamped (docs/api.md)."""
        out = [(LIMIT_MAX_HEADER, str(self.cap).encode())]
        if self.requested is not None:
            out.append((LIMIT_CLAMPED_HEADER, str(self.requested).encode()))
        return out


def integer(params: Mapping[str, str], name: str, accepted: str) -> int | None:
    """An optional integer parameter; None when absent or empty."""
    raw = params.get(name)
    if raw is None or raw.strip() == "":
        return None
    try:
        return int(raw.strip())
    except ValueError:
        raise QueryError(name, accepted, raw) from None


def page(params: Mapping[str, str], *, default: int, cap: int) -> Page:
    """`limit` and `offset`: a limit above `cap` is clamped (and said so), 0 is the default."""
    limit = integer(params, "limit", f"an integer from 0 to {cap}")
    if limit is not None and limit < 0:
        raise QueryError("limit", f"an integer from 0 to {cap}", params["limit"])
    offset = integer(params, "offset", "a non-negative integer")
    offset = max(0, offset or 0)  # §0.2: meshlens clamps a negative offset to 0
    if not limit:
        return Page(min(default, cap), offset, cap)
    if limit > cap:
        return Page(cap, offset, cap, requested=limit)
    return Page(limit, offset, cap)


def flag(params: Mapping[str, str], name: str) -> bool:
    """§0.2: on only for exactly `true` (clients send `True` and expect it off)."""
    return params.get(name) == "true"


def ascending(params: Mapping[str, str]) -> bool:
    """§0.2: exactly `asc` is ascending; anything else, descending."""
    return params.get("order") == "asc"


def region(params: Mapping[str, str]) -> frozenset[str]:
    """§0.2 region codes (decision 9: `All` is no filter)."""
    return normalise_region(params.get("region"))


def instant(params: Mapping[str, str], name: str) -> int | None:
    """An optional RFC3339 time (or legacy `YYYY-MM-DD HH:MM:SS` UTC) as unix ms."""
    raw = params.get(name)
    if raw is None or raw.strip() == "":
        return None
    parsed = parse_instant(raw)
    if parsed is None:
        raise QueryError(name, "an RFC3339 time such as 2026-03-18T01:02:03Z", raw)
    return parsed


def bounded(params: Mapping[str, str], name: str, low: int, high: int) -> int | None:
    """An optional integer in [low, high]."""
    accepted = f"an integer from {low} to {high}"
    value = integer(params, name, accepted)
    if value is not None and not low <= value <= high:
        raise QueryError(name, accepted, params[name])
    return value


def choice(params: Mapping[str, str], name: str, accepted: tuple[str, ...]) -> str | None:
    """An optional value from a fixed set."""
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    if raw not in accepted:
        raise QueryError(name, "one of " + ", ".join(accepted), raw)
    return raw


def listed(params: Mapping[str, str], name: str) -> tuple[str, ...]:
    """A comma-separated list, each entry trimmed, empty entries dropped."""
    raw = params.get(name) or ""
    return tuple(token.strip() for token in raw.split(",") if token.strip())
