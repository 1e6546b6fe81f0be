"""The crossing from granian's RSGI to Starlette's ASGI (`meshlens.api.rsgi`).

The integration tests serve a small Starlette app through the same crossing the fast path
uses, on granian over a real socket, and call it with a real HTTP client: what Starlette
sees of the request, and what the client gets of the response.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager

import httpx
import pytest
from granian._granian import RSGIHTTPProtocol as HTTPProtocol
from granian.rsgi import Scope
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from meshlens.api.responses import Headers
from meshlens.api.rsgi import AsgiResponse, address, asgi_scope_of, request_body, str_headers
from meshlens.api.server import HttpServer, bind, run_loop, serve_until

CORS: Headers = [(b"access-control-allow-origin", b"*")]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1:5000", ("127.0.0.1", 5000)),
        ("[::1]:8080", ("::1", 8080)),
        ("::1:8080", ("::1", 8080)),
        ("localhost", None),
        (":80", None),
        ("host:port", None),
        ("", None),
    ],
)
def test_address_reads_host_and_port(text: str, expected: tuple[str, int] | None) -> None:
    assert address(text) == expected


def test_str_headers_map_each_byte_to_one_character() -> None:
    assert str_headers([(b"x-name", b"caf\xe9"), (b"etag", b'"ab"')]) == [
        ("x-name", "caf\xe9"),
        ("etag", '"ab"'),
    ]


async def echo(request: Request) -> Response:
    body = await request.body()
    return JSONResponse(
        {
            "method": request.method,
            "path": request.url.path,
            "query": request.scope["query_string"].decode(),
            "client": request.client.host if request.client else None,
            "twice": request.headers.getlist("x-twice"),
            "length": len(body),
            "sum": sum(body),
        }
    )


async def cached(_: Request) -> Response:
    return PlainTextResponse("kept", headers={"Cache-Control": "max-age=5"})


async def streamed(_: Request) -> Response:
    async def parts() -> AsyncIterator[bytes]:
        for part in (b"one,", b"two,", b"three"):
            yield part

    return StreamingResponse(parts(), media_type="text/plain")


async def boom(_: Request) -> Response:
    raise RuntimeError("an endpoint that fails")


STARLETTE = Starlette(
    routes=[
        Route("/echo/{rest:path}", echo, methods=["GET", "POST"]),
        Route("/api/cached", cached),
        Route("/api/plain", echo),
        Route("/stream", streamed),
        Route("/boom", boom),
    ]
)


class Crossing:
    """An RSGI app that hands every request to Starlette, as the fast path's fallback does."""

    async def __rsgi__(self, scope: Scope, protocol: HTTPProtocol) -> None:
        response = AsgiResponse(protocol, cors=CORS, no_store=scope.path.startswith("/api/"))
        await STARLETTE(asgi_scope_of(scope), request_body(protocol), response.send)


@contextmanager
def serving() -> Iterator[str]:
    """The crossing on granian, on a free port, in a thread; yields the base URL."""
    sock = bind("127.0.0.1", 0)
    port = sock.getsockname()[1]
    ready = threading.Event()
    handles: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []

    async def main() -> None:
        stop = asyncio.Event()
        handles.append((asyncio.get_running_loop(), stop))
        ready.set()
        await serve_until(HttpServer(Crossing(), sock), stop)

    thread = threading.Thread(target=run_loop, args=(main(),), daemon=True)
    thread.start()
    assert ready.wait(10)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        loop, stop = handles[0]
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)
        assert not thread.is_alive()


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    with serving() as url:
        yield url


def test_starlette_sees_the_request_as_sent(base: str) -> None:
    with httpx.Client(base_url=base) as http:
        got = http.get(
            "/echo/a%20b/caf%C3%A9?x=%20y&z",
            headers=[("X-Twice", "1"), ("X-Twice", "2")],
        )
    assert got.status_code == 200
    assert got.json() == {
        "method": "GET",
        "path": "/echo/a b/café",
        "query": "x=%20y&z",
        "client": "127.0.0.1",
        "twice": ["1", "2"],
        "length": 0,
        "sum": 0,
    }


def test_a_body_sent_in_chunks_arrives_whole(base: str) -> None:
    payload = bytes(range(256)) * 4096  # 1 MiB

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(payload), 65536):
            yield payload[start : start + 65536]

    with httpx.Client(base_url=base) as http:
        got = http.post("/echo/upload", content=chunks())
    assert got.json()["length"] == len(payload)
    assert got.json()["sum"] == sum(payload)


def test_head_keeps_the_length_and_sends_no_body(base: str) -> None:
    with httpx.Client(base_url=base) as http:
        head = http.head("/api/cached")
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == str(len(b"kept"))


def test_api_paths_get_no_store_unless_they_say_otherwise(base: str) -> None:
    with httpx.Client(base_url=base) as http:
        plain = http.get("/api/plain")
        cached = http.get("/api/cached")
        outside = http.get("/echo/x")
    assert plain.headers["cache-control"] == "no-store"
    assert cached.headers["cache-control"] == "max-age=5"
    assert "cache-control" not in outside.headers
    for response in (plain, cached, outside):
        assert response.headers["access-control-allow-origin"] == "*"


def test_a_body_in_parts_is_streamed(base: str) -> None:
    with httpx.Client(base_url=base) as http:
        got = http.get("/stream")
    assert got.status_code == 200
    assert got.content == b"one,two,three"
    assert got.headers["access-control-allow-origin"] == "*"


def test_an_endpoint_that_fails_answers_500_and_the_server_goes_on(base: str) -> None:
    with httpx.Client(base_url=base) as http:
        failed = http.get("/boom")
        after = http.get("/echo/after")
    assert failed.status_code == 500
    assert after.status_code == 200
