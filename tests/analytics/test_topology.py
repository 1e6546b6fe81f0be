"""Topology on hand-built meshes whose answers are known by construction."""

from __future__ import annotations

import copy
from typing import Any

from meshlens.analytics import topology
from meshlens.analytics.query import Query
from meshlens.store.store import PacketStore
from tests.analytics.meshes import HOUR, T0, Mesh


def _q(**kw: Any) -> Query:
    return Query(now_ms=T0 + HOUR, **kw)


def _mesh() -> Mesh:
    m = Mesh()
    for p in ("aa", "bb", "cc", "de"):
        m.node(p, f"N-{p}")
    m.observer("O1", "One", iata="SEA")
    m.observer("O2", "", iata="PDX")
    m.tx([("O1", ["AA", "BB", "CC"]), ("O2", ["AA"])])  # best: O1's three hops
    m.tx([("O2", ["AA", "BB"])], at_ms=T0 - 2 * HOUR)
    m.tx([("O1", [])])  # zero-hop: in no figure
    m.tx([("O1", ["DE", "DE", "AA"])], snr=None)  # a repeat and a self-pair
    return m


def test_summary_and_distribution() -> None:
    out: Any = topology.compute(_mesh().snapshot(), _q())
    assert out["uniqueNodes"] == 4
    assert out["avgHops"] == (3 + 2 + 3) / 3 and out["medianHops"] == 3 and out["maxHops"] == 3
    assert out["hopDistribution"] == [{"hops": 2, "count": 1}, {"hops": 3, "count": 2}]
    assert out["hopsVsSnr"] == [{"hops": 2, "count": 1, "avgSnr": 5.0},
                                {"hops": 3, "count": 1, "avgSnr": 5.0}]  # fmt: skip


def test_top_repeaters_and_pairs_count_every_occurrence() -> None:
    out: Any = topology.compute(_mesh().snapshot(), _q())
    reps = {r["hop"]: (r["count"], r["name"]) for r in out["topRepeaters"]}
    assert reps == {"AA": (3, "N-aa"), "BB": (2, "N-bb"), "DE": (2, "N-de"), "CC": (1, "N-cc")}
    assert [r["hop"] for r in out["topRepeaters"]] == ["AA", "BB", "DE", "CC"]  # ties by hop
    pairs = {(p["hopA"], p["hopB"]): p["count"] for p in out["topPairs"]}
    assert pairs == {("AA", "BB"): 2, ("BB", "CC"): 1, ("DE", "DE"): 1, ("AA", "DE"): 1}
    assert out["topPairs"][0]["nameA"] == "N-aa" and out["topPairs"][0]["pubkeyB"].startswith("bb")


def test_reach_rings_observers_and_best_paths() -> None:
    out: Any = topology.compute(_mesh().snapshot(), _q())
    o1 = out["perObserverReach"]["O1"]
    assert o1["observer_name"] == "One"
    rings = {r["hops"]: [(n["hop"], n["count"], n["distRange"]) for n in r["nodes"]]
             for r in o1["rings"]}  # fmt: skip
    # O1 paths: AA BB CC (dist 3 2 1) and DE DE AA (dist 3 2 1).
    assert rings == {1: [("AA", 2, "1-3"), ("CC", 1, None)], 2: [("DE", 2, "2-3"), ("BB", 1, None)]}
    assert out["perObserverReach"]["O2"]["observer_name"] == "O2"  # empty name falls back
    assert out["observers"] == [{"id": "O1", "name": "One"}, {"id": "O2", "name": "O2"}]
    multi = {n["hop"]: [(o["observer_id"], o["minDist"]) for o in n["observers"]]
             for n in out["multiObsNodes"]}  # fmt: skip
    assert multi == {"AA": [("O1", 1), ("O2", 2)], "BB": [("O2", 1), ("O1", 2)]}
    best = [(b["hop"], b["minDist"], b["observer_id"]) for b in out["bestPathList"]]
    assert best == [("AA", 1, "O1"), ("BB", 1, "O2"), ("CC", 1, "O1"), ("DE", 2, "O1")]


def test_hops_of_one_node_merge_under_the_longest_spelling() -> None:
    m = Mesh()
    m.node("0735bc6d")
    m.node("11aa")
    m.observer("O1")
    m.tx([("O1", ["07", "11"])])
    m.tx([("O1", ["0735", "11AA"])])
    m.tx([("O1", ["0735BC"])])
    out: Any = topology.compute(m.snapshot(), _q())
    assert out["topRepeaters"][0]["hop"] == "0735BC" and out["topRepeaters"][0]["count"] == 3
    assert {(p["hopA"], p["hopB"], p["count"]) for p in out["topPairs"]} == {("0735", "11AA", 2)}
    # Reach is per raw hop string, not merged.
    ring = out["perObserverReach"]["O1"]["rings"]
    assert {n["hop"] for r in ring for n in r["nodes"]} == {"07", "0735", "0735BC", "11", "11AA"}


def test_region_and_window_filters() -> None:
    snap = _mesh().snapshot()
    pdx: Any = topology.compute(snap, _q(region=frozenset({"PDX"})))
    # Any observation from a PDX observer brings the transmission in, credited to its best.
    assert pdx["hopDistribution"] == [{"hops": 2, "count": 1}, {"hops": 3, "count": 1}]
    recent: Any = topology.compute(snap, _q(since_ms=T0 - HOUR, window_key="rel:1h"))
    assert recent["hopDistribution"] == [{"hops": 3, "count": 2}]
    unknown: Any = topology.compute(snap, _q(region=frozenset({"XXX"})))
    assert unknown == topology.compute(snap, _q())  # §1.5: an unknown region is global


def test_empty_store() -> None:
    out = topology.compute(PacketStore().snapshot(), _q())
    assert out == {
        "uniqueNodes": 0, "avgHops": 0, "medianHops": 0, "maxHops": 0,
        "hopDistribution": [], "topRepeaters": [], "topPairs": [], "hopsVsSnr": [],
        "observers": [], "perObserverReach": {}, "multiObsNodes": [], "bestPathList": [],
    }  # fmt: skip


def test_blacklist_drops_entries_without_touching_the_unfiltered_result() -> None:
    snap = _mesh().snapshot()
    plain: Any = topology.compute(snap, _q())
    before = copy.deepcopy(plain)
    bb = next(n.public_key for n in snap.nodes if n.public_key.startswith("bb"))
    out: Any = topology.compute(snap, _q(node_blacklist=frozenset({bb})))
    assert [r["hop"] for r in out["topRepeaters"]] == ["AA", "DE", "CC"]
    assert all(bb not in (p["pubkeyA"], p["pubkeyB"]) for p in out["topPairs"])
    assert [n["hop"] for n in out["multiObsNodes"]] == ["AA"]
    assert "BB" not in [b["hop"] for b in out["bestPathList"]]
    reach = out["perObserverReach"]
    assert all(n["pubkey"] != bb for o in reach.values() for r in o["rings"] for n in r["nodes"])
    assert topology.compute(snap, _q()) == before  # same snapshot, same answer
