"""Operator endpoints: health and readiness, recomputer status, Prometheus metrics.

/api/health follows api-resources §2 with the fields meshlens can fill honestly (Go-only
memory figures are 0) plus meshlens' own: load progress, analytics readiness and, while
no data has arrived, how to get some.
"""

from __future__ import annotations

import os
import resource
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from meshlens import __version__
from meshlens.analytics.stats import round1, round_half_away
from meshlens.api.context import ApiContext
from meshlens.api.metrics import slow_json, store_bytes
from meshlens.api.responses import NO_STORE, Reply, json_reply
from meshlens.records import JSONObject, JSONValue
from meshlens.times import iso_seconds

MB = 1 << 20

EMPTY_HINT = (
    "no data yet: point observers (meshcoretomqtt) at a broker listed in mqttSources,"
    " or stop the server and run `meshlens import FILE...` (MQTT JSONL, packet JSONL or a"
    " CoreScope database), or try `meshlens serve --demo`"
)


def rss_bytes() -> int:
    """Resident memory of this process (Linux: now; elsewhere: the peak)."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def uptime_human(seconds: int) -> str:
    """`<h>h <m>m`, hours not wrapped at 24 (api-resources §2)."""
    return f"{seconds // 3600}h {seconds % 3600 // 60}m"


def hint(ctx: ApiContext) -> str | None:
    """What to do when nothing has been stored yet (None once there is data)."""
    if ctx.status.demo or not ctx.status.loaded or len(ctx.store.snapshot().tx):
        return None
    return EMPTY_HINT


def _cache_json(ctx: ApiContext) -> JSONObject:
    stats = ctx.service.filtered_stats().values()
    hits = sum(s.hits + s.stale + s.joins for s in stats)
    misses = sum(s.misses for s in stats)
    lookups = hits + misses
    return {
        "entries": sum(s.entries for s in stats),
        "hits": hits,
        "misses": misses,
        "staleHits": sum(s.stale for s in stats),
        "recomputes": misses,
        "hitRate": round1(hits * 100.0 / lookups) if lookups else 0.0,
    }


def _load_json(ctx: ApiContext) -> JSONObject:
    progress = ctx.store.progress
    return {
        "loading": not ctx.status.loaded,
        # Never 1.0 before the load has really ended (the last chunk is still being indexed).
        "fraction": round_half_away(1.0 if ctx.status.loaded else min(progress.fraction, 0.999), 3),
        "transmissionsLoaded": progress.transmissions_loaded,
        "observationsLoaded": progress.observations_loaded,
        "observationsTotal": progress.observations_total,
        "error": ctx.status.load_error,
    }


def health(ctx: ApiContext) -> JSONObject:
    """GET /api/health (api-resources §2)."""
    uptime = int(ctx.clock.monotonic_s() - ctx.status.started_s)
    total, mean_ms, slow = ctx.requests.summary()
    stored_mb = round1(store_bytes(ctx.store) / MB)
    out: JSONObject = {
        "status": "ok",
        "engine": "meshlens",
        "version": __version__,
        "commit": "unknown",
        "buildTime": "unknown",
        "uptime": uptime,
        "uptimeHuman": uptime_human(uptime),
        "memory": {"rss": rss_bytes() // MB, "heapUsed": 0, "heapTotal": 0, "external": 0},
        "eventLoop": dict(ctx.loop_lag.summary()),
        "cache": _cache_json(ctx),
        "websocket": {"clients": 0},
        "packetStore": {
            "packets": len(ctx.store.snapshot().tx),
            "estimatedMB": stored_mb,
            "trackedMB": stored_mb,
        },
        "perf": {
            "totalRequests": total,
            "avgMs": round1(mean_ms),
            "slowQueries": len(slow),
            "recentSlow": [slow_json(entry) for entry in slow[-5:]],
        },
        "load": _load_json(ctx),
        "analyticsReady": ctx.status.loaded and ctx.recomputers.ready(),
        "demo": ctx.status.demo,
    }
    tip = hint(ctx)
    if tip is not None:
        out["hint"] = tip
    return out


def healthz(ctx: ApiContext) -> tuple[int, JSONObject]:
    """GET /api/healthz: 503 while loading, 200 with what was loaded once ready."""
    if ctx.status.load_error is not None:
        return 503, {"ready": False, "reason": "load failed", "error": ctx.status.load_error}
    if not ctx.status.loaded:
        return 503, {"ready": False, "reason": "loading"}
    progress = ctx.store.progress
    return 200, {
        "ready": True,
        "loadedTx": progress.transmissions_loaded,
        "loadedObs": progress.observations_loaded,
        "from_pubkey_backfill": {"total": 0, "processed": 0, "done": True},
    }


def _seconds(value: float | None, places: int = 3) -> JSONValue:
    return None if value is None else round_half_away(value, places)


def recomputers(ctx: ApiContext) -> JSONObject:
    """GET /api/analytics/recomputers: each analytic's recompute status."""
    by_name = {s.name: s for s in ctx.recomputers.stats()}
    rows: list[JSONValue] = []
    for analytic in ctx.service.analytics:
        s = by_name.get(analytic.name)
        row: dict[str, Any] = {"name": analytic.name, "route": analytic.route}
        if s is None:
            row |= {"built": False}
            rows.append(row)
            continue
        row |= {
            "built": True,
            "ready": ctx.recomputers.is_ready(analytic.name),
            "intervalSec": s.interval_s,
            "runs": s.runs,
            "skipped": s.skipped,
            "failures": s.failures,
            "consecutiveFailures": s.consecutive_failures,
            "overruns": s.overruns,
            "lastError": s.last_error,
            "lastDurationMs": _seconds(
                None if s.last_duration_s is None else s.last_duration_s * 1000, 1
            ),
            "lastSuccess": None if s.last_success_ms is None else iso_seconds(s.last_success_ms),
            "snapshotAgeSec": _seconds(s.snapshot_age_s, 1),
            "unverifiedSec": _seconds(s.unverified_s, 1),
            "stale": s.stale,
            "inFlight": s.in_flight,
            "nextDueInSec": _seconds(s.next_due_in_s, 1),
            "generation": s.generation,
        }
        rows.append(row)
    return {
        "loaded": ctx.status.loaded,
        "ready": ctx.status.loaded and ctx.recomputers.ready(),
        "computeIn": ctx.settings.analytics.compute_in,
        "recomputers": rows,
    }


def metrics_reply(ctx: ApiContext) -> Reply:
    """GET /metrics in the Prometheus text format."""
    body = generate_latest(ctx.registry)
    return Reply(
        200,
        [(b"content-type", CONTENT_TYPE_LATEST.encode()), NO_STORE,
         (b"content-length", str(len(body)).encode())],
        body,
    )  # fmt: skip


def healthz_reply(ctx: ApiContext) -> Reply:
    """The readiness probe as a reply."""
    status, value = healthz(ctx)
    return json_reply(value, status)
