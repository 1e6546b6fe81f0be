"""POST /api/packets: frames a client injects with the API key (protocol §16).

The body is one object `{hex, observer?, snr?, rssi?, region?, timestamp?}` or a list of
them. It is hostile input: its size is capped before it is read, and each packet is
checked field by field. In a list, a bad packet is answered with its reason and where it
is wrong while the others go on; a lone packet that is wrong is a 400. Accepted packets
go through the ingest worker like every other source, so the database, the store, the
analytics and the counters follow, and each packet's answer says what the pipeline did.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator
from dataclasses import dataclass

import orjson
from starlette.requests import Request

from meshlens.api.context import ApiContext
from meshlens.api.responses import Reply, error_reply, json_reply
from meshlens.api.routes import ERROR_DOC, Doc, RouteSpec, guarded
from meshlens.api.schemas import BOOLEAN, INTEGER, NUMBER, STRING, Schema, nullable, obj
from meshlens.config.secret import Secret
from meshlens.errors import (
    AuthError,
    DecodeError,
    DisabledError,
    InputError,
    NotReadyError,
    TooLargeError,
)
from meshlens.ingest.outcome import Outcome, Result
from meshlens.ingest.worker import IngestWorker
from meshlens.records import JSONObject, JSONValue, Sighting
from meshlens.times import parse_instant
from meshlens.wire import ChannelKeys, RegionKeys, decode_hex, packet_json

MAX_BODY_BYTES = 1 << 20  # 1,000 packets of the longest frame (510 hex digits) fit
MAX_PACKETS = 1000
DRAIN_BYTES = 16 << 20  # read and discard this much of an oversized body, then hang up
MAX_FRAME_BYTES = 255  # protocol §3: a MeshCore frame is at most 255 bytes
MAX_LEVEL = 1000.0  # |snr| in dB and |rssi| in dBm; real ones are within -150..+30
MAX_UNIX_S = 4_102_444_800  # 2100-01-01: later (or earlier than 1970) is not a timestamp
MAX_TEXT = 64  # observer ids and regions longer than this are not ones meshcoretomqtt sends
ROUTE = "/api/packets"
WHERE = "POST /api/packets"
KEY_HEADER = b"x-api-key"
# Ignored, as CoreScope ignores it: the content hash is computed from the frame.
_IGNORED = frozenset({"hash"})
_FIELDS = frozenset({"hex", "observer", "snr", "rssi", "region", "timestamp"}) | _IGNORED


@dataclass(frozen=True, slots=True)
class Parsed:
    """One packet of the body: its sighting, or why it was refused."""

    index: int
    hex_text: str | None
    sighting: Sighting | None = None
    error: InputError | None = None


def header(request: Request, name: bytes) -> bytes | None:
    """A request header's raw value (`name` in lower case), or None."""
    for key, value in request.scope["headers"]:
        if key == name:
            return bytes(value)
    return None


def check_key(configured: Secret | None, given: bytes | None) -> None:
    """Refuse a request unless the API key is configured and `given` matches it."""
    if configured is None:
        raise DisabledError(
            "POST /api/packets is disabled: no API key is configured (set apiKey, see"
            " docs/operations.md)"
        )
    if not given:
        raise AuthError("missing X-API-Key header")
    # Secret.matches compares in constant time: a wrong key leaks nothing through timing.
    if not configured.matches(given):
        raise AuthError("wrong API key")


async def read_capped(
    chunks: AsyncIterator[bytes], declared_length: bytes | None, limit: int = MAX_BODY_BYTES
) -> bytes:
    """The request body; TooLargeError once it is known to exceed `limit` bytes.

    An oversized body is read on and thrown away (up to DRAIN_BYTES) before the refusal,
    because a server that answers before the client has finished sending tends to have
    its answer lost to a reset connection, and the client then never learns why.
    """
    too_large = TooLargeError("too_large", "request body", f"at most {limit} bytes")
    declared = 0
    if declared_length is not None:
        try:
            declared = int(declared_length)
        except ValueError:
            raise InputError("bad_length", "Content-Length", "an integer") from None
    if declared > DRAIN_BYTES:
        raise too_large
    body = bytearray()
    over = declared > limit
    drained = 0
    async for chunk in chunks:
        if over:
            drained += len(chunk)
            if drained > DRAIN_BYTES:
                break
            continue
        body += chunk
        over = len(body) > limit
    if over:
        raise too_large
    return bytes(body)


def parse_body(body: bytes, now_ms: int) -> tuple[list[Parsed], bool]:
    """The packets of a request body, and whether it was a single object (not a list)."""
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as err:
        raise InputError("bad_json", "request body", str(err)) from err
    if isinstance(value, dict):
        return [parse_item(value, None, now_ms)], True
    if not isinstance(value, list):
        raise InputError("bad_body", "request body", "a JSON object or a list of objects")
    if not value:
        raise InputError("empty", "request body", "at least one packet")
    if len(value) > MAX_PACKETS:
        raise TooLargeError("too_many", "request body", f"at most {MAX_PACKETS} packets")
    return [parse_item(item, i, now_ms) for i, item in enumerate(value)], False


