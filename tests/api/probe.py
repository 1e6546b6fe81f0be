"""A test-only analytic, registered through the Server's `analytics` hook.

It counts what the snapshot holds and echoes the query's shape, so a test can tell a
default snapshot from a filtered one and a partial store from a complete one. It pads
its body so the gzip variant exists. Its detail map has one entry per observer.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from meshlens.analytics.query import Query
from meshlens.analytics.registry import ANALYTICS, REGION_WINDOW, Analytic, Detail
from meshlens.records import JSONValue
from meshlens.store.snapshot import Snapshot

PROBE_ROUTE = "/api/analytics/probe"
DETAIL_ROUTE = "/api/probe/{observer}/detail"
DETAIL_MISSING = "observer has no probe entry"


def compute(snapshot: Snapshot, query: Query) -> JSONValue:
    """Counts of the snapshot, the shape asked for, and padding that gzips well."""
    return {
        "transmissions": len(snapshot.tx),
        "observations": len(snapshot.obs),
        "generation": snapshot.generation,
        "region": list[JSONValue](sorted(query.region)),
        "window": query.window_key,
        "padding": list[JSONValue](["meshlens probe"] * 200),
    }


def detail(snapshot: Snapshot, query: Query) -> Mapping[str, JSONValue]:
    """One body per observer id (lower case)."""
    return {o.id.lower(): {"observer": o.id, "name": o.name} for o in snapshot.observers}


def failing(snapshot: Snapshot, query: Query) -> JSONValue:
    """A compute that always raises."""
    raise RuntimeError("probe failure")


PROBE = Analytic(
    "probe",
    PROBE_ROUTE,
    "rf",  # its interval is analytics.recomputeIntervalSeconds.rf
    REGION_WINDOW,
    "Test-only: counts of the store and the query shape.",
    compute=compute,
    detail=Detail(DETAIL_ROUTE, detail, DETAIL_MISSING),
)

# The nine registered analytics as unbuilt (whatever has landed), plus the probe.
UNBUILT = tuple(dataclasses.replace(a, compute=None) for a in ANALYTICS)
REGISTRY = (*UNBUILT, PROBE)
