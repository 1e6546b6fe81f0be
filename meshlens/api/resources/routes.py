"""The resource routes of the one route table, with what /openapi.json says of each."""

from __future__ import annotations

from starlette.requests import Request

from meshlens.api.resources.context import Answer
from meshlens.api.resources.service import ResourceService
from meshlens.api.responses import Reply, json_reply
from meshlens.api.routes import ERROR_DOC, Doc, Param, RouteSpec, guarded, ref
from meshlens.api.schemas import Schema

INT: Schema = {"type": "integer"}
STR: Schema = {"type": "string"}
TIME: Schema = {"type": "string", "description": "RFC3339"}


def _q(name: str, schema: Schema, text: str) -> Param:
    return Param(name, "query", schema, text)


LIMIT = _q("limit", {"type": "integer", "minimum": 0},
           "Page size; 0 or absent is the default; above the cap it is clamped (header"
           " `X-Meshlens-Limit-Clamped`).")  # fmt: skip
OFFSET = _q("offset", INT, "Rows to skip (negative counts as 0).")
AS_OF = _q("asOf", INT, "Answer from the snapshot an earlier page named (its `asOf`), so pages"
           " never skip or repeat rows while packets arrive.")  # fmt: skip
REGION = _q("region", STR, "Comma-separated observer IATA codes; empty or `All`: no filter.")
PAGING = (LIMIT, OFFSET, AS_OF)

BAD = Doc("A malformed parameter; the body names it and what is accepted.", ERROR_DOC)
GONE = Doc("The `asOf` snapshot is no longer kept; start from the first page.", ERROR_DOC)


def _reply(answer: Answer) -> Reply:
    return json_reply(answer.body, headers=answer.headers)


