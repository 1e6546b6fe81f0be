"""One node's clock skew over HTTP: made when read from what a forked compute sent back."""

from __future__ import annotations

import orjson

from meshlens.analytics import nodes_clock_skew
from meshlens.analytics.query import Query
from meshlens.analytics.registry import ANALYTICS
from meshlens.api.recompute import EncodedDetails
from meshlens.config import Settings
from tests.analytics.adverts import T0_S, AdvertStore, advert
from tests.api.conftest import Serve
from tests.api.running import seed
from tests.ingest.helpers import public_key_hex


def test_a_node_detail_is_the_analytic_s_object_and_unknown_nodes_are_404(
    settings: Settings, serve: Serve
) -> None:
    adverts = AdvertStore()
    for k in range(12):
        t = T0_S + k * 600
        adverts.heard_by(advert(1, t + 60), [("OBS1", t), ("OBS2", t), ("OBS3", t + 30)])
    seed(settings, adverts.sightings)
    server = serve(analytics=ANALYTICS)  # computes in forked children, as shipped
    server.wait_ready()
    pubkey = public_key_hex(1)
    snap = server.server.store.snapshot()
    expected = nodes_clock_skew.details(snap, Query(now_ms=0))[pubkey]
    with server.client() as http:
        plain = http.get(f"/api/nodes/{pubkey}/clock-skew", headers={"accept-encoding": ""})
        assert plain.status_code == 200
        assert "content-encoding" not in plain.headers
        assert orjson.loads(plain.content) == expected
        zipped = http.get(f"/api/nodes/{pubkey}/clock-skew", headers={"accept-encoding": "gzip"})
        assert zipped.headers.get("content-encoding") == "gzip"
        assert orjson.loads(zipped.content) == expected  # httpx undoes the gzip
        tag = plain.headers["etag"]
        again = http.get(f"/api/nodes/{pubkey}/clock-skew", headers={"if-none-match": tag})
        assert again.status_code == 304
        missing = http.get(f"/api/nodes/{public_key_hex(9)}/clock-skew")
        assert missing.status_code == 404
        assert missing.json()["error"] == "No clock skew data for this node"
    published = server.server.board.load("nodes-clock-skew")
    assert published is not None and isinstance(published.extra, EncodedDetails)
