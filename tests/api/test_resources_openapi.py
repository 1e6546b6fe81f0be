"""Real resource responses, every documented status, validate against /openapi.json."""

from __future__ import annotations

from meshlens.config import Settings
from tests.api.conftest import Serve
from tests.api.resources_world import AMBIGUOUS_A, REPEATER, SENSOR, start_world
from tests.api.test_openapi import _validate

CALLS: dict[str, list[str]] = {
    "/api/stats": ["/api/stats"],
    "/api/nodes": ["/api/nodes", "/api/nodes?limit=2&sortBy=name", "/api/nodes?limit=x",
                   "/api/nodes?asOf=1"],
    "/api/nodes/network-status": ["/api/nodes/network-status"],
    "/api/nodes/{pubkey}": [f"/api/nodes/{REPEATER}", f"/api/nodes/{SENSOR}",
                            f"/api/nodes/{AMBIGUOUS_A[:8]}", "/api/nodes/nobody"],
    "/api/observers": ["/api/observers", "/api/observers?offset=1", "/api/observers?limit=z"],
    "/api/observers/{id}": ["/api/observers/OBS1", "/api/observers/nobody"],
    "/api/packets": ["/api/packets?expand=observations", "/api/packets?groupByHash=true",
                     "/api/packets?nodes=Alpha", "/api/packets?type=x"],
    "/api/packets/timestamps": ["/api/packets/timestamps?since=2026-01-01T00:00:00Z",
                                "/api/packets/timestamps"],
    "/api/packets/{id}": ["/api/packets/5", "/api/packets/9", "/api/packets/99"],
    "/api/channels": ["/api/channels?includeEncrypted=true"],
    "/api/channels/{hash}/messages": ["/api/channels/Public/messages",
                                      "/api/channels/enc_BE/messages?limit=-1"],
}  # fmt: skip


def test_resource_responses_match_the_document(serve: Serve, settings: Settings) -> None:
    server = start_world(serve, settings)
    with server.client() as http:
        doc = http.get("/openapi.json").json()
        resource_paths = {p for p, ops in doc["paths"].items()
                          if ops.get("get", {}).get("tags") == ["resources"]}  # fmt: skip
        assert resource_paths == set(CALLS)
        statuses: set[tuple[str, int]] = set()
        for path, urls in CALLS.items():
            for url in urls:
                response = http.get(url)
                _validate(doc, "get", path, response)
                statuses.add((path, response.status_code))
        documented = {(path, int(status)) for path in CALLS
                      for status in doc["paths"][path]["get"]["responses"]}  # fmt: skip
        assert documented - statuses == {("/api/observers", 410),
                                         ("/api/packets", 410),
                                         ("/api/channels/{hash}/messages", 410)}  # fmt: skip
