"""What a compute is asked: its shape (region, time window) and the time it runs at.

Parameter parsing follows analytics-part-a §1.5-1.6, except that malformed values are
refused with a QueryError naming the parameter (meshlens answers 400 instead of
silently ignoring them, so a typo never looks like "no data").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from meshlens.errors import QueryError
from meshlens.times import iso_seconds, parse_instant

# §1.6: the relative windows the reference API accepts, in hours.
WINDOWS_H: dict[str, int] = {
    "1h": 1,
    "24h": 24,
    "1d": 24,
    "3d": 72,
    "7d": 168,
    "1w": 168,
    "30d": 720,
}


@dataclass(frozen=True, slots=True)
class Query:
    """One request shape of an analytic; the default shape is no region and no window."""

    now_ms: int
    region: frozenset[str] = frozenset()  # normalised IATA codes; empty means no filter
    since_ms: int | None = None  # inclusive bounds on the time the analytic filters on
    until_ms: int | None = None
    window_key: str = ""  # "" none, "rel:24h" relative, "<since>|<until>" absolute
    node_blacklist: frozenset[str] = frozenset()  # lower-case pubkeys (topology, decision 3)

    @property
    def is_default(self) -> bool:
        """True for the shape the recomputers precompute."""
        return not self.region and not self.window_key

    @property
    def has_window(self) -> bool:
        """True when a time bound applies."""
        return self.since_ms is not None or self.until_ms is not None

    def cache_key(self) -> str:
        """The key of this shape in the on-demand cache."""
        region = ",".join(sorted(self.region))
        return f"{region}|{self.window_key}"


def normalise_region(param: str | None) -> frozenset[str]:
    """§1.5: split on commas, trim, upper-case, drop empties and ALL."""
    if not param:
        return frozenset()
    codes = {token.strip().upper() for token in param.split(",")}
    return frozenset(code for code in codes if code and code != "ALL")


def parse_query(
    params: Mapping[str, str],
    *,
    now_ms: int,
    accepts: frozenset[str],
    node_blacklist: frozenset[str] = frozenset(),
) -> Query:
    """Build a Query from request parameters; `accepts` names the ones this analytic takes.

    Parameters an analytic does not take are ignored, as in the reference API.
    """
    region = normalise_region(params.get("region")) if "region" in accepts else frozenset()
    since = until = None
    window_key = ""
    if "window" in accepts:
        raw_from, raw_to = params.get("from"), params.get("to")
        if raw_from or raw_to:
            since = _instant("from", raw_from)
            until = _instant("to", raw_to)
            if since is not None and until is not None and since > until:
                raise QueryError("from", "a time not after 'to'", raw_from)
            window_key = (
                f"{'' if since is None else iso_seconds(since)}|"
                f"{'' if until is None else iso_seconds(until)}"
            )
        elif params.get("window"):
            label = params["window"].strip()
            hours = WINDOWS_H.get(label)
            if hours is None:
                raise QueryError("window", "one of " + ", ".join(WINDOWS_H), label)
            since = now_ms - hours * 3_600_000
            window_key = f"rel:{label}"
    return Query(
        now_ms=now_ms,
        region=region,
        since_ms=since,
        until_ms=until,
        window_key=window_key,
        node_blacklist=node_blacklist,
    )


def _instant(name: str, value: str | None) -> int | None:
    if not value:
        return None
    parsed = parse_instant(value)
    if parsed is None:
        raise QueryError(name, "an RFC3339 time such as 2026-03-18T01:02:03Z", value)
    # §1.6: bounds are kept at second precision.
    return parsed - parsed % 1000
