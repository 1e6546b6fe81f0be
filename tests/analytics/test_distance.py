"""Distance on hand-built meshes: chains, the 300 km cap, link types, pair dedup, filters."""

from __future__ import annotations

from typing import Any

from meshlens.analytics import distance
from meshlens.analytics.query import Query
from meshlens.analytics.stats import round2
from meshlens.geo import haversine_km
from meshlens.store.store import PacketStore
from tests.analytics.meshes import T0, Mesh

Q = Query(now_ms=T0)


def _km(a: tuple[float, float], b: tuple[float, float]) -> float:
    return haversine_km(a[0], a[1], b[0], b[1])


def test_chain_skips_a_node_without_gps_and_starts_at_the_sender() -> None:
    m = Mesh()
    s_at, a_at, c_at = (47.0, -122.0), (47.1, -122.0), (47.3, -122.1)
    sender = m.node("5e", role="companion", at=s_at)
    m.node("aa", at=a_at)
    m.node("bb")  # no GPS: the chain joins its neighbours
    m.node("cc", at=c_at)
    m.observer("OBS")
    m.tx([("OBS", ["AA", "BB", "CC"])], origin=sender, snr=6.5)
    out: Any = distance.compute(m.snapshot(), Q)
    assert out["summary"]["totalHops"] == 2 and out["summary"]["totalPaths"] == 1
    d1, d2 = round(_km(s_at, a_at), 2), round(_km(a_at, c_at), 2)
    path = out["topPaths"][0]
    assert [h["dist"] for h in path["hops"]] == [d1, d2]
    assert [(h["fromName"], h["toName"]) for h in path["hops"]] == [("5E", "AA"), ("AA", "CC")]
    assert path["hopCount"] == 2 and path["hash"] == "0000000000000001"
    assert path["timestamp"] == "2026-01-01T00:00:00Z"
    assert out["catStats"]["C↔R"]["count"] == 1 and out["catStats"]["R↔R"]["count"] == 1
    assert out["catStats"]["C↔C"] == {"count": 0, "avg": 0, "median": 0, "min": 0, "max": 0}
    assert out["distOverTime"] == [
        {"hour": "2026-01-01T00", "avg": round2((d1 + d2) / 2), "count": 2}
    ]


def test_pairs_over_300_km_are_dropped_and_the_chain_goes_on() -> None:
    m = Mesh()
    m.node("aa", at=(47.0, -122.0))
    m.node("bb", at=(51.0, -122.0))  # ~445 km north of both others
    m.node("cc", at=(47.2, -122.0))
    m.observer("OBS")
    m.tx([("OBS", ["AA", "BB", "CC"])])
    out: Any = distance.compute(m.snapshot(), Q)
    assert out["summary"]["totalHops"] == 0 and out["topPaths"] == []
    assert out["distHistogram"] == []


def test_zero_hop_and_unknown_hops_make_nothing() -> None:
    m = Mesh()
    sender = m.node("5e", at=(47.0, -122.0))
    m.observer("OBS")
    m.tx([("OBS", [])], origin=sender)
    m.tx([("OBS", ["EE", "FF"])])
    out: Any = distance.compute(m.snapshot(), Q)
    assert out["summary"] == {"totalHops": 0, "totalPaths": 0, "avgDist": 0.0, "maxDist": 0.0}


def test_top_hops_dedup_unordered_pairs_with_snr_stats() -> None:
    m = Mesh()
    m.node("aa", at=(47.0, -122.0))
    m.node("bb", at=(47.1, -122.0))
    m.node("c1", role="room", at=(47.0, -122.1))  # rooms relay but are not "R"
    m.node("c2", role="room", at=(47.0, -122.2))
    m.observer("OBS")
    m.tx([("OBS", ["AA", "BB"])], snr=4.0)
    m.tx([("OBS", ["BB", "AA"])], snr=None)
    m.tx([("OBS", ["BB", "AA"])], snr=9.0)
    m.tx([("OBS", ["C1", "C2"])], snr=None)
    out: Any = distance.compute(m.snapshot(), Q)
    top = {(h["fromName"], h["toName"]): h for h in out["topHops"]}
    ab = top[("AA", "BB")]  # first record wins a tie of equal lengths
    assert ab["obsCount"] == 3 and ab["bestSnr"] == 9.0 and ab["medianSnr"] == 6.5
    assert ab["type"] == "R↔R" and ab["hash"] == "0000000000000001"
    cc = top[("C1", "C2")]
    assert cc["type"] == "C↔C" and cc["bestSnr"] is None and cc["medianSnr"] is None
    assert len(out["topHops"]) == 2
    hist = out["distHistogram"]
    assert len(hist["bins"]) == 25 and sum(b["count"] for b in hist["bins"]) == 4


def test_repeated_hop_makes_a_zero_length_self_pair() -> None:
    m = Mesh()
    m.node("aa", at=(47.0, -122.0))
    m.observer("OBS")
    m.tx([("OBS", ["AA", "AA"])])
    out: Any = distance.compute(m.snapshot(), Q)
    assert out["summary"]["totalHops"] == 1 and out["summary"]["maxDist"] == 0.0
    assert out["distHistogram"]["bins"][0] == {"x": 0.0, "w": 1.0, "count": 1}


def test_region_filter_and_empty_store() -> None:
    m = Mesh()
    m.node("aa", at=(47.0, -122.0))
    m.node("bb", at=(47.1, -122.0))
    m.observer("S", iata="SEA")
    m.observer("P", iata="PDX")
    m.tx([("S", ["AA", "BB"])])
    m.tx([("P", ["AA", "BB"]), ("S", ["AA"])])
    snap = m.snapshot()
    pdx: Any = distance.compute(snap, Query(now_ms=T0, region=frozenset({"PDX"})))
    sea: Any = distance.compute(snap, Query(now_ms=T0, region=frozenset({"SEA"})))
    assert pdx["summary"]["totalHops"] == 1 and sea["summary"]["totalHops"] == 2
    empty: Any = distance.compute(PacketStore().snapshot(), Q)
    assert empty["topHops"] == [] and empty["distHistogram"] == [] and empty["distOverTime"] == []
    assert set(empty["catStats"]) == {"R↔R", "C↔R", "C↔C"}
