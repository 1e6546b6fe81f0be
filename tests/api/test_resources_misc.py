"""GET /api/stats, /api/observers[/{id}], /api/channels[/{hash}/messages] on a small mesh."""

from __future__ import annotations

import dataclasses

from meshlens.config import Settings
from tests.api.conftest import Serve
from tests.api.resources_world import HOSTILE_OBSERVER, start_world


def test_stats(serve: Serve, settings: Settings) -> None:
    server = start_world(serve, settings)
    with server.client() as http:
        body = http.get("/api/stats").json()
    for key in ("trackedMB", "storeDataMB", "processRSSMB"):
        assert isinstance(body.pop(key), float)
    assert body == {
        "totalPackets": 7, "totalTransmissions": 7, "totalObservations": 9,
        "totalNodes": 6, "totalNodesAllTime": 6, "totalObservers": 2,
        "packetsLastHour": 9, "packetsLast24h": 9, "engine": "meshlens",
        "version": body["version"], "commit": "unknown", "buildTime": "unknown",
        "counts": {"repeaters": 1, "rooms": 1, "companions": 3, "sensors": 1},
        "hashMigrationComplete": True, "goHeapInuseMB": 0.0, "goSysMB": 0.0,
        "neighborGraphCacheRebuildFailures": 0,
    }  # fmt: skip


def test_observers(serve: Serve, settings: Settings) -> None:
    server = start_world(serve, dataclasses.replace(settings, observer_blacklist=(" obs1 ",)))
    with server.client() as http:
        listed = http.get("/api/observers")
        one = http.get("/api/observers/OBS2").json()
        assert http.get("/api/observers/OBS1").status_code == 404  # blacklisted
        missing = http.get("/api/observers/obs2")  # exact, case-sensitive
        assert missing.status_code == 404
        assert missing.json() == {"error": "observer not found: obs2"}
        assert len(http.get("/api/observers", params={"limit": 1}).json()["observers"]) == 1
        assert http.get("/api/observers", params={"limit": -1}).status_code == 400
    assert listed.headers["x-cache-age-seconds"] == "0"
    [row] = listed.json()["observers"]
    assert row["name"] == HOSTILE_OBSERVER  # markup, control characters, 500+ characters
    assert row == {**one, "lat": None, "lon": None, "nodeRole": None}
    assert one == {
        "id": "OBS2", "name": HOSTILE_OBSERVER, "iata": "PDX",
        "last_seen": one["last_seen"], "first_seen": one["first_seen"], "packet_count": 4,
        "model": None, "firmware": None, "client_version": None, "radio": None,
        "battery_mv": None, "uptime_secs": None, "noise_floor": None,
        "last_packet_at": one["last_packet_at"], "packetsLastHour": 4, "lat": None,
        "lon": None, "nodeRole": None, "clock_naive": False, "clock_skew_seconds": None,
        "clock_skew_count_24h": 0, "clock_last_naive_at": None,
    }  # fmt: skip


def test_channels(serve: Serve, settings: Settings) -> None:
    server = start_world(serve, settings)
    with server.client() as http:
        plain = http.get("/api/channels").json()
        every = http.get("/api/channels", params={"includeEncrypted": "true"}).json()
        sea = http.get("/api/channels", params={"region": "SEA"}).json()
    public = {
        "hash": "Public", "name": "Public", "lastMessage": "no separator here",
        "lastSender": None, "messageCount": 2, "lastActivity": "2026-01-01T00:00:07Z",
    }  # fmt: skip
    assert plain == {"channels": [public]}
    assert every["channels"][1] == {
        "hash": "enc_BE", "name": "Encrypted (0xBE)", "lastMessage": None, "lastSender": None,
        "messageCount": 1, "lastActivity": "2026-01-01T00:00:08Z", "encrypted": True,
    }  # fmt: skip
    # SEA heard only the Alice message; the last message is still taken over all regions
    assert sea == {"channels": [{**public, "messageCount": 1,
                                 "lastActivity": "2026-01-01T00:00:05Z"}]}  # fmt: skip


def test_channel_messages(serve: Serve, settings: Settings) -> None:
    server = start_world(serve, settings)
    with server.client() as http:
        body = http.get("/api/channels/Public/messages").json()
        newest = http.get("/api/channels/Public/messages", params={"limit": 1}).json()
        sealed = http.get("/api/channels/enc_BE/messages").json()
        unknown = http.get("/api/channels/%23nothing/messages")
        over = http.get("/api/channels/Public/messages", params={"limit": 501})
    assert [m["packetId"] for m in body["messages"]] == [5, 6]  # oldest first
    assert body["messages"][0] == {
        "sender": "Alice", "text": "hello <world> & \x07bell",
        "timestamp": "2026-01-01T00:00:06Z", "first_seen": "2026-01-01T00:00:05Z",
        "sender_timestamp": 1767225600, "packetId": 5,
        "packetHash": body["messages"][0]["packetHash"], "repeats": 2,
        "observers": ["Observer One"], "hops": 1, "snr": 7.25,
    }  # fmt: skip
    assert body["messages"][1]["sender"] == "" and body["total"] == 2
    assert [m["packetId"] for m in newest["messages"]] == [6]
    assert sealed["messages"][0]["sender"] == "" and sealed["messages"][0]["text"] == ""
    assert unknown.status_code == 200 and unknown.json()["messages"] == []
    assert over.headers["x-meshlens-limit-clamped"] == "501"
