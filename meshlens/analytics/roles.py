"""Roles: nodes per role and each role's clock-skew posture (analytics-part-a §6).

Every node the store knows counts in its role's bucket; nodes with clock data (the
clock-skew engine's fleet view, own adverts only: decision 7) add their absolute
recent skew and their severity. Decision 8: `bimodal_clock` nodes are counted in a
bucket of their own, `bimodalClockCount`, added after the reference's fields (clients
that do not know it ignore it); the reference counted them nowhere.
"""

from __future__ import annotations

from collections import defaultdict

from meshlens.analytics.clockskew import severity as sev
from meshlens.analytics.clockskew.nodes import node_postures
from meshlens.analytics.clockskew.recent import median
from meshlens.analytics.query import Query
from meshlens.analytics.stats import round1, round2
from meshlens.records import JSONObject, JSONValue
from meshlens.store.snapshot import Snapshot

COUNTERS = {
    sev.OK: "okCount",
    sev.WARNING: "warningCount",
    sev.CRITICAL: "criticalCount",
    sev.ABSURD: "absurdCount",
    sev.NO_CLOCK: "noClockCount",
    sev.BIMODAL_CLOCK: "bimodalClockCount",
}


def compute(snap: Snapshot, query: Query) -> JSONObject:
    """The /api/analytics/roles body."""
    del query  # no parameters (§6.1)
    skews = node_postures(snap)
    nodes: dict[str, int] = defaultdict(int)
    abs_skews: dict[str, list[float]] = defaultdict(list)
    severities: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(COUNTERS, 0))
    for node in snap.nodes:
        role = node.role.strip().lower() or "unknown"
        nodes[role] += 1
        skew = skews.get(node.public_key)
        if skew is None:
            continue
        # The published (rounded) values, as the reference reads them off its records.
        recent = round1(skew.recent_s)
        abs_skews[role].append(abs(recent if recent != 0 else round1(skew.last_s)))
        severities[role][skew.severity] += 1
    buckets = sorted(nodes.items(), key=lambda item: (-item[1], item[0]))
    roles: list[JSONValue] = [
        _bucket(role, count, abs_skews[role], severities[role]) for role, count in buckets
    ]
    return {"totalNodes": sum(nodes.values()), "roles": roles}


def _bucket(role: str, count: int, values: list[float], severity: dict[str, int]) -> JSONObject:
    """One role's row, in the reference's field order plus decision 8's bucket."""
    row: JSONObject = {
        "role": role,
        "nodeCount": count,
        "withSkew": len(values),
        "meanAbsSkewSec": round2(sum(values) / len(values)) if values else 0.0,
        "medianAbsSkewSec": round2(median(values)),
    }
    for name, field in COUNTERS.items():
        row[field] = severity.get(name, 0)
    return row
