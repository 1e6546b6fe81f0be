"""GET /api/nodes, /api/nodes/{pubkey}, /api/nodes/network-status on a hand-built mesh."""

from __future__ import annotations

import dataclasses

from meshlens.config import Settings
from tests.api.conftest import Serve
from tests.api.resources_world import (
    AMBIGUOUS_A,
    AMBIGUOUS_B,
    COMPANION,
    LONG,
    MARKUP,
    REPEATER,
    ROOM,
    SENSOR,
    start_world,
)


def test_node_detail_is_exact(serve: Serve, settings: Settings) -> None:
    server = start_world(serve, settings)
    with server.client() as http:
        body = http.get(f"/api/nodes/{REPEATER}").json()
    assert body["node"] == {
        "public_key": REPEATER, "name": "Alpha", "role": "repeater", "lat": 47.6,
        "lon": -122.3, "last_seen": "2026-01-01T00:00:01Z",
        "first_seen": "2026-01-01T00:00:00Z", "advert_count": 1,
        "last_heard": "2026-01-01T00:00:01Z", "battery_mv": None, "temperature_c": None,
        "foreign": False, "hash_size": 1, "hash_size_inconsistent": False,
        "default_scope": None,
        # it relayed the Alice message (the sensor advert it relayed is not counted)
        "relay_active": True, "relay_count_1h": 1, "relay_count_24h": 1,
        "unscoped_relay_count_24h": 1, "last_relayed": "2026-01-01T00:00:06Z",
        "traffic_share_score": 0.0, "bridge_score": 0.0, "coverage_score": 0.0,
        "redundancy_score": 0.0, "usefulness_score": 0.0, "relay_window_hours": 24.0,
        "flood_advert_count_7d": 1,
    }  # fmt: skip
    [advert] = body["recentAdverts"]
    assert advert["id"] == 1 and advert["observation_count"] == 2
    assert "_parsedPath" not in advert
    assert [o["observer_id"] for o in advert["observations"]] == ["OBS2", "OBS1"]
    assert advert["observations"][0] == {
        "id": 2, "observer_id": "OBS2", "observer_name": advert["observations"][0]["observer_name"],
        "observer_iata": "PDX", "snr": -3.5, "rssi": None, "path_json": "[]",
        "timestamp": "2026-01-01T00:00:01.000Z", "transmission_id": 1,
    }  # fmt: skip


def test_node_lookup_by_prefix_case_and_errors(serve: Serve, settings: Settings) -> None:
    server = start_world(serve, settings)
    with server.client() as http:
        assert http.get(f"/api/nodes/{ROOM[:10]}").json()["node"]["public_key"] == ROOM
        assert http.get(f"/api/nodes/{ROOM.upper()}").json()["node"]["public_key"] == ROOM
        ambiguous = http.get(f"/api/nodes/{AMBIGUOUS_A[:8]}")
        assert ambiguous.status_code == 409
        assert ambiguous.json() == {
            "error": "Ambiguous prefix: multiple nodes match. Use a longer prefix."
        }
        missing = http.get("/api/nodes/" + "f" * 64)
        assert missing.status_code == 404
        assert missing.json()["error"] == "node not found: " + "f" * 64
        assert http.get(f"/api/nodes/{ROOM[:7]}").status_code == 404  # too short a prefix


def test_hidden_and_blacklisted_nodes_do_not_exist(serve: Serve, settings: Settings) -> None:
    hidden = dataclasses.replace(
        settings, node_blacklist=(ROOM.upper(),), hidden_name_prefixes=("<b>",)
    )
    server = start_world(serve, hidden)
    with server.client() as http:
        assert http.get(f"/api/nodes/{ROOM}").status_code == 404
        assert http.get(f"/api/nodes/{SENSOR}").status_code == 404
        body = http.get("/api/nodes").json()
    keys = {n["public_key"] for n in body["nodes"]}
    assert ROOM not in keys and SENSOR not in keys and REPEATER in keys
    assert body["total"] == len(keys) == 4  # filters run before paging (§4.3 fix)
    assert body["counts"] == {"repeaters": 1, "rooms": 1, "companions": 3, "sensors": 1}


def test_node_list_filters_and_sorts(serve: Serve, settings: Settings) -> None:
    server = start_world(serve, settings)
    with server.client() as http:

        def keys(**params: str) -> list[str]:
            return [n["public_key"] for n in http.get("/api/nodes", params=params).json()["nodes"]]

        assert keys(role="room") == [ROOM]
        assert keys(search="sENSOR &") == [SENSOR]
        assert keys(search="l" * 32) == [COMPANION]
        assert keys(sortBy="name")[:3] == [SENSOR, REPEATER, COMPANION]  # "<", "A", "L"
        assert keys(region="pdx") == [ROOM, REPEATER]
        assert keys(region="All")[:4] == [SENSOR, ROOM, COMPANION, REPEATER]
        assert len(keys(lastHeard="1h")) == 6  # everything was heard ten minutes ago
        assert keys(before="2026-01-01T00:00:00Z") == [REPEATER, AMBIGUOUS_A, AMBIGUOUS_B]
        names = [n["name"] for n in http.get("/api/nodes").json()["nodes"]]
        assert MARKUP in names and LONG in names  # hostile names come back intact
        for bad in ({"sortBy": "last_seen"}, {"lastHeard": "2h"}, {"limit": "-1"},
                    {"limit": "ten"}, {"before": "yesterday"}, {"area": "nowhere"}):  # fmt: skip
            answer = http.get("/api/nodes", params=bad)
            assert answer.status_code == 400, bad
            assert answer.json()["parameter"] == next(iter(bad))


def test_node_list_limits(serve: Serve, settings: Settings) -> None:
    server = start_world(serve, dataclasses.replace(settings))
    with server.client() as http:
        zero = http.get("/api/nodes", params={"limit": 0})
        assert len(zero.json()["nodes"]) == 6  # 0 means the default (50), as in CoreScope
        one = http.get("/api/nodes", params={"limit": 1, "offset": 1})
        assert [n["public_key"] for n in one.json()["nodes"]] == [ROOM]
        assert one.json()["total"] == 6
        top = http.get("/api/nodes", params={"limit": 2000})
        assert "x-meshlens-limit-clamped" not in top.headers
        over = http.get("/api/nodes", params={"limit": 5000, "offset": -3})
        assert over.headers["x-meshlens-limit-clamped"] == "5000"
        assert over.headers["x-meshlens-limit-max"] == "2000"
        assert len(over.json()["nodes"]) == 6


def test_network_status_counts_every_node(serve: Serve, settings: Settings) -> None:
    server = start_world(serve, settings)
    with server.client() as http:
        body = http.get("/api/nodes/network-status").json()
    # companions (the twins) last heard at T0, ten minutes ago: still active (< 1 h)
    assert body == {
        "total": 6, "active": 6, "degraded": 0, "silent": 0,
        "roleCounts": {"companion": 3, "repeater": 1, "room": 1, "sensor": 1},
    }  # fmt: skip
