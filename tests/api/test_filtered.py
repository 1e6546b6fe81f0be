"""Filtered shapes: computed on the runner, once per key, cached for their TTL."""

from __future__ import annotations

import asyncio

from meshlens.config import Settings
from meshlens.recomputer import InlineRunner
from tests.api.conftest import Serve, chatter
from tests.api.probe import PROBE_ROUTE
from tests.api.running import seed


def test_region_and_window_shapes_are_computed_and_cached(serve: Serve, settings: Settings) -> None:
    seed(settings, chatter(9))
    server = serve()
    server.wait_ready()
    with server.client() as http:
        regional = http.get(PROBE_ROUTE, params={"region": "sea, pdx"})
        same_key = http.get(PROBE_ROUTE, params={"region": "PDX,SEA"})
        windowed = http.get(PROBE_ROUTE, params={"window": "24h"})
        absolute = http.get(PROBE_ROUTE, params={"from": "2026-01-01T00:00:00Z"})
    assert regional.json()["region"] == ["PDX", "SEA"]
    assert regional.headers["cache-control"] == "max-age=60, stale-while-revalidate=60"
    assert same_key.headers["etag"] == regional.headers["etag"]
    assert windowed.json()["window"] == "rel:24h"
    assert absolute.json()["window"] == "2026-01-01T00:00:00Z|"
    stats = server.server.service.filtered_stats()["analyticsRF"]
    assert (stats.misses, stats.hits, stats.entries) == (3, 1, 3)


def test_concurrent_requests_for_one_shape_share_one_compute(
    serve: Serve, settings: Settings
) -> None:
    server = serve()
    server.wait_ready()

    async def burst() -> list[int]:
        import httpx

        async with httpx.AsyncClient(base_url=server.base) as http:
            responses = await asyncio.gather(
                *(http.get(PROBE_ROUTE, params={"window": "7d"}) for _ in range(20))
            )
        return [r.status_code for r in responses]

    assert asyncio.run(burst()) == [200] * 20
    stats = server.server.service.filtered_stats()["analyticsRF"]
    assert stats.misses == 1
    assert stats.hits + stats.joins == 19


def test_filtered_computes_never_run_on_the_event_loop(serve: Serve) -> None:
    """With the fork runner the compute runs in a child: the loop only awaits it."""
    server = serve()
    server.wait_ready()
    forks = server.server.runner.stats().forks  # type: ignore[attr-defined]
    with server.client() as http:
        assert http.get(PROBE_ROUTE, params={"window": "3d"}).status_code == 200
    assert server.server.runner.stats().forks == forks + 1  # type: ignore[attr-defined]


def test_an_inline_runner_still_serves(serve: Serve) -> None:
    server = serve(runner=InlineRunner())
    server.wait_ready()
    with server.client() as http:
        assert http.get(PROBE_ROUTE, params={"window": "1d"}).json()["window"] == "rel:1d"
