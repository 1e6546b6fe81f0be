"""Errors: 501 for unbuilt analytics, 400 naming the parameter, 404s, JSON bodies."""

from __future__ import annotations

import pytest

from meshlens.config import Settings
from tests.api.conftest import Serve, chatter
from tests.api.probe import DETAIL_MISSING, DETAIL_ROUTE, PROBE_ROUTE
from tests.api.running import seed


def test_unbuilt_analytics_answer_501_with_their_name(serve: Serve) -> None:
    server = serve()
    server.wait_ready()
    with server.client() as http:
        plain = http.get("/api/analytics/topology")
        filtered = http.get("/api/analytics/topology", params={"window": "24h"})
        skew = http.get("/api/observers/clock-skew")
    assert plain.status_code == 501
    assert plain.json() == {"error": "topology is not available in this meshlens build yet"}
    assert plain.headers["cache-control"] == "no-store"
    assert filtered.status_code == 501
    assert (
        skew.json()["error"] == "observers-clock-skew is not available in this meshlens build yet"
    )


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"window": "2h"}, "window"),
        ({"from": "yesterday"}, "from"),
        ({"to": "2026-13-45T00:00:00Z"}, "to"),
        ({"from": "2026-02-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}, "from"),
    ],
)
def test_malformed_parameters_answer_400_naming_the_parameter(
    serve: Serve, params: dict[str, str], parameter: str
) -> None:
    server = serve()
    server.wait_ready()
    with server.client() as http:
        response = http.get(PROBE_ROUTE, params=params)
    assert response.status_code == 400
    body = response.json()
    assert body["parameter"] == parameter
    assert f"parameter {parameter!r}" in body["error"]
    assert "expected" in body["error"]
    assert response.headers["cache-control"] == "no-store"


def test_detail_routes_serve_a_key_or_404_with_the_registry_message(
    serve: Serve, settings: Settings
) -> None:
    seed(settings, chatter(3))
    server = serve()
    server.wait_ready()
    with server.client() as http:
        found = http.get(DETAIL_ROUTE.format(observer="OBS1"))
        etag = found.headers["etag"]
        again = http.get(DETAIL_ROUTE.format(observer="obs1"), headers={"If-None-Match": etag})
        missing = http.get(DETAIL_ROUTE.format(observer="nobody"))
    assert found.status_code == 200
    assert found.json() == {"observer": "OBS1", "name": "Observer 1"}
    assert again.status_code == 304
    assert missing.status_code == 404
    assert missing.json() == {"error": DETAIL_MISSING}


def test_unknown_paths_and_methods_answer_json(serve: Serve) -> None:
    server = serve()
    with server.client() as http:
        unknown = http.get("/api/nothing-here")
        wrong_method = http.post(PROBE_ROUTE)
        wrong_decode = http.get("/api/decode")
    assert unknown.status_code == 404
    assert unknown.json() == {"error": "not found"}
    assert unknown.headers["cache-control"] == "no-store"
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"] == "method not allowed"
    assert wrong_decode.status_code == 405
    assert "POST" in wrong_decode.headers["allow"]


def test_a_failing_filtered_compute_answers_500_and_the_server_carries_on(
    serve: Serve,
) -> None:
    import dataclasses

    from tests.api.probe import PROBE, REGISTRY, failing

    broken = dataclasses.replace(PROBE, name="broken", route="/api/analytics/broken",
                                 compute=failing, detail=None)  # fmt: skip
    server = serve(analytics=(*REGISTRY, broken))
    # The background first pass runs after the load; on a busy machine it may not have
    # failed yet when the status is read, so wait for it (an event, not a time).
    server.wait_until(lambda: server.server.recomputers["broken"].stats().failures >= 1)
    with server.client() as http:
        filtered = http.get("/api/analytics/broken", params={"window": "1h"})
        recomputers = http.get("/api/analytics/recomputers").json()
        healthy = http.get("/api/health")
    assert filtered.status_code == 500
    assert "probe failure" in filtered.json()["error"]
    row = next(r for r in recomputers["recomputers"] if r["name"] == "broken")
    assert row["failures"] >= 1
    assert "probe failure" in row["lastError"]
    assert healthy.status_code == 200
