"""CORS per api-resources §0.1: only with corsAllowedOrigins, only for listed origins."""

from __future__ import annotations

from pathlib import Path

from tests.api.conftest import Serve
from tests.api.probe import PROBE_ROUTE
from tests.api.running import settings_for

SITE = "https://dash.example.org"


def test_listed_origins_get_cors_headers_and_preflights(serve: Serve, tmp_path: Path) -> None:
    server = serve(settings_for(tmp_path / "cors", cors_allowed_origins=(SITE,)))
    server.wait_ready()
    with server.client() as http:
        snapshot = http.get(PROBE_ROUTE, headers={"Origin": SITE})
        health = http.get("/api/health", headers={"Origin": SITE})
        preflight = http.options(PROBE_ROUTE, headers={"Origin": SITE})
        stranger = http.get(PROBE_ROUTE, headers={"Origin": "https://evil.example"})
        refused = http.options(PROBE_ROUTE, headers={"Origin": "https://evil.example"})
    for response in (snapshot, health, preflight):
        assert response.headers["access-control-allow-origin"] == SITE
        assert response.headers["vary"].lower().endswith("origin")
        assert response.headers["access-control-allow-methods"] == "GET, HEAD, OPTIONS"
        assert response.headers["access-control-allow-headers"] == "Content-Type, X-API-Key"
    assert preflight.status_code == 204
    assert "etag" in snapshot.headers["access-control-expose-headers"].lower()
    assert stranger.status_code == 200
    assert "access-control-allow-origin" not in stranger.headers
    assert refused.status_code == 403


def test_a_star_allows_any_origin(serve: Serve, tmp_path: Path) -> None:
    server = serve(settings_for(tmp_path / "star", cors_allowed_origins=("*",)))
    with server.client() as http:
        response = http.get("/api/health", headers={"Origin": "https://anywhere.example"})
    assert response.headers["access-control-allow-origin"] == "*"


def test_no_cors_headers_when_not_configured(serve: Serve) -> None:
    server = serve()
    server.wait_ready()
    with server.client() as http:
        response = http.get(PROBE_ROUTE, headers={"Origin": SITE})
        preflight = http.options(PROBE_ROUTE, headers={"Origin": SITE})
    assert "access-control-allow-origin" not in response.headers
    assert preflight.status_code == 405
