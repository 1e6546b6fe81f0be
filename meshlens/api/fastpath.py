"""The app granian calls: published snapshots by exact path, everything else to Starlette.

granian calls it over RSGI (`__rsgi__`). A default-shape analytics read (an analytic's
route, GET or HEAD, no query string) is answered here with one dict lookup, one attribute
load and one `response_bytes`: no router, no Request object, no middleware stack, no ASGI
messages. Measured in docs/benchmarks.md ("Serving"): the Starlette route costs a third
of the throughput for the same bytes, and ASGI's messages ~8 %. Every other request
crosses to Starlette over ASGI (`meshlens.api.rsgi`), which adds what api-resources §0.1
asks of every response (CORS, `Cache-Control: no-store` on other /api/ paths); all are
counted here.
"""

from __future__ import annotations

import logging
import time

from granian._granian import RSGIHTTPProtocol as HTTPProtocol
from granian.rsgi import Scope as RsgiScope
from starlette.types import ASGIApp

from meshlens.analytics.registry import Analytic
from meshlens.api.analytics import AnalyticsService
from meshlens.api.cors import CorsPolicy
from meshlens.api.metrics import RequestStats
from meshlens.api.responses import NO_STORE, Headers, Reply, reply_for
from meshlens.api.rsgi import AsgiResponse, asgi_scope_of, request_body, str_headers
from meshlens.errors import MeshlensError
from meshlens.records import Clock

log = logging.getLogger("meshlens.api")

_READS = frozenset({"GET", "HEAD"})


def respond(protocol: HTTPProtocol, reply: Reply, extra: Headers | None = None) -> None:
    """Send a Reply (and `extra` headers) as one RSGI response."""
    headers = reply.headers if extra is None else [*reply.headers, *extra]
    protocol.response_bytes(reply.status, str_headers(headers), reply.body)


def _latin1(value: str | None) -> bytes | None:
    return None if value is None else value.encode("latin-1")


class FastPath:
    """The RSGI app the HTTP server calls."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        service: AnalyticsService,
        cors: CorsPolicy,
        requests: RequestStats,
        clock: Clock,
    ) -> None:
        self._app = app
        self._service = service
        self._cors = cors
        self._requests = requests
        self._clock = clock
        self._routes: dict[str, Analytic] = {
            a.route: a for a in service.analytics if a.compute is not None
        }

    @property
    def inner(self) -> ASGIApp:
        """The Starlette app behind the fast path."""
        return self._app

    async def __rsgi__(self, scope: RsgiScope, protocol: HTTPProtocol) -> None:
        """Answer one request."""
        started = time.perf_counter()
        method = scope.method
        path = scope.path
        headers = scope.headers
        origin = _latin1(headers.get("origin"))
        cors = self._cors.headers_for(origin) if origin is not None else None
        if origin is not None and method == "OPTIONS" and self._cors.enabled:
            reply = self._cors.preflight(origin)
            respond(protocol, reply)
            self._requests.record(
                "preflight", method, reply.status, time.perf_counter() - started, path
            )
            return
        analytic = self._routes.get(path)
        if analytic is not None and method in _READS and not scope.query_string:
            try:
                rep = self._service.snapshot(analytic)
            except MeshlensError as err:  # warming up: 503 + Retry-After
                reply = reply_for(err)
                reply.headers.append(NO_STORE)
            else:
                reply = rep.reply(
                    now_ms=self._clock.now_ms(),
                    if_none_match=_latin1(headers.get("if-none-match")),
                    accept_encoding=_latin1(headers.get("accept-encoding")),
                    head=method == "HEAD",
                    stale_s=self._service.stale_s(analytic),
                )
            respond(protocol, reply, cors)
            self._requests.record(
                analytic.route, method, reply.status, time.perf_counter() - started, path
            )
            return
        await self._forward(scope, protocol, cors, started)

    async def _forward(
        self, scope: RsgiScope, protocol: HTTPProtocol, cors: Headers | None, started: float
    ) -> None:
        path = scope.path
        asgi_scope = asgi_scope_of(scope)
        response = AsgiResponse(protocol, cors=cors, no_store=path.startswith("/api/"))
        try:
            await self._app(asgi_scope, request_body(protocol), response.send)
        finally:
            route = asgi_scope.get("route")
            label = getattr(route, "path", "unmatched")
            self._requests.record(
                label, scope.method, response.status, time.perf_counter() - started, path
            )
