"""Topology and distance answer the reference field names and JSON types on a busy mesh."""

from __future__ import annotations

from typing import Any

import orjson

from bench.mesh_model import build_mesh
from meshlens.analytics.query import Query
from meshlens.analytics.registry import BY_NAME

OPT_STR = (str, type(None))
OPT_FLOAT = (float, type(None))


def _keys(item: Any, expected: set[str]) -> None:
    assert isinstance(item, dict) and set(item) == expected


def test_field_names_and_types() -> None:
    model = build_mesh(seed=4, nodes=160, transmissions=400, observers=8, span_deg=0.8)
    snap = model.store.snapshot()
    topo: Any = BY_NAME["topology"].compute(snap, Query(now_ms=model.now_ms))  # type: ignore[misc]
    orjson.dumps(topo)
    _keys(topo, {"uniqueNodes", "avgHops", "medianHops", "maxHops", "hopDistribution",
                 "topRepeaters", "topPairs", "hopsVsSnr", "observers", "perObserverReach",
                 "multiObsNodes", "bestPathList"})  # fmt: skip
    assert isinstance(topo["avgHops"], float) and isinstance(topo["medianHops"], int)
    for r in topo["topRepeaters"]:
        _keys(r, {"hop", "count", "name", "pubkey"})
        assert isinstance(r["count"], int) and isinstance(r["name"], OPT_STR)
    for p in topo["topPairs"]:
        _keys(p, {"hopA", "hopB", "count", "nameA", "nameB", "pubkeyA", "pubkeyB"})
    for reach in topo["perObserverReach"].values():
        _keys(reach, {"observer_name", "rings"})
        for ring in reach["rings"]:
            assert 1 <= ring["hops"] <= 15
            for n in ring["nodes"]:
                _keys(n, {"hop", "name", "pubkey", "count", "distRange"})
                assert isinstance(n["distRange"], OPT_STR)
    for m in topo["multiObsNodes"]:
        _keys(m, {"hop", "name", "pubkey", "observers"})
        assert len(m["observers"]) > 1
        for o in m["observers"]:
            _keys(o, {"observer_id", "observer_name", "minDist", "count"})
    for b in topo["bestPathList"]:
        _keys(b, {"hop", "name", "pubkey", "minDist", "observer_id", "observer_name"})
    assert topo["topRepeaters"] and topo["perObserverReach"] and topo["multiObsNodes"]

    dist: Any = BY_NAME["distance"].compute(snap, Query(now_ms=model.now_ms))  # type: ignore[misc]
    orjson.dumps(dist)
    _keys(dist, {"summary", "topHops", "topPaths", "catStats", "distHistogram", "distOverTime"})
    _keys(dist["summary"], {"totalHops", "totalPaths", "avgDist", "maxDist"})
    assert isinstance(dist["summary"]["avgDist"], float)
    for h in dist["topHops"]:
        _keys(h, {"fromName", "fromPk", "toName", "toPk", "dist", "type", "bestSnr",
                  "medianSnr", "obsCount", "hash", "timestamp"})  # fmt: skip
        assert isinstance(h["bestSnr"], OPT_FLOAT) and h["dist"] <= 300
    for p in dist["topPaths"]:
        _keys(p, {"hash", "totalDist", "hopCount", "timestamp", "hops"})
        for hop in p["hops"]:
            _keys(hop, {"fromName", "fromPk", "toName", "toPk", "dist"})
    assert len(dist["topHops"]) == 20 and len(dist["topPaths"]) == 20
    dists = [h["dist"] for h in dist["topHops"]]
    assert dists == sorted(dists, reverse=True)
    pairs = {frozenset((h["fromPk"], h["toPk"])) for h in dist["topHops"]}
    assert len(pairs) == 20  # one entry per unordered pair
    _keys(dist["catStats"], {"R↔R", "C↔R", "C↔C"})
    assert len(dist["distHistogram"]["bins"]) == 25
    assert sum(b["count"] for b in dist["distHistogram"]["bins"]) == dist["summary"]["totalHops"]
    assert sum(t["count"] for t in dist["distOverTime"]) == dist["summary"]["totalHops"]
