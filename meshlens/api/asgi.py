"""Assembles the app granian serves: the route table on Starlette, behind the fast path."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request

from meshlens.api.context import ApiContext
from meshlens.api.cors import CorsPolicy
from meshlens.api.fastpath import FastPath
from meshlens.api.inject import inject_routes
from meshlens.api.openapi import build_openapi
from meshlens.api.resources.routes import resource_routes
from meshlens.api.responses import Reply, json_reply
from meshlens.api.routes import (
    Doc,
    RouteSpec,
    analytic_routes,
    guarded,
    http_error,
    ops_routes,
    starlette_routes,
)
from meshlens.api.web import Dashboard, load_assets, web_routes


def route_table(ctx: ApiContext) -> list[RouteSpec]:
    """Every route, in matching order (analytics first: fixed paths before parameters)."""
    specs = [
        *analytic_routes(ctx),
        *ops_routes(ctx),
        *resource_routes(ctx.resources),
        *inject_routes(ctx),
        *web_routes(Dashboard(load_assets())),
    ]
    document: list[Reply] = []  # filled below, once the table is complete

    async def openapi(_: Request) -> Reply:
        return document[0]

    specs.append(
        RouteSpec(
            "/openapi.json",
            "GET",
            guarded(openapi),
            "This document.",
            "operations",
            {200: Doc("The OpenAPI 3.1 description of this server.", {"type": "object"})},
        )
    )
    document.append(json_reply(build_openapi(specs)))
    return specs


def build_app(ctx: ApiContext) -> FastPath:
    """The app the HTTP server runs: the RSGI fast path, Starlette (ASGI) behind it."""
    starlette = Starlette(
        routes=starlette_routes(route_table(ctx)),
        exception_handlers={HTTPException: http_error},
    )
    return FastPath(
        starlette,
        service=ctx.service,
        cors=CorsPolicy(ctx.settings.cors_allowed_origins),
        requests=ctx.requests,
        clock=ctx.clock,
    )
