"""GET /api/packets, /api/packets/timestamps and /api/packets/{id} on a hand-built mesh."""

from __future__ import annotations

from typing import Any

import httpx

from meshlens.config import Settings
from tests.api.conftest import Serve
from tests.api.resources_world import HOSTILE_OBSERVER, REPEATER, SENSOR, start_world


def _ids(http: httpx.Client, **params: Any) -> list[int]:
    return [p["id"] for p in http.get("/api/packets", params=params).json()["packets"]]


def test_raw_row_is_exact(serve: Serve, settings: Settings) -> None:
    server = start_world(serve, settings)
    with server.client() as http:
        body = http.get("/api/packets", params={"limit": 1, "offset": 2}).json()
    [row] = body["packets"]
    decoded = row.pop("decoded_json")
    assert row == {
        "id": 5, "raw_hex": row["raw_hex"], "hash": row["hash"],
        "first_seen": "2026-01-01T00:00:05Z", "timestamp": "2026-01-01T00:00:05Z",
        "route_type": 1, "payload_type": 5, "observation_count": 2,
        # the best observation is the one with the most hops (OBS2's two)
        "observer_id": "OBS2", "observer_name": HOSTILE_OBSERVER, "observer_iata": "PDX",
        "snr": 7.25, "rssi": -101.0, "path_json": f'["{REPEATER[:2].upper()}","99"]',
        "direction": "rx", "_parsedPath": [REPEATER[:2].upper(), "99"],
    }  # fmt: skip
    assert '"text":"Alice: hello \\u003cworld\\u003e \\u0026 \\u0007bell"' in decoded
    assert body["total"] == 7 and body["limit"] == 1 and body["offset"] == 2
    assert isinstance(body["asOf"], int)


def test_filters(serve: Serve, settings: Settings) -> None:
    server = start_world(serve, settings)
    with server.client() as http:
        assert _ids(http) == [7, 6, 5, 4, 3, 2, 1]
        assert _ids(http, order="asc") == [1, 2, 3, 4, 5, 6, 7]
        assert _ids(http, order="ASC") == [7, 6, 5, 4, 3, 2, 1]  # exactly `asc` (§0.2)
        assert _ids(http, type=4) == [4, 3, 2, 1]
        assert _ids(http, type=4, route=2) == []
        assert _ids(http, observer="OBS2") == [6, 5, 3, 1]
        assert _ids(http, observer="obs2") == []  # ids are case-sensitive
        assert _ids(http, region="pdx, sea") == [7, 6, 5, 4, 3, 2, 1]
        assert _ids(http, region="PDX") == [6, 5, 3, 1]
        assert _ids(http, region="NOWHERE") == []
        assert _ids(http, since="2026-01-01T00:00:05Z") == [7, 6]  # strict
        assert _ids(http, since="2026-01-01T00:00:02Z", until="2026-01-01T00:00:05Z") == [4, 3]
        assert _ids(http, channel="Public") == [6, 5]
        assert _ids(http, channel="enc_BE") == [7]
        assert _ids(http, node=REPEATER) == [5, 4, 1]  # its advert, and what it relayed
        assert _ids(http, node="Alpha") == [5, 4, 1]  # by name
        assert _ids(http, nodes=f"{SENSOR},Alpha") == [5, 4, 1]
        first = http.get("/api/packets", params={"limit": 1}).json()["packets"][0]
        assert _ids(http, hash=first["hash"].upper()) == [7]
        for bad in ({"type": "ADVERT"}, {"type": "16"}, {"route": "-1"}, {"limit": "-5"},
                    {"since": "last tuesday"}, {"until": "2026-13-01"}, {"asOf": "x"},
                    {"area": "x"}):  # fmt: skip
            answer = http.get("/api/packets", params=bad)
            assert answer.status_code == 400, bad
            assert answer.json()["parameter"] == next(iter(bad))


def test_grouped_and_expanded_shapes(serve: Serve, settings: Settings) -> None:
    server = start_world(serve, settings)
    with server.client() as http:
        grouped = http.get("/api/packets", params={"groupByHash": "true", "type": 5}).json()
        raw = http.get("/api/packets", params={"groupByHash": "True"}).json()  # §0.2: off
        expanded = http.get("/api/packets", params={"expand": "observations", "limit": 3})
    alice = grouped["packets"][2]
    # §9.4: latest is the newest sighting, or first_seen when that falls in its second
    assert [p["latest"] for p in grouped["packets"]] == [
        "2026-01-01T00:00:08Z", "2026-01-01T00:00:07Z", "2026-01-01T00:00:06.000Z",
    ]  # fmt: skip
    assert alice["distinct_iatas"] == ["PDX", "SEA"]
    assert alice["observer_count"] == 2 and alice["count"] == 2
    assert "id" not in alice and "_parsedPath" not in alice
    assert "id" in raw["packets"][0]
    rows = expanded.json()["packets"]
    assert [len(r["observations"]) for r in rows] == [1, 1, 2]
    assert [o["id"] for o in rows[2]["observations"]] == [7, 6]  # newest first


def test_packet_detail_by_hash_id_and_observation(serve: Serve, settings: Settings) -> None:
    server = start_world(serve, settings)
    with server.client() as http:
        by_id = http.get("/api/packets/5").json()
        by_hash = http.get(f"/api/packets/{by_id['packet']['hash'].upper()}").json()
        by_obs = http.get("/api/packets/9").json()  # no transmission 9: observation 9
        missing = http.get("/api/packets/123456")
        assert missing.status_code == 404
        assert missing.json() == {"error": "packet not found: 123456"}
        assert http.get("/api/packets/zz").status_code == 404
    assert by_id == by_hash
    assert by_id["path"] == [REPEATER[:2].upper(), "99"]
    assert by_id["observation_count"] == 2
    assert [o["id"] for o in by_id["observations"]] == [7, 6]
    assert by_id["observations"][0]["hash"] == by_id["packet"]["hash"]
    assert by_obs["packet"]["id"] == 9 and by_obs["packet"]["score"] is None
    assert by_obs["packet"]["payload_type"] == 5 and by_obs["path"] == []


def test_timestamps(serve: Serve, settings: Settings) -> None:
    server = start_world(serve, settings)
    with server.client() as http:
        times = http.get("/api/packets/timestamps", params={"since": "2026-01-01T00:00:05Z"})
        assert times.json() == ["2026-01-01T00:00:07Z", "2026-01-01T00:00:08Z"]
        capped = http.get(
            "/api/packets/timestamps", params={"since": "2025-01-01T00:00:00Z", "limit": 2}
        )
        assert capped.json() == ["2026-01-01T00:00:00Z", "2026-01-01T00:00:02Z"]
        assert capped.headers["x-meshlens-truncated"] == "7"
        assert (
            http.get("/api/packets/timestamps", params={"since": "2030-01-01T00:00:00Z"}).json()
            == []
        )
        assert http.get("/api/packets/timestamps").status_code == 400


def test_packet_list_limits(serve: Serve, settings: Settings) -> None:
    server = start_world(serve, settings)
    with server.client() as http:
        assert len(_ids(http, limit=0)) == 7  # the default, 50
        assert _ids(http, limit=1) == [7]
        top = http.get("/api/packets", params={"limit": 10000})
        assert top.json()["limit"] == 10000 and "x-meshlens-limit-clamped" not in top.headers
        over = http.get("/api/packets", params={"limit": 10001, "groupByHash": "true"})
        assert over.json()["limit"] == 10000
        assert over.headers["x-meshlens-limit-clamped"] == "10001"
        assert _ids(http, offset=6) == [1] and _ids(http, offset=99) == []