def resource_routes(service: ResourceService) -> list[RouteSpec]:
    """Stats, nodes, observers, packets and channels (fixed paths before parameters)."""

    async def observers(request: Request) -> Reply:
        return _reply(service.observers(request.query_params))

    async def packets(request: Request) -> Reply:
        return _reply(service.packets(request.query_params))

    async def timestamps(request: Request) -> Reply:
        return _reply(service.timestamps(request.query_params))

    async def channels(request: Request) -> Reply:
        return _reply(service.channels(request.query_params))

    async def stats(_: Request) -> Reply:
        return _reply(service.stats())

    async def nodes(request: Request) -> Reply:
        return _reply(await service.nodes(request.query_params))

    async def node(request: Request) -> Reply:
        return _reply(await service.node(request.path_params["pubkey"]))

    async def network_status(_: Request) -> Reply:
        return _reply(service.network_status())

    async def observer(request: Request) -> Reply:
        return _reply(service.observer(request.path_params["id"]))

    async def packet(request: Request) -> Reply:
        return _reply(service.packet(request.path_params["id"]))

    async def messages(request: Request) -> Reply:
        return _reply(service.messages(request.path_params["hash"], request.query_params))

    node_filters = (
        _q("role", STR, "Exact role: repeater, room, companion, sensor."),
        _q("search", STR, "Substring of the name (ASCII case-insensitive, taken literally)."),
        _q("before", TIME, "First seen at or before this time."),
        _q("lastHeard", {"type": "string", "enum": ["1h", "6h", "24h", "7d", "30d"]},
           "Last seen within this span."),
        REGION,
        _q("area", STR, "A key of config `areas`."),
        _q("sortBy", {"type": "string", "enum": ["lastSeen", "name", "packetCount"]},
           "Order (ties: public key)."),
    )  # fmt: skip
    packet_filters = (
        _q("type", {"type": "integer", "minimum": 0, "maximum": 15}, "Payload type."),
        _q("route", {"type": "integer", "minimum": 0, "maximum": 3}, "Route type."),
        _q("observer", STR, "Comma-separated observer ids (heard by any)."),
        _q("hash", STR, "Content hash (16 hex)."),
        _q("since", TIME, "First seen after (strict)."),
        _q("until", TIME, "First seen before (strict)."),
        REGION,
        _q("node", STR, "A public key or node name: its adverts and what it relayed."),
        _q("channel", STR, "GRP_TXT channel label, or `enc_<HEX>`."),
        _q("area", STR, "A key of config `areas` (adverts of nodes inside it)."),
        _q("order", STR, "`asc` for oldest first; anything else newest first."),
        _q("groupByHash", STR, "Exactly `true` for the grouped shape."),
        _q("expand", STR, "`observations` adds each row's observations."),
        _q("nodes", STR, "Comma-separated nodes: their union (only paging and time apply)."),
    )  # fmt: skip
    docs_ok = {400: BAD, 410: GONE}
    return [
        RouteSpec("/api/stats", "GET", guarded(stats), "Store and table counts (§1).",
                  "resources", {200: Doc("Stats.", ref("Stats"))}),
        RouteSpec("/api/nodes", "GET", guarded(nodes), "Nodes, filtered and paged (§4).",
                  "resources", {200: Doc("A page of nodes.", ref("NodeList")), **docs_ok},
                  (*PAGING, *node_filters)),
        RouteSpec("/api/nodes/network-status", "GET", guarded(network_status),
                  "Nodes by health state (§6).", "resources",
                  {200: Doc("Counts.", ref("NetworkStatus"))}),
        RouteSpec("/api/nodes/{pubkey}", "GET", guarded(node),
                  "One node by public key or unique 8-63 hex prefix (§5).", "resources",
                  {200: Doc("The node and its recent adverts.", ref("NodeDetail")),
                   404: Doc("No such (visible) node.", ERROR_DOC),
                   409: Doc("The prefix matches several nodes.", ERROR_DOC)},
                  (Param("pubkey", "path", STR, "Public key or prefix."),)),
        RouteSpec("/api/observers", "GET", guarded(observers),
                  "Active observers, last seen first (§7).", "resources",
                  {200: Doc("Observers.", ref("ObserverList")), **docs_ok}, PAGING),
        RouteSpec("/api/observers/{id}", "GET", guarded(observer), "One observer (§8).",
                  "resources", {200: Doc("The observer.", ref("Observer")),
                                404: Doc("No such observer.", ERROR_DOC)},
                  (Param("id", "path", STR, "Observer id (exact)."),)),
        RouteSpec("/api/packets", "GET", guarded(packets),
                  "Transmissions, raw or grouped by hash (§9).", "resources",
                  {200: Doc("A page of packets.", ref("PacketList")), **docs_ok},
                  (*PAGING, *packet_filters)),
        RouteSpec("/api/packets/timestamps", "GET", guarded(timestamps),
                  "First-seen times after `since`, ascending (§9.6).", "resources",
                  {200: Doc("Times.", {"type": "array", "items": STR}), 400: BAD},
                  (_q("since", TIME, "Required."), LIMIT)),
        RouteSpec("/api/packets/{id}", "GET", guarded(packet),
                  "One packet by hash, transmission id or observation id (§10).", "resources",
                  {200: Doc("The packet.", ref("PacketDetail")),
                   404: Doc("No such packet.", ERROR_DOC)},
                  (Param("id", "path", STR, "Content hash or id."),)),
        RouteSpec("/api/channels", "GET", guarded(channels),
                  "Channels by last activity (§11).", "resources",
                  {200: Doc("Channels.", ref("ChannelList"))},
                  (REGION, _q("includeEncrypted", STR, "Exactly `true` adds encrypted ones."))),
        RouteSpec("/api/channels/{hash}/messages", "GET", guarded(messages),
                  "A channel's messages: a page from the newest, sent oldest first (§12).",
                  "resources", {200: Doc("Messages.", ref("ChannelMessages")), **docs_ok},
                  (Param("hash", "path", STR, "Channel label or enc_XX."), *PAGING, REGION)),
    ]  # fmt: skip
