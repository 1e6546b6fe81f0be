"""Generation-bound pages: paging while packets arrive neither skips nor repeats a row."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from meshlens.config import Settings
from meshlens.records import FakeClock
from tests.api.conftest import Serve
from tests.api.resources_world import NOW_MS, PUBLIC, start_world
from tests.api.running import Running
from tests.ingest.helpers import channel_frame, sighting


def _arrive(server: Running, n: int, start: int) -> None:
    """n new Public messages (each a new transmission), stored before this returns."""
    batch = [
        sighting(channel_frame(PUBLIC, f"late {start + i}", timestamp=start + i), "OBS1",
                 at_ms=NOW_MS + (start + i) * 1000)
        for i in range(n)
    ]  # fmt: skip
    server.server.worker.submit(batch).result(timeout=10)


def _walk(
    server: Running, path: str, key: Callable[[dict[str, Any]], Any], items: str, **params: Any
) -> tuple[list[Any], int]:
    """Every row of a list, two at a time, with arrivals between pages; and its total."""
    with server.client() as http:
        first = http.get(path, params={**params, "limit": 2}).json()
        seen = [key(row) for row in first[items]]
        offset = 2
        arrived = 0
        while offset < first["total"]:
            _arrive(server, 3, arrived)
            arrived += 3
            page = http.get(
                path, params={**params, "limit": 2, "offset": offset, "asOf": first["asOf"]}
            ).json()
            assert page["total"] == first["total"]
            seen += [key(row) for row in page[items]]
            offset += 2
        return seen, first["total"]


def test_raw_pages_neither_skip_nor_repeat(serve: Serve, settings: Settings) -> None:
    server = start_world(serve, settings)
    seen, total = _walk(server, "/api/packets", lambda r: r["id"], "packets")
    assert seen == list(range(total, 0, -1))
    clock = server.server.clock
    assert isinstance(clock, FakeClock)
    clock.advance(2)  # first pages within a second share a pin
    with server.client() as http:  # the new rows are there for a fresh first page
        assert http.get("/api/packets").json()["total"] == total + 9


def test_grouped_and_message_pages_neither_skip_nor_repeat(
    serve: Serve, settings: Settings
) -> None:
    server = start_world(serve, settings)
    grouped, total = _walk(
        server, "/api/packets", lambda r: r["hash"], "packets", groupByHash="true"
    )
    assert len(grouped) == len(set(grouped)) == total == 7
    messages, total = _walk(
        server, "/api/channels/Public/messages", lambda r: r["packetId"], "messages"
    )
    assert len(messages) == len(set(messages)) == total


def test_node_pages_are_bound_too(serve: Serve, settings: Settings) -> None:
    server = start_world(serve, settings)
    seen, total = _walk(server, "/api/nodes", lambda r: r["public_key"], "nodes")
    assert len(seen) == len(set(seen)) == total == 6


def test_an_expired_page_snapshot_answers_410(serve: Serve, settings: Settings) -> None:
    running = start_world(serve, settings)
    clock = running.server.clock
    assert isinstance(clock, FakeClock)
    with running.client() as http:
        first = http.get("/api/packets", params={"limit": 1}).json()
        _arrive(running, 1, 0)
        clock.advance(601)  # pins live 600 s after their last use
        gone = http.get("/api/packets", params={"asOf": first["asOf"], "offset": 1})
        assert gone.status_code == 410
        assert "request the first page again" in gone.json()["error"]
        ahead = http.get("/api/packets", params={"asOf": first["asOf"] + 100})
        assert ahead.status_code == 400
