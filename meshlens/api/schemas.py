"""JSON Schemas of the bodies meshlens itself defines, for /openapi.json and its tests."""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]

NUMBER: Schema = {"type": "number"}
INTEGER: Schema = {"type": "integer"}
STRING: Schema = {"type": "string"}
BOOLEAN: Schema = {"type": "boolean"}


def nullable(schema: Schema) -> Schema:
    """`schema` or null."""
    return {"anyOf": [schema, {"type": "null"}]}


def obj(properties: dict[str, Schema], *, optional: tuple[str, ...] = ()) -> Schema:
    """An object with these properties, all required unless named optional."""
    return {
        "type": "object",
        "properties": properties,
        "required": [name for name in properties if name not in optional],
    }


ERROR = obj(
    {
        "error": STRING,
        "parameter": STRING,
        "reason": STRING,
        "offset": INTEGER,
        "where": STRING,
        "retry_after_s": INTEGER,
    },
    optional=("parameter", "reason", "offset", "where", "retry_after_s"),
)

WARMING_UP = obj({"error": {"const": "analytics warming up"}, "retry_after_s": INTEGER})

ANY_JSON: Schema = {
    "description": "The analytic's result; its fields are listed in docs/analytics.md.",
}

_SLOW = obj({"path": STRING, "ms": NUMBER, "time": STRING, "status": INTEGER})

HEALTH = obj(
    {
        "status": {"const": "ok"},
        "engine": STRING,
        "version": STRING,
        "commit": STRING,
        "buildTime": STRING,
        "uptime": INTEGER,
        "uptimeHuman": STRING,
        "memory": obj({k: INTEGER for k in ("rss", "heapUsed", "heapTotal", "external")}),
        "eventLoop": obj(
            {k: NUMBER for k in ("currentLagMs", "maxLagMs", "p50Ms", "p95Ms", "p99Ms")}
        ),
        "cache": obj(
            {
                "entries": INTEGER,
                "hits": INTEGER,
                "misses": INTEGER,
                "staleHits": INTEGER,
                "recomputes": INTEGER,
                "hitRate": NUMBER,
            }
        ),
        "websocket": obj({"clients": INTEGER}),
        "packetStore": obj({"packets": INTEGER, "estimatedMB": NUMBER, "trackedMB": NUMBER}),
        "perf": obj(
            {
                "totalRequests": INTEGER,
                "avgMs": NUMBER,
                "slowQueries": INTEGER,
                "recentSlow": {"type": "array", "items": _SLOW},
            }
        ),
        "load": obj(
            {
                "loading": BOOLEAN,
                "fraction": NUMBER,
                "transmissionsLoaded": INTEGER,
                "observationsLoaded": INTEGER,
                "observationsTotal": INTEGER,
                "error": nullable(STRING),
            }
        ),
        "analyticsReady": BOOLEAN,
        "demo": BOOLEAN,
        "hint": STRING,
    },
    optional=("hint",),
)

HEALTHZ_READY = obj(
    {
        "ready": {"const": True},
        "loadedTx": INTEGER,
        "loadedObs": INTEGER,
        "from_pubkey_backfill": obj({"total": INTEGER, "processed": INTEGER, "done": BOOLEAN}),
    }
)
HEALTHZ_LOADING = obj(
    {"ready": {"const": False}, "reason": STRING, "error": STRING}, optional=("error",)
)

_BUILT_ROW = obj(
    {
        "name": STRING,
        "route": STRING,
        "built": {"const": True},
        "ready": BOOLEAN,
        "intervalSec": NUMBER,
        "runs": INTEGER,
        "skipped": INTEGER,
        "failures": INTEGER,
        "consecutiveFailures": INTEGER,
        "overruns": INTEGER,
        "lastError": nullable(STRING),
        "lastDurationMs": nullable(NUMBER),
        "lastSuccess": nullable(STRING),
        "snapshotAgeSec": nullable(NUMBER),
        "unverifiedSec": nullable(NUMBER),
        "stale": BOOLEAN,
        "inFlight": BOOLEAN,
        "nextDueInSec": NUMBER,
        "generation": nullable(INTEGER),
    }
)
_UNBUILT_ROW = obj({"name": STRING, "route": STRING, "built": {"const": False}})

RECOMPUTERS = obj(
    {
        "loaded": BOOLEAN,
        "ready": BOOLEAN,
        "computeIn": STRING,
        "recomputers": {"type": "array", "items": {"oneOf": [_BUILT_ROW, _UNBUILT_ROW]}},
    }
)

DECODE_REQUEST = obj({"hex": STRING})
DECODED = obj(
    {
        "decoded": {
            "type": "object",
            "properties": {
                "header": obj(
                    {
                        "routeType": INTEGER,
                        "routeTypeName": STRING,
                        "payloadType": INTEGER,
                        "payloadTypeName": STRING,
                        "payloadVersion": INTEGER,
                    }
                ),
                "transportCodes": nullable(obj({"code1": INTEGER, "code2": INTEGER})),
                "path": {"type": "object"},
                "payload": {"type": "object"},
                "raw": STRING,
                "anomaly": STRING,
            },
            "required": ["header", "path", "payload"],
        }
    }
)

_COUNTS = {
    "received": INTEGER,
    "storedObservations": INTEGER,
    "newTransmissions": INTEGER,
    "duplicates": INTEGER,
    "dropped": INTEGER,
    "rejected": {"type": "object", "additionalProperties": INTEGER},
    "lastMessageAt": nullable(STRING),
}
_SOURCE_COUNTS = {
    **_COUNTS,
    "decoded": INTEGER,
    "statusMessages": INTEGER,
    "filtered": {"type": "object", "additionalProperties": INTEGER},
}
INGEST_STATUS = obj(
    {
        "queue": obj({"depth": INTEGER, "capacity": INTEGER}),
        "pipeline": obj(_COUNTS),
        "pipelineProcess": nullable(obj({"pid": nullable(INTEGER), "restarts": INTEGER})),
        "mqtt": obj(
            {
                "total": obj(_SOURCE_COUNTS),
                "sources": {
                    "type": "array",
                    "items": obj(
                        {
                            **_SOURCE_COUNTS,
                            "name": STRING,
                            "broker": STRING,
                            "topics": {"type": "array", "items": STRING},
                            "qos": INTEGER,
                            "connected": BOOLEAN,
                            "subscribed": BOOLEAN,
                            "connects": INTEGER,
                            "disconnects": INTEGER,
                            "failures": INTEGER,
                            "lastError": nullable(STRING),
                            "since": nullable(STRING),
                            "sessionPresent": BOOLEAN,
                            "protocolErrors": INTEGER,
                        }
                    ),
                },
            }
        ),
    }
)

# name -> schema, published under components/schemas
COMPONENTS: dict[str, Schema] = {
    "Error": ERROR,
    "WarmingUp": WARMING_UP,
    "Health": HEALTH,
    "HealthzReady": HEALTHZ_READY,
    "HealthzLoading": HEALTHZ_LOADING,
    "Recomputers": RECOMPUTERS,
    "DecodeRequest": DECODE_REQUEST,
    "Decoded": DECODED,
    "IngestStatus": INGEST_STATUS,
}
