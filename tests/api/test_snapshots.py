"""Default-shape reads: pre-encoded bytes with ETag/304, Age, Last-Modified, Cache-Control."""

from __future__ import annotations

import gzip
from email.utils import parsedate_to_datetime

import orjson

from meshlens.config import Settings
from meshlens.records import FakeClock
from tests.api.conftest import Serve, chatter
from tests.api.probe import PROBE_ROUTE
from tests.api.running import seed


def test_default_shape_serves_the_snapshot_with_validators(
    serve: Serve, settings: Settings
) -> None:
    seed(settings, chatter(12))
    server = serve()
    server.wait_ready()
    with server.client() as http:
        response = http.get(PROBE_ROUTE)
    assert response.status_code == 200
    body = response.json()
    assert (body["transmissions"], body["observations"], body["window"]) == (12, 12, "")
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "max-age=300, stale-while-revalidate=300"
    assert response.headers["etag"].startswith('"') and response.headers["etag"].endswith('"')
    assert int(response.headers["age"]) >= 0
    parsedate_to_datetime(response.headers["last-modified"])
    assert "x-meshlens-stale" not in response.headers


def test_if_none_match_gets_304_without_a_body(serve: Serve) -> None:
    server = serve()
    server.wait_ready()
    with server.client() as http:
        etag = http.get(PROBE_ROUTE).headers["etag"]
        again = http.get(PROBE_ROUTE, headers={"If-None-Match": etag})
        other = http.get(PROBE_ROUTE, headers={"If-None-Match": '"something-else"'})
        weak = http.get(PROBE_ROUTE, headers={"If-None-Match": f'W/{etag}, "x"'})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    assert again.headers["cache-control"].startswith("max-age=")
    assert "age" in again.headers
    assert other.status_code == 200
    assert weak.status_code == 304


def test_the_same_snapshot_keeps_its_etag_and_a_new_one_changes_it(
    serve: Serve, settings: Settings
) -> None:
    server = serve()
    server.wait_ready()
    with server.client() as http:
        first = http.get(PROBE_ROUTE)
        assert http.get(PROBE_ROUTE).headers["etag"] == first.headers["etag"]
        server.server.worker.submit(chatter(3)).result(10)
        server.server.recomputers["probe"].refresh().result(10)
        second = http.get(PROBE_ROUTE)
    assert second.json()["transmissions"] == 3
    assert second.headers["etag"] != first.headers["etag"]


def test_gzip_variant_when_accepted_with_its_own_etag(serve: Serve) -> None:
    server = serve()
    server.wait_ready()
    with server.client() as http:
        plain = http.get(PROBE_ROUTE, headers={"Accept-Encoding": "identity"})
        with http.stream("GET", PROBE_ROUTE, headers={"Accept-Encoding": "gzip"}) as packed:
            raw = b"".join(packed.iter_raw())
            headers = packed.headers
        refused = http.get(PROBE_ROUTE, headers={"Accept-Encoding": "gzip;q=0"})
        revalidated = http.get(
            PROBE_ROUTE, headers={"Accept-Encoding": "gzip", "If-None-Match": headers["etag"]}
        )
    assert "content-encoding" not in plain.headers
    assert headers["content-encoding"] == "gzip"
    assert headers["vary"] == "accept-encoding"
    assert gzip.decompress(raw) == plain.content
    assert len(raw) < len(plain.content)
    assert headers["etag"] != plain.headers["etag"]
    assert "content-encoding" not in refused.headers
    assert revalidated.status_code == 304


def test_head_sends_the_headers_without_the_body(serve: Serve) -> None:
    server = serve()
    server.wait_ready()
    with server.client() as http:
        get = http.get(PROBE_ROUTE, headers={"Accept-Encoding": "identity"})
        head = http.head(PROBE_ROUTE, headers={"Accept-Encoding": "identity"})
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["etag"] == get.headers["etag"]
    assert head.headers["content-length"] == str(len(get.content))


def test_age_counts_up_and_a_snapshot_past_max_staleness_says_so(
    serve: Serve, settings: Settings
) -> None:
    clock = FakeClock()
    server = serve(clock=clock)
    server.wait_ready()
    clock.advance(42)
    with server.client() as http:
        fresh = http.get(PROBE_ROUTE)
        clock.advance(3 * 300)  # past three intervals without a recompute
        stale = http.get(PROBE_ROUTE)
        filtered = http.get(PROBE_ROUTE, params={"window": "1h"})
    assert fresh.headers["age"] == "42"
    assert "x-meshlens-stale" not in fresh.headers
    assert stale.headers["age"] == str(42 + 900)
    assert stale.headers["x-meshlens-stale"] == str(42 + 900)
    assert "x-meshlens-stale" not in filtered.headers


def test_query_strings_that_mean_the_default_shape_serve_the_snapshot(serve: Serve) -> None:
    server = serve()
    server.wait_ready()
    with server.client() as http:
        plain = http.get(PROBE_ROUTE)
        for params in ({"region": ""}, {"region": "All"}, {"unknown": "1"}):
            response = http.get(PROBE_ROUTE, params=params)
            assert response.status_code == 200
            assert response.headers["etag"] == plain.headers["etag"], params
            assert orjson.loads(response.content)["window"] == ""
