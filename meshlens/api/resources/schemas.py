"""JSON Schemas of the resource bodies (api-resources §1-§12), for /openapi.json."""

from __future__ import annotations

from meshlens.api.schemas import BOOLEAN, INTEGER, NUMBER, STRING, Schema, nullable, obj


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _array(items: Schema) -> Schema:
    return {"type": "array", "items": items}


N_STR, N_INT, N_NUM = nullable(STRING), nullable(INTEGER), nullable(NUMBER)
ROLES = obj({k: INTEGER for k in ("repeaters", "rooms", "companions", "sensors")})

_RELAY = ("relay_active", "relay_count_1h", "relay_count_24h", "unscoped_relay_count_24h",
          "last_relayed", "traffic_share_score", "bridge_score", "coverage_score",
          "redundancy_score", "usefulness_score", "usefulness_grade", "hash_sizes_seen",
          "multi_byte_status", "multi_byte_evidence", "multi_byte_max_hash_size",
          "relay_window_hours", "flood_advert_count_7d")  # fmt: skip
NODE = obj(
    {
        "public_key": STRING, "name": N_STR, "role": N_STR, "lat": N_NUM, "lon": N_NUM,
        "last_seen": N_STR, "first_seen": N_STR, "advert_count": INTEGER, "last_heard": N_STR,
        "battery_mv": N_INT, "temperature_c": N_NUM, "foreign": BOOLEAN, "hash_size": N_INT,
        "hash_size_inconsistent": BOOLEAN, "default_scope": N_STR,
        "relay_active": BOOLEAN, "relay_count_1h": INTEGER, "relay_count_24h": INTEGER,
        "unscoped_relay_count_24h": INTEGER, "last_relayed": STRING,
        "traffic_share_score": NUMBER, "bridge_score": NUMBER, "coverage_score": NUMBER,
        "redundancy_score": NUMBER, "usefulness_score": NUMBER, "usefulness_grade": STRING,
        "hash_sizes_seen": _array(INTEGER),
        "multi_byte_status": {"enum": ["confirmed", "suspected", "unknown"]},
        "multi_byte_evidence": {"enum": ["advert", "path", ""]},
        "multi_byte_max_hash_size": INTEGER, "relay_window_hours": NUMBER,
        "flood_advert_count_7d": INTEGER,
    },
    optional=_RELAY,
)  # fmt: skip

_OBSERVATION_FIELDS: dict[str, Schema] = {
    "id": INTEGER, "observer_id": N_STR, "observer_name": N_STR, "observer_iata": N_STR,
    "snr": N_NUM, "rssi": N_NUM, "path_json": STRING, "timestamp": STRING,
}  # fmt: skip
OBSERVATION = obj(
    {**_OBSERVATION_FIELDS, "hash": STRING, "direction": N_STR, "transmission_id": INTEGER},
    optional=("hash", "direction", "transmission_id"),
)

_TX_FIELDS: dict[str, Schema] = {
    "id": INTEGER, "raw_hex": STRING, "hash": STRING, "first_seen": STRING,
    "timestamp": STRING, "route_type": N_INT, "payload_type": N_INT,
    "decoded_json": N_STR, "observation_count": INTEGER, "observer_id": N_STR,
    "observer_name": N_STR, "observer_iata": N_STR, "snr": N_NUM, "rssi": N_NUM,
    "path_json": STRING, "direction": N_STR,
}  # fmt: skip
PACKET = obj(
    {**_TX_FIELDS, "_parsedPath": nullable(_array(STRING)),
     "observations": _array(OBSERVATION), "resolved_path": _array(N_STR)},
    optional=("observations", "resolved_path"),
)  # fmt: skip
GROUPED_PACKET = obj(
    {
        "hash": STRING, "first_seen": STRING, "count": INTEGER, "observation_count": INTEGER,
        "observer_count": INTEGER, "latest": STRING, "observer_id": N_STR,
        "observer_name": N_STR, "observer_iata": N_STR, "path_json": STRING, "snr": N_NUM,
        "rssi": N_NUM, "distinct_iatas": _array(STRING), "payload_type": N_INT,
        "route_type": N_INT, "raw_hex": STRING, "decoded_json": N_STR,
    }
)  # fmt: skip
PACKET_LIST = obj(
    {
        "packets": _array({"anyOf": [PACKET, GROUPED_PACKET]}),
        "total": INTEGER, "limit": INTEGER, "offset": INTEGER, "asOf": INTEGER,
    }
)  # fmt: skip
OBSERVATION_PACKET = obj(
    {**_OBSERVATION_FIELDS, "direction": N_STR, "score": N_INT, "hash": STRING,
     "raw_hex": STRING, "payload_type": N_INT, "route_type": N_INT, "decoded_json": N_STR}
)  # fmt: skip
PACKET_DETAIL = obj(
    {
        "packet": {"anyOf": [PACKET, OBSERVATION_PACKET]},
        "path": _array(STRING),
        "observation_count": INTEGER,
        "observations": _array(OBSERVATION),
    },
    optional=("observations",),
)

