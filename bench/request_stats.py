"""Request metrics: what counting one request costs, against prometheus_client's own.

Every read, the fast path's included, ends in `RequestStats.record`. This times it beside
what it did until session 28 (`PrometheusStats`: prometheus_client's Counter and
Histogram, same names, labels and buckets, plus the same totals), fed the same request,
best of five repeats:

    PYTHONPATH=. python -m bench.request_stats
"""

from __future__ import annotations

import threading
import timeit
from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram

from meshlens.api.metrics import LATENCY_BUCKETS_S, SLOW_MS, RequestStats
from meshlens.records import SystemClock

ROUTE = "/api/analytics/rf"
NUMBER = 300_000


class PrometheusStats:
    """RequestStats.record as it was: cached children of a Counter and a Histogram."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._requests = Counter(
            "meshlens_http_requests",
            "HTTP requests answered, by route template, method and status.",
            ["route", "method", "status"],
            registry=registry,
        )
        self._latency = Histogram(
            "meshlens_http_request_duration_seconds",
            "Time from receiving a request to handing its last byte to the server.",
            ["route"],
            buckets=LATENCY_BUCKETS_S,
            registry=registry,
        )
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        self._lock = threading.Lock()
        self._total = 0
        self._total_s = 0.0
        self.slow = 0

    def record(self, route: str, method: str, status: int, seconds: float) -> None:
        """Count one finished request (the slow ring, which /metrics does not show, counted)."""
        key = (route, method, status)
        children = self._children.get(key)
        if children is None:
            children = self._children[key] = (
                self._requests.labels(route, method, str(status)),
                self._latency.labels(route),
            )
        children[0].inc()
        children[1].observe(seconds)
        with self._lock:
            self._total += 1
            self._total_s += seconds
            if seconds * 1000.0 > SLOW_MS:
                self.slow += 1


def _best_us(call: Callable[[], object]) -> float:
    best = min(timeit.repeat(call, number=NUMBER, repeat=5))
    return best / NUMBER * 1e6


def main() -> None:
    """Print both costs and their ratio."""
    stats = RequestStats(CollectorRegistry(), SystemClock())
    before = PrometheusStats(CollectorRegistry())
    ours = _best_us(lambda: stats.record(ROUTE, "GET", 200, 0.0012, ROUTE))
    theirs = _best_us(lambda: before.record(ROUTE, "GET", 200, 0.0012))
    print(f"RequestStats.record {ours:.2f} µs a request; with prometheus_client's Counter and"
          f" Histogram {theirs:.2f} µs (x{theirs / ours:.1f})")  # fmt: skip


if __name__ == "__main__":
    main()
