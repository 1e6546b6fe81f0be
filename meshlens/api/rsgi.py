"""Between granian's RSGI and Starlette's ASGI: what the fast path does not answer.

granian calls meshlens over RSGI: a request is a scope object and a protocol whose
`response_bytes` sends status, headers and body in one call, which costs the event loop
less a read than ASGI's message dicts (docs/architecture.md, "Serving"). Starlette speaks
ASGI, so every other request crosses here: the scope becomes an ASGI scope, the body
arrives as `http.request` messages chunk by chunk (so a capped reader can refuse a large
body without holding it), and the response messages become one `response_bytes`, or a
stream when a body comes in parts.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from granian._granian import RSGIHTTPProtocol as HTTPProtocol
from granian._granian import RSGIHTTPStreamTransport
from granian.rsgi import Scope
from starlette.types import Message, Receive
from starlette.types import Scope as AsgiScope

from meshlens.api.responses import NO_STORE, Headers

StrHeaders = list[tuple[str, str]]

_ASGI_VERSION = {"version": "3.0", "spec_version": "2.3"}


def str_headers(headers: Headers) -> StrHeaders:
    """Byte headers as RSGI's strings (latin-1: each byte is one character, both ways)."""
    return [(name.decode("latin-1"), value.decode("latin-1")) for name, value in headers]


def address(text: str) -> tuple[str, int] | None:
    """RSGI's "host:port" (an IPv6 host in brackets or not) as ASGI's (host, port)."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit():
        return None
    return host.removeprefix("[").removesuffix("]"), int(port)


def asgi_scope_of(scope: Scope) -> AsgiScope:
    """The ASGI HTTP scope of an RSGI one (no `raw_path`: RSGI gives the path decoded)."""
    return {
        "type": "http",
        "asgi": _ASGI_VERSION,
        "http_version": scope.http_version,
        "method": scope.method,
        "scheme": scope.scheme,
        "path": scope.path,
        "query_string": scope.query_string.encode("latin-1"),
        "root_path": "",
        "headers": [
            (name.encode("latin-1"), value.encode("latin-1"))
            for name, value in scope.headers.items()
        ],
        "client": address(scope.client),
        "server": address(scope.server),
    }


def request_body(protocol: HTTPProtocol) -> Receive:
    """ASGI's `receive`: the body's chunks as they arrive, then a wait for disconnect."""
    chunks: AsyncIterator[bytes] | None = None
    ended = False

    async def receive() -> Message:
        nonlocal chunks, ended
        if ended:
            await protocol.client_disconnect()
            return {"type": "http.disconnect"}
        if chunks is None:
            chunks = protocol.__aiter__()
        try:
            chunk = await anext(chunks)
        except StopAsyncIteration:
            ended = True
            return {"type": "http.request", "body": b"", "more_body": False}
        return {"type": "http.request", "body": chunk, "more_body": True}

    return receive


class AsgiResponse:
    """ASGI's `send` for one response, sent through the RSGI protocol.

    CORS headers, and `Cache-Control: no-store` when the app set no caching of its own,
    are added to the response start, as api-resources §0.1 asks of every /api/ response.
    """

    def __init__(self, protocol: HTTPProtocol, *, cors: Headers | None, no_store: bool) -> None:
        self.status = 500  # what the request is counted as if the app sends nothing
        self._protocol = protocol
        self._cors = cors
        self._no_store = no_store
        self._headers: StrHeaders = []
        self._stream: RSGIHTTPStreamTransport | None = None

    async def send(self, message: Message) -> None:
        """Take one ASGI response message."""
        if message["type"] == "http.response.start":
            self.status = message["status"]
            headers: Headers = list(message.get("headers", ()))
            if self._no_store and not any(name == b"cache-control" for name, _ in headers):
                headers.append(NO_STORE)
            if self._cors:
                headers.extend(self._cors)
            self._headers = str_headers(headers)
        elif message["type"] == "http.response.body":
            body: bytes = message.get("body", b"")
            more: bool = message.get("more_body", False)
            if self._stream is None and not more:
                self._protocol.response_bytes(self.status, self._headers, body)
                return
            if self._stream is None:
                self._stream = self._protocol.response_stream(self.status, self._headers)
            if body:
                await self._stream.send_bytes(body)
