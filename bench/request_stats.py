"""Request metrics: what counting one request costs, against prometheus_client's own.

Every read, the fast path's included, ends in `RequestStats.record`. This times it beside
what it did until session 28 (prometheus_client's Counter and Histogram, same labels and
buckets, plus the same totals), fed the same request, best of five repeats:

    PYTHONPATH=. python -m bench.request_stats
"""

from __future__ import annotations

import threading
import timeit
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram

from meshlens.api.metrics import LATENCY_BUCKETS_S, SLOW_MS, RequestStats
from meshlens.records import SystemClock

ROUTE = "/api/analytics/rf"
NUMBER = 300_000


def _best_us(call: object) -> float:
    best = min(timeit.repeat(call, number=NUMBER, repeat=5))  # type: ignore[arg-type]
    return best / NUMBER * 1e6


def main() -> None:
    """Print both costs and their ratio."""
    stats = RequestStats(CollectorRegistry(), SystemClock())
    registry = CollectorRegistry()
    requests = Counter("r", "requests", ["route", "method", "status"], registry=registry)
    latency = Histogram("l", "latency", ["route"], buckets=LATENCY_BUCKETS_S, registry=registry)
    cache: dict[tuple[str, str, int], tuple[Any, Any]] = {}
    lock, totals = threading.Lock(), [0, 0.0]

    def before(route: str, method: str, status: int, seconds: float) -> None:
        """What record did until session 28: cached children, two increments, the totals."""
        key = (route, method, status)
        children = cache.get(key)
        if children is None:
            children = cache[key] = (requests.labels(route, method, str(status)),
                                     latency.labels(route))  # fmt: skip
        children[0].inc()
        children[1].observe(seconds)
        with lock:
            totals[0] += 1
            totals[1] += seconds
            if seconds * 1000.0 > SLOW_MS:
                raise AssertionError("not timed: no request here is slow")

    ours = _best_us(lambda: stats.record(ROUTE, "GET", 200, 0.0012, ROUTE))
    theirs = _best_us(lambda: before(ROUTE, "GET", 200, 0.0012))
    print(f"RequestStats.record {ours:.2f} µs a request; with prometheus_client's Counter and"
          f" Histogram {theirs:.2f} µs (x{theirs / ours:.1f})")  # fmt: skip


if __name__ == "__main__":
    main()
