"""Operator endpoints: health, readiness, recomputer status and Prometheus metrics."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from meshlens.api.ops import EMPTY_HINT
from meshlens.config import Settings
from meshlens.recomputer import ForkRunner
from tests.api.conftest import Serve, chatter
from tests.api.probe import PROBE_ROUTE
from tests.api.running import seed


def test_health_reports_the_store_load_and_requests(serve: Serve, settings: Settings) -> None:
    seed(settings, chatter(4))
    server = serve()
    server.wait_ready()
    with server.client() as http:
        http.get(PROBE_ROUTE)
        health = http.get("/api/health").json()
    assert health["status"] == "ok"
    assert health["engine"] == "meshlens"
    assert health["packetStore"]["packets"] == 4
    assert health["packetStore"]["estimatedMB"] >= 0
    assert health["memory"]["rss"] > 0
    assert health["load"] == {
        "loading": False,
        "fraction": 1.0,
        "transmissionsLoaded": 4,
        "observationsLoaded": 4,
        "observationsTotal": 4,
        "error": None,
    }
    assert health["analyticsReady"] is True
    assert health["perf"]["totalRequests"] >= 1
    assert "hint" not in health
    assert set(health["eventLoop"]) == {"currentLagMs", "maxLagMs", "p50Ms", "p95Ms", "p99Ms"}


def test_an_empty_database_says_how_to_get_data_until_some_arrives(serve: Serve) -> None:
    server = serve()
    server.wait_ready()
    with server.client() as http:
        empty = http.get("/api/health").json()
        server.server.worker.submit(chatter(1)).result(10)
        fed = http.get("/api/health").json()
    assert empty["hint"] == EMPTY_HINT
    assert "mqttSources" in empty["hint"] and "meshlens import" in empty["hint"]
    assert "hint" not in fed


def test_recomputers_endpoint_lists_every_analytic(serve: Serve) -> None:
    server = serve()
    server.wait_ready()
    with server.client() as http:
        body = http.get("/api/analytics/recomputers").json()
    assert body["loaded"] is True and body["ready"] is True
    assert body["computeIn"] == "fork"
    rows = {row["name"]: row for row in body["recomputers"]}
    assert len(rows) == 10
    assert rows["topology"] == {
        "name": "topology",
        "route": "/api/analytics/topology",
        "built": False,
    }
    probe = rows["probe"]
    assert probe["built"] is True and probe["ready"] is True
    assert probe["runs"] >= 1 and probe["failures"] == 0 and probe["consecutiveFailures"] == 0
    assert probe["intervalSec"] == 300
    assert probe["lastError"] is None
    assert probe["lastDurationMs"] >= 0
    assert probe["snapshotAgeSec"] >= 0
    assert probe["generation"] is not None


def test_metrics_are_prometheus_text_with_meshlens_families(
    serve: Serve, settings: Settings
) -> None:
    seed(settings, chatter(6))
    server = serve()
    server.wait_ready()
    runner = server.server.background
    assert isinstance(runner, ForkRunner)
    server.wait_until(lambda: runner.stats().cpu_s > 0)  # the first pass's child is reaped
    with server.client() as http:
        http.get(PROBE_ROUTE)
        http.get(PROBE_ROUTE, params={"window": "bad"})
        response = http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    families = {f.name: f for f in text_string_to_metric_families(response.text)}
    requests = families["meshlens_http_requests"]
    assert requests.type == "counter"
    labels = {(s.labels["route"], s.labels["status"]) for s in requests.samples}
    assert {(PROBE_ROUTE, "200"), (PROBE_ROUTE, "400")} <= labels
    assert families["meshlens_http_request_duration_seconds"].type == "histogram"
    runs = {s.labels["analytic"]: s.value for s in families["meshlens_recompute_runs"].samples}
    assert runs["probe"] >= 1
    store = families["meshlens_store_transmissions"].samples[0].value
    assert store == 6
    assert families["meshlens_ingest_received"].type == "counter"
    assert families["meshlens_compute_forks"].samples[0].value >= 1
    cpu = families["meshlens_compute_cpu_seconds"]
    assert cpu.type == "counter" and cpu.samples[0].value > 0  # the children that have ended
    assert "process_resident_memory_bytes" in families