def parse_item(value: object, index: int | None, now_ms: int) -> Parsed:
    """One packet object as a sighting, or the first thing wrong with it."""
    prefix = "" if index is None else f"[{index}]"
    at = 0 if index is None else index
    if not isinstance(value, dict):
        return Parsed(at, None, error=InputError("bad_item", prefix or "body", "a JSON object"))
    hex_text = value.get("hex")
    try:
        return Parsed(at, hex_text if isinstance(hex_text, str) else None,
                      _sighting(value, prefix, now_ms))  # fmt: skip
    except InputError as err:
        return Parsed(at, hex_text if isinstance(hex_text, str) else None, error=err)


def _sighting(item: dict[str, object], prefix: str, now_ms: int) -> Sighting:
    unknown = sorted(set(item) - _FIELDS)
    if unknown:
        raise InputError(
            "unknown_field", f"{prefix}{unknown[0]}", f"fields are {', '.join(sorted(_FIELDS))}"
        )
    raw = _frame(item.get("hex"), prefix + "hex")
    observer = _text(item.get("observer"), prefix + "observer")
    region = _text(item.get("region"), prefix + "region").strip().upper()
    return Sighting(
        raw=raw,
        observer_id=observer,
        observer_name="",  # decision 10: an injected packet never renames an observer
        region=region,
        snr_db=_number(item.get("snr"), prefix + "snr"),
        rssi_dbm=_number(item.get("rssi"), prefix + "rssi"),
        score=None,
        direction=None,
        received_at_ms=_timestamp(item.get("timestamp"), prefix + "timestamp", now_ms),
        where=f"{WHERE}{prefix}",
    )


def _frame(value: object, where: str) -> bytes:
    if value is None:
        raise InputError("missing_hex", where, "a hex string is required")
    if not isinstance(value, str):
        raise InputError("bad_type", where, f"a hex string, got {_type_name(value)}")
    try:
        raw = bytes.fromhex(value)
    except ValueError as err:
        raise InputError("bad_hex", where, str(err)) from None
    if not raw:
        raise InputError("missing_hex", where, "a non-empty hex string")
    if len(raw) > MAX_FRAME_BYTES:
        raise InputError("too_long", where, f"a frame is at most {MAX_FRAME_BYTES} bytes")
    return raw