RECENT_ADVERT = obj({**_TX_FIELDS, "observations": _array(OBSERVATION)})
NODE_LIST = obj({"nodes": _array(NODE), "total": INTEGER, "counts": ROLES, "asOf": INTEGER})
NODE_DETAIL = obj({"node": NODE, "recentAdverts": _array(RECENT_ADVERT)})
NETWORK_STATUS = obj(
    {
        "total": INTEGER, "active": INTEGER, "degraded": INTEGER, "silent": INTEGER,
        "roleCounts": {"type": "object", "additionalProperties": INTEGER},
    }
)  # fmt: skip

OBSERVER = obj(
    {
        "id": STRING, "name": N_STR, "iata": N_STR, "last_seen": N_STR, "first_seen": N_STR,
        "packet_count": INTEGER, "model": N_STR, "firmware": N_STR, "client_version": N_STR,
        "radio": N_STR, "battery_mv": N_INT, "uptime_secs": N_INT, "noise_floor": N_NUM,
        "last_packet_at": N_STR, "packetsLastHour": INTEGER, "lat": N_NUM, "lon": N_NUM,
        "nodeRole": N_STR, "clock_naive": BOOLEAN, "clock_skew_seconds": N_INT,
        "clock_skew_count_24h": INTEGER, "clock_last_naive_at": N_STR, "can_relay": BOOLEAN,
    },
    optional=("can_relay",),
)  # fmt: skip
OBSERVER_LIST = obj({"observers": _array(OBSERVER), "server_time": STRING, "asOf": INTEGER})

CHANNEL = obj(
    {
        "hash": STRING, "name": STRING, "lastMessage": N_STR, "lastSender": N_STR,
        "messageCount": INTEGER, "lastActivity": STRING, "encrypted": {"const": True},
    },
    optional=("encrypted",),
)  # fmt: skip
CHANNEL_LIST = obj({"channels": _array(CHANNEL)})
MESSAGE = obj(
    {
        "sender": STRING, "text": STRING, "timestamp": STRING, "first_seen": STRING,
        "sender_timestamp": N_INT, "packetId": INTEGER, "packetHash": STRING,
        "repeats": INTEGER, "observers": _array(STRING), "hops": INTEGER, "snr": N_NUM,
    }
)  # fmt: skip
CHANNEL_MESSAGES = obj({"messages": _array(MESSAGE), "total": INTEGER, "asOf": INTEGER})

STATS = obj(
    {
        "totalPackets": INTEGER, "totalTransmissions": INTEGER, "totalObservations": INTEGER,
        "totalNodes": INTEGER, "totalNodesAllTime": INTEGER, "totalObservers": INTEGER,
        "packetsLastHour": INTEGER, "packetsLast24h": INTEGER, "engine": STRING,
        "version": STRING, "commit": STRING, "buildTime": STRING, "counts": ROLES,
        "signatureDrops": INTEGER, "hashMigrationComplete": BOOLEAN, "trackedMB": NUMBER,
        "storeDataMB": NUMBER, "processRSSMB": NUMBER, "goHeapInuseMB": NUMBER,
        "goSysMB": NUMBER, "neighborGraphCacheRebuildFailures": INTEGER,
    },
    optional=("signatureDrops",),
)  # fmt: skip

RESOURCE_COMPONENTS: dict[str, Schema] = {
    "Stats": STATS,
    "Node": NODE,
    "NodeList": NODE_LIST,
    "NodeDetail": NODE_DETAIL,
    "NetworkStatus": NETWORK_STATUS,
    "Observer": OBSERVER,
    "ObserverList": OBSERVER_LIST,
    "Packet": PACKET,
    "PacketList": PACKET_LIST,
    "PacketDetail": PACKET_DETAIL,
    "ChannelList": CHANNEL_LIST,
    "ChannelMessages": CHANNEL_MESSAGES,
}
