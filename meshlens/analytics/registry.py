"""The registry of analytics: one table that routes, recomputers and docs come from.

`ANALYTICS` is the single table the rest of meshlens is generated from: HTTP routes, one
recomputer per entry (for the default shape), the on-demand cache for filtered shapes,
config keys, the OpenAPI document, docs checks and the contract tests. Adding an
analytic is one module with a `compute(snapshot, query)` and one entry here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from meshlens.analytics import (
    channels,
    distance,
    hash_collisions,
    hash_sizes,
    nodes_clock_skew,
    observers_clock_skew,
    rf,
    roles,
    topology,
    topology_parts,
)
from meshlens.analytics.query import Query
from meshlens.records import JSONValue
from meshlens.store.snapshot import Snapshot

Compute = Callable[[Snapshot, Query], JSONValue]
DetailCompute = Callable[[Snapshot, Query], Mapping[str, JSONValue]]
DetailDerive = Callable[[JSONValue], Mapping[str, JSONValue]]

REGION = frozenset({"region"})
REGION_WINDOW = frozenset({"region", "window", "from", "to"})
NO_PARAMS: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Detail:
    """A per-key view published alongside an analytic (e.g. one node's clock skew)."""

    route: str  # with one {key} placeholder, e.g. /api/nodes/{pubkey}/clock-skew
    # key -> body, computed with the default shape. A dict is encoded whole with the
    # compute; any other Mapping is published as it is (it must pickle) and each key's
    # body is made and encoded when first read (nodes_clock_skew.NodeDetails).
    compute: DetailCompute | None
    not_found: str  # the 404 message when the key has no entry
    # key -> body cut from the analytic's own result, for parts of a large body that
    # clients fetch alone (topology's reach rings); costs no second compute.
    derive: DetailDerive | None = None


@dataclass(frozen=True, slots=True)
class Analytic:
    """One analytic: where it is served, how it is computed, how it is configured."""

    name: str  # stable id, used in metrics and /api/analytics/recomputers
    route: str
    config_key: str  # analytics.recomputeIntervalSeconds.<config_key>
    params: frozenset[str]  # the query parameters it takes
    summary: str
    compute: Compute | None = None  # None: not built yet (answers 501)
    ttl_setting: str = "analyticsRF"  # cacheTTL.<ttl_setting> for filtered shapes
    detail: Detail | None = None


ANALYTICS: tuple[Analytic, ...] = (
    Analytic(
        "topology",
        "/api/analytics/topology",
        "topology",
        REGION_WINDOW,
        "Hop counts, top repeaters and pairs, per-observer reach rings, best paths.",
        compute=topology.compute,
        detail=Detail(
            "/api/analytics/topology/{part}",
            None,
            topology_parts.NOT_FOUND,
            derive=topology_parts.parts,
        ),
    ),
    Analytic(
        "rf",
        "/api/analytics/rf",
        "rf",
        REGION_WINDOW,
        "SNR and RSSI distributions, packet sizes, payload types, signal over time.",
        compute=rf.compute,
    ),
    Analytic(
        "distance",
        "/api/analytics/distance",
        "distance",
        REGION,
        "Hop lengths from GPS positions: longest hops and paths, by link type.",
        compute=distance.compute,
    ),
    Analytic(
        "channels",
        "/api/analytics/channels",
        "channels",
        REGION_WINDOW,
        "Channel activity: messages per channel, senders, timeline, message lengths.",
        compute=channels.compute,
    ),
    Analytic(
        "hash-sizes",
        "/api/analytics/hash-sizes",
        "hashSizes",
        REGION,
        "Path hash sizes in use and which nodes can do multi-byte hashes.",
        compute=hash_sizes.compute,
    ),
    Analytic(
        "hash-collisions",
        "/api/analytics/hash-collisions",
        "hashCollisions",
        REGION,
        "Repeaters sharing 1-, 2- and 3-byte prefixes, classed by how close they are.",
        compute=hash_collisions.compute,
        ttl_setting="analyticsHashSizes",
    ),
    Analytic(
        "roles",
        "/api/analytics/roles",
        "roles",
        NO_PARAMS,
        "Nodes per role with each role's clock-skew posture.",
        compute=roles.compute,
    ),
    Analytic(
        "observers-clock-skew",
        "/api/observers/clock-skew",
        "observersClockSkew",
        NO_PARAMS,
        "Each observer's clock offset, calibrated against multi-observer medians.",
        compute=observers_clock_skew.compute,
    ),
    Analytic(
        "nodes-clock-skew",
        "/api/nodes/clock-skew",
        "nodesClockSkew",
        NO_PARAMS,
        "Each node's clock skew, severity and drift, from its own adverts.",
        compute=nodes_clock_skew.compute,
        detail=Detail(
            "/api/nodes/{pubkey}/clock-skew",
            nodes_clock_skew.details,
            nodes_clock_skew.NOT_FOUND,
        ),
    ),
)

BY_NAME: dict[str, Analytic] = {a.name: a for a in ANALYTICS}
