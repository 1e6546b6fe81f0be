"""POST /api/decode: one hex frame in, its full decode out (protocol §16).

Uses the same decoder and channel keys as ingest, with the advert signature check on,
so the answer is what `meshlens decode` prints. The body is hostile input: its size is
capped and every refusal is a 400 that says why (and, for a bad frame, at which byte).
"""

from __future__ import annotations

import orjson

from meshlens.errors import InputError
from meshlens.records import JSONObject
from meshlens.wire import ChannelKeys, RegionKeys, decode_hex, packet_json

MAX_BODY_BYTES = 64 * 1024  # a MeshCore frame is at most 255 bytes: 510 hex digits


def decode_body(body: bytes, keys: ChannelKeys, regions: RegionKeys) -> JSONObject:
    """`{"decoded": ...}` for a request body `{"hex": "..."}`; raises InputError/DecodeError."""
    if len(body) > MAX_BODY_BYTES:
        raise InputError("too_large", "request body", f"at most {MAX_BODY_BYTES} bytes")
    try:
        request = orjson.loads(body)
    except orjson.JSONDecodeError as err:
        raise InputError("bad_json", "request body", str(err)) from err
    text = request.get("hex") if isinstance(request, dict) else None
    if not isinstance(text, str) or not text.strip():
        raise InputError("missing_hex", "hex", "a JSON object with a non-empty hex string")
    packet = decode_hex(text, keys, validate_signatures=True, regions=regions)
    return {"decoded": packet_json(packet)}
