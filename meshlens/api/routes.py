"""The one route table: every path meshlens serves, with what /openapi.json says of it.

Analytics routes come from the registry (`AnalyticsService.analytics`), so an analytic
appears here the moment its entry exists, and serves data the moment it has a compute.
The table feeds Starlette's router, the fast path's exact-path lookup and the OpenAPI
document alike.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from meshlens.analytics.query import WINDOWS_H
from meshlens.analytics.registry import Analytic
from meshlens.api import ops
from meshlens.api.context import ApiContext
from meshlens.api.decode import decode_body
from meshlens.api.ingest_status import ingest_status
from meshlens.api.responses import (
    NO_STORE,
    Reply,
    ReplyResponse,
    error_reply,
    json_reply,
    reply_for,
)
from meshlens.api.schemas import ANY_JSON, Schema
from meshlens.errors import MeshlensError

log = logging.getLogger("meshlens.api")

Endpoint = Callable[[Request], Awaitable[Response]]


def ref(name: str) -> Schema:
    """A reference to a schema of api/schemas.py COMPONENTS."""
    return {"$ref": f"#/components/schemas/{name}"}


@dataclass(frozen=True, slots=True)
class Doc:
    """One documented response."""

    description: str
    schema: Schema | None = None  # None: no body (304)
    media: str = "application/json"


@dataclass(frozen=True, slots=True)
class Param:
    """One documented parameter."""

    name: str
    where: str  # "query" or "path"
    schema: Schema
    description: str


@dataclass(frozen=True, slots=True)
class RouteSpec:
    """One route: path, method, handler, and its documentation."""

    path: str
    method: str
    endpoint: Endpoint
    summary: str
    tag: str
    responses: dict[int, Doc]
    params: tuple[Param, ...] = ()
    body: Schema | None = None
    analytic: Analytic | None = field(default=None, compare=False)


QUERY_PARAMS: dict[str, Param] = {
    "region": Param(
        "region",
        "query",
        {"type": "string"},
        "Comma-separated observer IATA codes; empty or `All` means no filter.",
    ),
    "window": Param(
        "window",
        "query",
        {"type": "string", "enum": list(WINDOWS_H)},
        "A relative time window ending now; ignored when `from` or `to` is given.",
    ),
    "from": Param("from", "query", {"type": "string"}, "RFC3339 start (inclusive)."),
    "to": Param("to", "query", {"type": "string"}, "RFC3339 end (inclusive)."),
}
PARAM_ORDER = ("region", "window", "from", "to")

ERROR_DOC = {"$ref": "#/components/schemas/Error"}


def _header(request: Request, name: bytes) -> bytes | None:
    for key, value in request.scope["headers"]:
        if key == name:
            return bytes(value)
    return None


def guarded(endpoint: Callable[[Request], Awaitable[Reply]]) -> Endpoint:
    """Run an endpoint, turning meshlens errors into their replies and bugs into a 500."""

    async def run(request: Request) -> Response:
        try:
            reply = await endpoint(request)
        except MeshlensError as err:
            reply = reply_for(err)
        except Exception:  # a bug: log it with its traceback, answer 500, keep serving
            log.exception("%s %s failed", request.method, request.url.path)
            reply = error_reply(500, "internal error")
        return ReplyResponse(reply)

    return run


def _analytic_endpoint(ctx: ApiContext, analytic: Analytic) -> Endpoint:
    async def endpoint(request: Request) -> Reply:
        rep, stale_s = await ctx.service.represent(analytic, request.query_params)
        return rep.reply(
            now_ms=ctx.clock.now_ms(),
            if_none_match=_header(request, b"if-none-match"),
            accept_encoding=_header(request, b"accept-encoding"),
            head=request.method == "HEAD",
            stale_s=stale_s,
        )

    return guarded(endpoint)


def _detail_endpoint(ctx: ApiContext, analytic: Analytic, key_name: str) -> Endpoint:
    async def endpoint(request: Request) -> Reply:
        rep = ctx.service.detail(analytic, request.path_params[key_name])
        return rep.reply(
            now_ms=ctx.clock.now_ms(),
            if_none_match=_header(request, b"if-none-match"),
            accept_encoding=_header(request, b"accept-encoding"),
            head=request.method == "HEAD",
        )

    return guarded(endpoint)


def _analytic_docs(analytic: Analytic) -> dict[int, Doc]:
    if analytic.compute is None:
        return {501: Doc("Registered, but not built into this meshlens yet.", ERROR_DOC)}
    docs = {
        200: Doc(analytic.summary, ANY_JSON),
        304: Doc("The snapshot named by If-None-Match is still current."),
        503: Doc("Warming up: the store is loading or the first full pass is running.",
                 ref("WarmingUp")),
    }  # fmt: skip
    if analytic.params:
        docs[400] = Doc("A malformed parameter; the body names it.", ERROR_DOC)
    return docs


def analytic_routes(ctx: ApiContext) -> list[RouteSpec]:
    """One route per analytic, plus its detail route if it has one."""
    specs: list[RouteSpec] = []
    for analytic in ctx.service.analytics:
        params = tuple(QUERY_PARAMS[p] for p in PARAM_ORDER if p in analytic.params)
        specs.append(
            RouteSpec(
                analytic.route,
                "GET",
                _analytic_endpoint(ctx, analytic),
                analytic.summary,
                "analytics",
                _analytic_docs(analytic),
                params,
                analytic=analytic,
            )
        )
        detail = analytic.detail
        if detail is None:
            continue
        key_name = re.findall(r"{(\w+)}", detail.route)[0]
        docs = _analytic_docs(analytic)
        docs.pop(400, None)
        if analytic.compute is not None:
            docs[404] = Doc(detail.not_found, ERROR_DOC)
            docs[200] = Doc(f"One entry of {analytic.name}.", ANY_JSON)
        specs.append(
            RouteSpec(
                detail.route,
                "GET",
                _detail_endpoint(ctx, analytic, key_name),
                f"One entry of {analytic.name}, by {key_name}.",
                "analytics",
                docs,
                (Param(key_name, "path", {"type": "string"}, f"The {key_name}."),),
            )
        )
    return specs


def ops_routes(ctx: ApiContext) -> list[RouteSpec]:
    """Health, readiness, recomputer status, metrics and the decoder."""

    async def health(_: Request) -> Reply:
        return json_reply(ops.health(ctx))

    async def healthz(_: Request) -> Reply:
        return ops.healthz_reply(ctx)

    async def recomputers(_: Request) -> Reply:
        return json_reply(ops.recomputers(ctx))

    async def metrics(_: Request) -> Reply:
        return ops.metrics_reply(ctx)

    async def decode(request: Request) -> Reply:
        return json_reply(decode_body(await request.body(), ctx.keys, ctx.regions))

    async def ingest(_: Request) -> Reply:
        return json_reply(ingest_status(ctx.worker, ctx.feeds), headers=[NO_STORE])

    text = "text/plain; version=0.0.4"
    healthz_docs = {
        200: Doc("Loaded.", ref("HealthzReady")),
        503: Doc("Still loading (or the load failed).", ref("HealthzLoading")),
    }
    return [
        RouteSpec("/api/health", "GET", guarded(health), "Server health (api-resources §2).",
                  "operations", {200: Doc("Health.", ref("Health"))}),
        RouteSpec("/api/healthz", "GET", guarded(healthz), "Readiness probe.", "operations",
                  healthz_docs),
        RouteSpec("/api/ingest/status", "GET", guarded(ingest), "Live ingest: the queue, the"
                  " pipeline's counters and each MQTT source's connection and counters.",
                  "operations", {200: Doc("Ingest status.", ref("IngestStatus"))}),
        RouteSpec("/api/analytics/recomputers", "GET", guarded(recomputers),
                  "Each analytic's background recompute status.", "operations",
                  {200: Doc("Status per analytic.", ref("Recomputers"))}),
        RouteSpec("/api/decode", "POST", guarded(decode), "Decode one hex frame (protocol §16).",
                  "tools", {200: Doc("The decoded frame.", ref("Decoded")),
                            400: Doc("Bad body or undecodable frame.", ERROR_DOC)},
                  body=ref("DecodeRequest")),
        RouteSpec("/metrics", "GET", guarded(metrics), "Prometheus metrics.", "operations",
                  {200: Doc("Metrics in the Prometheus text format.", {"type": "string"}, text)}),
    ]  # fmt: skip


def http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own 404/405 as `{"error": ...}` (api-resources §0.1)."""
    assert isinstance(exc, HTTPException)
    headers = [(k.lower().encode(), v.encode()) for k, v in (exc.headers or {}).items()]
    return ReplyResponse(error_reply(exc.status_code, exc.detail.lower(), headers=headers))


def starlette_routes(specs: list[RouteSpec]) -> list[Route]:
    """Starlette routes for the table (GET routes answer HEAD too)."""
    return [Route(s.path, s.endpoint, methods=[s.method]) for s in specs]
