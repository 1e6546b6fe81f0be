"""Node clock skew: the fleet list and each node's detail (analytics-part-b §5).

The fleet list (`/api/nodes/clock-skew`) holds one row per node with clock data,
sorted by public key; the detail (`/api/nodes/{pubkey}/clock-skew`) adds the sparkline
samples, the evidence of the latest adverts and a calibration summary. Both come from
one engine run per snapshot; the details are published with the list, so serving one
node is a lookup, never a recompute.
"""

from __future__ import annotations

from collections.abc import Mapping

from meshlens.analytics.clockskew.evidence import Evidence, evidence_of
from meshlens.analytics.clockskew.nodes import NodeSkew, node_skews
from meshlens.analytics.clockskew.samples import engine_of
from meshlens.analytics.query import Query
from meshlens.analytics.stats import round1, round2
from meshlens.records import JSONObject, JSONValue
from meshlens.store.snapshot import Snapshot

NOT_FOUND = "No clock skew data for this node"


def compute(snap: Snapshot, query: Query) -> list[JSONValue]:
    """The fleet list: every node with clock data, without samples and evidence."""
    del query  # no parameters; the engine does not depend on the time
    return [_row(snap, node, None) for node in node_skews(snap).values()]


def details(snap: Snapshot, query: Query) -> Mapping[str, JSONValue]:
    """Public key -> the full per-node object, for the detail route."""
    del query
    nodes = node_skews(snap)
    evidence = evidence_of(snap, engine_of(snap), nodes.values())
    return {pk: _row(snap, node, evidence[pk]) for pk, node in nodes.items()}


def _row(snap: Snapshot, node: NodeSkew, evidence: Evidence | None) -> JSONObject:
    """§5.2's object in its key order; fleet rows leave out the three detail keys."""
    row: JSONObject = {
        "pubkey": node.pubkey,
        "meanSkewSec": round1(node.mean_s),
        "medianSkewSec": round1(node.median_s),
        "lastSkewSec": round1(node.last_s),
        "recentMedianSkewSec": round1(node.recent_s),
        "driftPerDaySec": round2(node.drift_per_day_s),
        "severity": node.severity,
        "sampleCount": node.sample_count,
        "calibrated": node.calibrated,
        "lastAdvertTS": node.last_advert_ts,
        "lastObservedTS": node.last_observed_s,
    }
    if evidence is not None:
        row["samples"] = [
            {"ts": ts, "skew": skew} for ts, skew in zip(node.ts, node.skews, strict=True)
        ]
    row["goodFraction"] = round2(node.good_fraction)
    row["recentBadSampleCount"] = node.recent_bad
    if node.bad_samples:
        row["recentBadSamples"] = [
            {"hash": snap.content_hash(b.tx), "advertTS": b.advert_ts, "skewSec": round1(b.skew_s)}
            for b in node.bad_samples
        ]
    row["recentSampleCount"] = node.recent_count
    if evidence is not None:
        row["recentHashEvidence"] = evidence.hashes
        row["calibrationSummary"] = evidence.summary
    known = snap.node(node.pubkey)
    if known is not None and known.name:
        row["nodeName"] = known.name
    if known is not None and known.role:
        row["nodeRole"] = known.role
    return row