def _text(value: object, where: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InputError("bad_type", where, f"a string, got {_type_name(value)}")
    if len(value) > MAX_TEXT:
        raise InputError("too_long", where, f"at most {MAX_TEXT} characters")
    return value


def _number(value: object, where: str, limit: float = MAX_LEVEL) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError("bad_type", where, f"a number, got {_type_name(value)}")
    # Bounded, not just finite: the store keeps levels as float32, the database times as
    # 64-bit integers, and one value that overflows either would fail a whole batch.
    if not math.isfinite(value) or abs(value) > limit:
        raise InputError("bad_value", where, f"a number from -{limit:g} to {limit:g}")
    return float(value)


def _timestamp(value: object, where: str, now_ms: int) -> int:
    """Unix seconds (a number) or RFC3339 text; absent means now."""
    if value is None:
        return now_ms
    expected = "RFC3339 text or unix seconds, from 1970 to 2100"
    if isinstance(value, str):
        ms = parse_instant(value)
    else:
        seconds = _number(value, where, MAX_UNIX_S)
        assert seconds is not None
        ms = round(seconds * 1000)
    if ms is None or not 0 <= ms <= MAX_UNIX_S * 1000:
        raise InputError("bad_value", where, expected)
    return ms


def _type_name(value: object) -> str:
    return {dict: "an object", list: "a list", bool: "a boolean", str: "a string"}.get(
        type(value), "a number" if isinstance(value, int | float) else "null"
    )


def result_json(index: int, result: Result) -> JSONObject:
    """One packet's answer: stored (new or not), duplicate, or rejected and why."""
    if result.outcome is Outcome.REJECTED:
        return {"index": index, "status": "rejected", "reason": result.reason,
                "where": "hex", "detail": result.detail}  # fmt: skip
    status = "duplicate" if result.outcome is Outcome.DUPLICATE else "stored"
    return {
        "index": index,
        "status": status,
        "new": result.outcome is Outcome.NEW,
        "hash": result.content_hash,
        "id": result.transmission_id,
        "observation_id": result.observation_id,
    }


def refused_json(parsed: Parsed) -> JSONObject:
    """The answer for a packet refused before ingest."""
    err = parsed.error
    assert err is not None
    return {"index": parsed.index, "status": "rejected", "reason": err.reason,
            "where": err.where, "detail": err.detail}  # fmt: skip


async def ingest(worker: IngestWorker, parsed: list[Parsed]) -> list[JSONObject]:
    """Submit the good packets to the worker and answer for every packet, in order."""
    for p in parsed:
        if p.error is not None:
            worker.counters.rejected(p.error.reason, f"{WHERE} {p.error.where}", p.error.detail)
    good = [p for p in parsed if p.sighting is not None]
    results: list[Result] = []
    if good:
        # submit blocks while the queue is full: wait for room off the event loop.
        future = await asyncio.to_thread(worker.submit, [p.sighting for p in good if p.sighting])
        results = await asyncio.wrap_future(future)
    by_index = {p.index: r for p, r in zip(good, results, strict=True)}
    return [
        result_json(p.index, by_index[p.index]) if p.error is None else refused_json(p)
        for p in parsed
    ]


def single_answer(
    answer: JSONObject, hex_text: str | None, keys: ChannelKeys, regions: RegionKeys
) -> JSONObject:
    """A lone packet's answer, with its decode as CoreScope answers (`{id, decoded}`)."""
    if answer["status"] == "rejected" or hex_text is None:
        return answer
    try:
        packet = decode_hex(hex_text, keys, validate_signatures=False, regions=regions)
        decoded: JSONValue = packet_json(packet)
    except DecodeError:  # the pipeline accepted it; a decode that differs is not fatal
        decoded = None
    return {**answer, "decoded": decoded}


def summary(answers: list[JSONObject]) -> JSONObject:
    """Counts per status over a list's answers."""
    counts: dict[str, int] = {"stored": 0, "duplicate": 0, "rejected": 0}
    for answer in answers:
        counts[str(answer["status"])] += 1
    return dict[str, JSONValue](counts)


INJECT_PACKET: Schema = {
    "type": "object",
    "properties": {
        "hex": {"type": "string", "description": "The frame, hex (at most 255 bytes)."},
        "observer": {"type": "string", "description": "Observer id (becomes an observer)."},
        "snr": NUMBER,
        "rssi": NUMBER,
        "region": {"type": "string", "description": "The observer's IATA region."},
        "timestamp": {
            "anyOf": [NUMBER, STRING],
            "description": "When heard: unix seconds or RFC3339; absent means now.",
        },
        "hash": {"type": "string", "description": "Ignored (computed from the frame)."},
    },
    "required": ["hex"],
    "additionalProperties": False,
}

_INJECTED = {
    "index": INTEGER,
    "status": {"enum": ["stored", "duplicate", "rejected"]},
    "new": BOOLEAN,
    "hash": STRING,
    "id": INTEGER,
    "observation_id": nullable(INTEGER),
    "reason": STRING,
    "where": STRING,
    "detail": STRING,
}
INJECTED_PACKET = obj(
    {**_INJECTED, "decoded": {"type": ["object", "null"]}},
    optional=(*(k for k in _INJECTED if k not in ("index", "status")), "decoded"),
)
INJECTED_PACKETS = obj(
    {
        "results": {"type": "array", "items": INJECTED_PACKET},
        "counts": obj({"stored": INTEGER, "duplicate": INTEGER, "rejected": INTEGER}),
    }
)


def inject_routes(ctx: ApiContext) -> list[RouteSpec]:
    """POST /api/packets, documented for /openapi.json."""

    async def post_packets(request: Request) -> Reply:
        check_key(ctx.settings.api_key, header(request, KEY_HEADER))
        if not ctx.status.loaded:  # the worker starts once the store has loaded
            raise NotReadyError()
        try:
            body = await read_capped(request.stream(), header(request, b"content-length"))
            parsed, single = parse_body(body, ctx.clock.now_ms())
            if single and parsed[0].error is not None:
                raise parsed[0].error
        except InputError as err:  # counted (and logged, rate-limited) like any bad input
            ctx.worker.counters.rejected(err.reason, f"{WHERE} {err.where}", err.detail)
            raise
        answers = await ingest(ctx.worker, parsed)
        if not single:
            return json_reply({"results": list[JSONValue](answers), "counts": summary(answers)})
        answer = answers[0]
        if answer["status"] == "rejected":
            return error_reply(
                400, f"packet rejected: {answer['reason']}: {answer['detail']}",
                fields={"reason": answer["reason"], "where": "hex"},
            )  # fmt: skip
        return json_reply(single_answer(answer, parsed[0].hex_text, ctx.keys, ctx.regions))

    docs = {
        200: Doc("What happened to each packet (one object for a lone packet, else a list).",
                 {"oneOf": [INJECTED_PACKET, INJECTED_PACKETS]}),
        400: Doc("Malformed body, or a lone packet that is wrong; the body says what and"
                 " where (`reason`, `where`).", ERROR_DOC),
        401: Doc("Missing or wrong `X-API-Key`.", ERROR_DOC),
        403: Doc("No API key is configured, so injection is disabled.", ERROR_DOC),
        413: Doc(f"Body over {MAX_BODY_BYTES} bytes or over {MAX_PACKETS} packets.", ERROR_DOC),
        503: Doc("The store is still loading.", ERROR_DOC),
    }  # fmt: skip
    return [
        RouteSpec(ROUTE, "POST", guarded(post_packets),
                  "Inject packets with the API key (protocol §16).", "tools", docs,
                  body={"oneOf": [INJECT_PACKET,
                                  {"type": "array", "items": INJECT_PACKET,
                                   "minItems": 1, "maxItems": MAX_PACKETS}]}),
    ]  # fmt: skip
