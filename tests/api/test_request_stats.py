"""RequestStats: the request metrics, said exactly as prometheus_client's own would say them."""

from __future__ import annotations

import re

from prometheus_client import CollectorRegistry, generate_latest

from bench.request_stats import PrometheusStats
from meshlens.api.metrics import SLOW_MS, RequestStats
from meshlens.records import FakeClock

# Each case: route, method, status, seconds; on bucket bounds, between them, past the last.
_REQUESTS = [
    ("/api/analytics/rf", "GET", 200, 0.0004),
    ("/api/analytics/rf", "GET", 200, 0.0005),  # exactly a bound: counted in it (le)
    ("/api/analytics/rf", "GET", 304, 0.0007),
    ("/api/analytics/rf", "HEAD", 200, 0.003),
    ("/api/nodes", "GET", 200, 0.02),
    ("/api/nodes", "GET", 400, 2.5),
    ("/api/nodes", "GET", 200, 7.0),  # past every bound: +Inf only
    ("unmatched", "POST", 404, 0.0001),
]


def _without_created_times(text: bytes) -> str:
    # When a series began is a clock reading, the same only by chance.
    return re.sub(r"(_created\{[^}]*\}) \S+", r"\1 T", text.decode())


def test_scraped_it_says_what_prometheus_clients_counter_and_histogram_say() -> None:
    ours = CollectorRegistry()
    stats = RequestStats(ours, FakeClock(1_000))
    for route, method, status, seconds in _REQUESTS:
        stats.record(route, method, status, seconds, route)
    reference = CollectorRegistry()
    before = PrometheusStats(reference)  # what RequestStats was until session 28
    for route, method, status, seconds in _REQUESTS:
        before.record(route, method, status, seconds)
    assert _without_created_times(generate_latest(ours)) == _without_created_times(
        generate_latest(reference)
    )


def test_counts_by_hand() -> None:
    registry = CollectorRegistry()
    stats = RequestStats(registry, FakeClock(1_000))
    for route, method, status, seconds in _REQUESTS:
        stats.record(route, method, status, seconds, route)
    value = registry.get_sample_value
    assert value("meshlens_http_requests_total", {"route": "/api/analytics/rf",
                 "method": "GET", "status": "200"}) == 2  # fmt: skip
    rf = {"route": "/api/analytics/rf"}
    assert value("meshlens_http_request_duration_seconds_bucket", {**rf, "le": "0.0005"}) == 2
    assert value("meshlens_http_request_duration_seconds_bucket", {**rf, "le": "0.001"}) == 3
    assert value("meshlens_http_request_duration_seconds_count", rf) == 4
    nodes = {"route": "/api/nodes"}
    assert value("meshlens_http_request_duration_seconds_bucket", {**nodes, "le": "2.5"}) == 2
    assert value("meshlens_http_request_duration_seconds_bucket", {**nodes, "le": "+Inf"}) == 3
    assert value("meshlens_http_request_duration_seconds_sum", nodes) == 9.52
    # Each series began at its first request, by the injected clock (1 s after the epoch).
    assert value("meshlens_http_requests_created", {"route": "/api/nodes", "method": "GET",
                 "status": "400"}) == 1.0  # fmt: skip
    assert value("meshlens_http_request_duration_seconds_created", nodes) == 1.0
    total, mean_ms, slow = stats.summary()
    assert total == 8
    assert round(mean_ms, 6) == round((0.0004 + 0.0005 + 0.0007 + 0.003 + 0.02 + 2.5 + 7.0
                                       + 0.0001) * 1000 / 8, 6)  # fmt: skip
    assert [(s.path, s.ms, s.status) for s in slow] == [("/api/nodes", 2500.0, 400),
                                                         ("/api/nodes", 7000.0, 200)]  # fmt: skip
    assert SLOW_MS < 2500.0
