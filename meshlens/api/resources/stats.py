"""GET /api/stats (api-resources §1): counts of the store and the node and observer tables."""

from __future__ import annotations

from collections.abc import Callable

from meshlens import __version__
from meshlens.analytics.stats import round1
from meshlens.api.resources.context import Answer, Resources
from meshlens.api.resources.node_table import role_counts
from meshlens.records import JSONObject, JSONValue

STATS_TTL_S = 10.0  # §1: the whole response is reused for 10 s
MB = 1 << 20
WEEK_MS = 7 * 86_400_000


def stats(
    res: Resources, *, store_bytes: Callable[[], int], rss_bytes: Callable[[], int]
) -> Answer:
    """GET /api/stats, reused for 10 s as in the reference."""

    def build() -> JSONValue:
        snap = res.store.snapshot()
        now = res.clock.now_ms()
        recent = [n for n in snap.nodes if n.last_seen_ms > now - WEEK_MS]
        stored_mb = round1(store_bytes() / MB)
        out: JSONObject = {
            "totalPackets": len(snap.tx),
            "totalTransmissions": len(snap.tx),
            "totalObservations": len(snap.obs),
            "totalNodes": len(recent),
            "totalNodesAllTime": len(snap.nodes),
            "totalObservers": len(snap.observers),
            "packetsLastHour": res.index.count_after(snap, now - 3_600_000),
            "packetsLast24h": res.index.count_after(snap, now - 86_400_000),
            "engine": "meshlens",
            "version": __version__,
            "commit": "unknown",
            "buildTime": "unknown",
            "counts": role_counts(recent),
            "hashMigrationComplete": True,
            "trackedMB": stored_mb,
            "storeDataMB": stored_mb,
            "processRSSMB": round1(rss_bytes() / MB),
            "goHeapInuseMB": 0.0,
            "goSysMB": 0.0,
            "neighborGraphCacheRebuildFailures": 0,
        }
        drops = res.dropped_count() if res.dropped_count is not None else 0
        if drops:
            out["signatureDrops"] = drops
        return out

    return Answer(res.cache("stats", STATS_TTL_S, build))
