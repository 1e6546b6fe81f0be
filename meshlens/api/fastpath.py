"""The outermost ASGI app: published snapshots by exact path, everything else to Starlette.

A default-shape analytics read (an analytic's route, GET or HEAD, no query string) is
answered here with one dict lookup, one attribute load and two ASGI messages: no router,
no Request object, no middleware stack. Measured in docs/benchmarks.md ("Serving"): the
Starlette route costs a third of the throughput for the same bytes. Every other request
goes to Starlette through a thin wrapper that adds what api-resources §0.1 asks of every
response (CORS, `Cache-Control: no-store` on other /api/ paths) and counts it.
"""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from meshlens.analytics.registry import Analytic
from meshlens.api.analytics import AnalyticsService
from meshlens.api.cors import CorsPolicy
from meshlens.api.metrics import RequestStats
from meshlens.api.responses import NO_STORE, Headers, Reply, reply_for
from meshlens.errors import MeshlensError
from meshlens.records import Clock

log = logging.getLogger("meshlens.api")

_READS = frozenset({"GET", "HEAD"})


async def send_reply(send: Send, reply: Reply, extra: Headers | None = None) -> None:
    """Send a Reply as one response start and one body message."""
    headers = reply.headers if extra is None else [*reply.headers, *extra]
    await send({"type": "http.response.start", "status": reply.status, "headers": headers})
    await send({"type": "http.response.body", "body": reply.body})


def _has(headers: Headers, name: bytes) -> bool:
    return any(key == name for key, _ in headers)


class FastPath:
    """The ASGI app the HTTP server calls."""

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

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer one request (or pass a lifespan/other scope to Starlette)."""
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        started = time.perf_counter()
        method: str = scope["method"]
        path: str = scope["path"]
        if_none_match = accept_encoding = origin = None
        for key, value in scope["headers"]:
            if key == b"if-none-match":
                if_none_match = value
            elif key == b"accept-encoding":
                accept_encoding = value
            elif key == b"origin":
                origin = value
        cors = self._cors.headers_for(origin) if origin is not None else None
        if origin is not None and method == "OPTIONS" and self._cors.enabled:
            reply = self._cors.preflight(origin)
            await send_reply(send, reply)
            self._requests.record(
                "preflight", method, reply.status, time.perf_counter() - started, path
            )
            return
        analytic = self._routes.get(path)
        if analytic is not None and method in _READS and not scope["query_string"]:
            try:
                rep = self._service.snapshot(analytic)
            except MeshlensError as err:  # warming up: 503 + Retry-After
                reply = reply_for(err)
                reply.headers.append(NO_STORE)
            else:
                reply = rep.reply(
                    now_ms=self._clock.now_ms(),
                    if_none_match=if_none_match,
                    accept_encoding=accept_encoding,
                    head=method == "HEAD",
                    stale_s=self._service.stale_s(analytic),
                )
            await send_reply(send, reply, cors)
            self._requests.record(
                analytic.route, method, reply.status, time.perf_counter() - started, path
            )
            return
        await self._forward(scope, receive, send, cors, started)

    async def _forward(
        self, scope: Scope, receive: Receive, send: Send, cors: Headers | None, started: float
    ) -> None:
        path: str = scope["path"]
        api = path.startswith("/api/")
        status = 500

        async def decorated(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers: Headers = list(message.get("headers", ()))
                if api and not _has(headers, b"cache-control"):
                    headers.append(NO_STORE)
                if cors:
                    headers.extend(cors)
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self._app(scope, receive, decorated)
        finally:
            route = scope.get("route")
            label = getattr(route, "path", "unmatched")
            self._requests.record(
                label, scope["method"], status, time.perf_counter() - started, path
            )
