"""Topology and distance served over real HTTP from the real registry, blacklist included."""

from __future__ import annotations

from typing import Any

from meshlens.analytics.registry import ANALYTICS
from meshlens.config import Settings
from tests.api.conftest import Serve
from tests.api.running import seed, settings_for
from tests.ingest.helpers import T0, advert_frame, public_key_hex, sighting

# Three repeaters about 10 km apart; each advert is heard over the other two.
PLACES = {1: (47.60, -122.30), 2: (47.69, -122.30), 3: (47.78, -122.30)}


def _sightings() -> list[Any]:
    out = []
    for i, (seed_, (lat, lon)) in enumerate(PLACES.items()):
        others = [s for s in PLACES if s != seed_]
        path = b"".join(bytes.fromhex(public_key_hex(s)[:2]) for s in others)
        raw = advert_frame(seed_, name=f"R{seed_}", lat=lat, lon=lon, path=path,
                           timestamp=T0 // 1000 + i)  # fmt: skip
        out.append(sighting(raw, "OBS1", name="One", region="SEA", at_ms=T0 + i * 1000))
    return out


def test_topology_and_distance_are_served(serve: Serve, settings: Settings) -> None:
    seed(settings, _sightings())
    server = serve(analytics=ANALYTICS)
    server.wait_ready()
    with server.client() as http:
        topo = http.get("/api/analytics/topology")
        dist = http.get("/api/analytics/distance")
        regional = http.get("/api/analytics/topology", params={"region": "SEA", "window": "30d"})
    assert topo.status_code == dist.status_code == regional.status_code == 200
    body = topo.json()
    assert body["hopDistribution"] == [{"hops": 2, "count": 3}]
    names = {r["name"] for r in body["topRepeaters"]}
    assert names == {"R1", "R2", "R3"}
    assert set(body["perObserverReach"]) == {"OBS1"}
    d = dist.json()
    assert d["summary"]["totalPaths"] == 3 and d["catStats"]["R↔R"]["count"] == 6
    assert 9 < d["summary"]["maxDist"] < 21


def test_node_blacklist_hides_a_repeater(serve: Serve, tmp_path: Any) -> None:
    hidden = public_key_hex(2)
    custom = settings_for(tmp_path, node_blacklist=(hidden,))
    seed(custom, _sightings())
    server = serve(custom, analytics=ANALYTICS)
    server.wait_ready()
    with server.client() as http:
        body = http.get("/api/analytics/topology").json()
    assert {r["name"] for r in body["topRepeaters"]} == {"R1", "R3"}
    reach = body["perObserverReach"]["OBS1"]["rings"]
    assert all(n["pubkey"] != hidden for ring in reach for n in ring["nodes"])


def test_topology_parts_are_the_body_cut_in_pieces(serve: Serve, settings: Settings) -> None:
    seed(settings, _sightings())
    server = serve(analytics=ANALYTICS)
    server.wait_ready()
    with server.client() as http:
        whole = http.get("/api/analytics/topology").json()
        summary = http.get("/api/analytics/topology/summary")
        one = http.get("/api/analytics/topology/obs1")  # keys match in any case
        missing = http.get("/api/analytics/topology/OBS2")
        zipped = http.get("/api/analytics/topology/obs1", headers={"Accept-Encoding": "gzip"})
    # detail bodies are stored gzip; a client that accepts it gets those bytes as they are
    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.json() == one.json()
    assert summary.status_code == one.status_code == 200
    assert summary.headers["etag"] and summary.headers["age"]
    lean = summary.json()
    index = lean.pop("reachObservers")
    assert lean == {k: v for k, v in whole.items() if k != "perObserverReach"}
    rings = whole["perObserverReach"]["OBS1"]["rings"]
    nodes = sum(len(r["nodes"]) for r in rings)
    assert index == [{"id": "OBS1", "name": "One", "rings": len(rings), "nodes": nodes}]
    assert one.json() == {"observer_id": "OBS1", **whole["perObserverReach"]["OBS1"]}
    assert missing.status_code == 404
    assert missing.json()["error"].startswith("No such topology part")
