"""Node clock skew: the fleet list and each node's detail (analytics-part-b §5).

The fleet list (`/api/nodes/clock-skew`) holds one row per node with clock data,
sorted by public key; the detail (`/api/nodes/{pubkey}/clock-skew`) adds the sparkline
samples, the evidence of the latest adverts and a calibration summary. Both come from
one engine run per snapshot and are published together. The details are published as
`NodeDetails`: what the engine found, in columns, from which one node's object is made
when that node is read. Serving a node never recomputes, and a round no longer encodes
and compresses 60 MB of JSON (staging) that is read a node at a time, if at all.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import cast

import numpy as np
import numpy.typing as npt
import orjson

from meshlens.analytics.clockskew.evidence import Evidence, EvidenceTable, evidence_table
from meshlens.analytics.clockskew.nodes import NodeSkew, node_skews
from meshlens.analytics.clockskew.samples import engine_of
from meshlens.analytics.query import Query
from meshlens.analytics.stats import round1, round2
from meshlens.records import JSONObject, JSONValue
from meshlens.store.snapshot import Snapshot

NOT_FOUND = "No clock skew data for this node"


class NodeDetails(Mapping[str, JSONValue]):
    """Public key -> the full per-node object, made when read; holds no snapshot.

    It is what a compute child sends back, pickled, so it keeps only what the objects
    are made of: each node's fleet row, its samples as two columns, and the evidence
    table. That pickles to ~4 MB at the staging profile, and the server unpickles it
    holding the GIL, so each row is kept as its JSON bytes: one object a node to load,
    not a dict of a dozen (bench/result_unpickle.py).
    """

    def __init__(
        self,
        rows: Mapping[str, JSONObject],
        sample_spans: Mapping[str, tuple[int, int]],
        sample_ts: npt.NDArray[np.int64],
        sample_skew: npt.NDArray[np.float64],
        evidence: EvidenceTable,
    ) -> None:
        self._rows = {key: orjson.dumps(row) for key, row in rows.items()}
        self._spans = dict(sample_spans)
        self._ts = sample_ts
        self._skew = sample_skew
        self._evidence = evidence

    def __getitem__(self, pubkey: str) -> JSONValue:
        start, end = self._spans[pubkey]
        samples: list[JSONValue] = [
            {"ts": ts, "skew": skew}
            for ts, skew in zip(
                self._ts[start:end].tolist(), self._skew[start:end].tolist(), strict=True
            )
        ]
        row = cast(JSONObject, orjson.loads(self._rows[pubkey]))
        return _with_detail(row, samples, self._evidence.of(pubkey))

    def __iter__(self) -> Iterator[str]:
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)


def compute(snap: Snapshot, query: Query) -> list[JSONValue]:
    """The fleet list: every node with clock data, without samples and evidence."""
    del query  # no parameters; the engine does not depend on the time
    return list(_rows(snap).values())


def details(snap: Snapshot, query: Query) -> NodeDetails:
    """Public key -> the full per-node object, for the detail route."""
    del query
    nodes = node_skews(snap)
    sizes = np.fromiter((len(n.ts) for n in nodes.values()), np.int64, len(nodes))
    ends = np.cumsum(sizes)
    spans = dict(zip(nodes, zip((ends - sizes).tolist(), ends.tolist(), strict=True), strict=True))
    total = int(ends[-1]) if len(nodes) else 0
    ts = np.fromiter((t for n in nodes.values() for t in n.ts), np.int64, total)
    skew = np.fromiter((v for n in nodes.values() for v in n.skews), np.float64, total)
    evidence = evidence_table(snap, engine_of(snap), nodes.values())
    return NodeDetails(_rows(snap), spans, ts, skew, evidence)


def _rows(snap: Snapshot) -> dict[str, JSONObject]:
    """Every node's fleet row, by public key; made once per snapshot for list and details."""
    return snap.memo(
        "clockskew.fleet_rows", lambda: {pk: _row(snap, n) for pk, n in node_skews(snap).items()}
    )


def _row(snap: Snapshot, node: NodeSkew) -> JSONObject:
    """§5.2's object in its key order, without the detail's three keys (a fleet row)."""
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
        "goodFraction": round2(node.good_fraction),
        "recentBadSampleCount": node.recent_bad,
    }
    if node.bad_samples:
        row["recentBadSamples"] = [
            {"hash": snap.content_hash(b.tx), "advertTS": b.advert_ts, "skewSec": round1(b.skew_s)}
            for b in node.bad_samples
        ]
    row["recentSampleCount"] = node.recent_count
    known = snap.node(node.pubkey)
    if known is not None and known.name:
        row["nodeName"] = known.name
    if known is not None and known.role:
        row["nodeRole"] = known.role
    return row


def _with_detail(row: JSONObject, samples: list[JSONValue], evidence: Evidence) -> JSONObject:
    """A fleet row with the detail's keys in their places (§5.2's order)."""
    out: JSONObject = {}
    for key, value in row.items():
        out[key] = value
        if key == "lastObservedTS":
            out["samples"] = samples
        elif key == "recentSampleCount":
            out["recentHashEvidence"] = evidence.hashes
            out["calibrationSummary"] = evidence.summary
    return out
