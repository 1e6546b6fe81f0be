"""Reading meshcoretomqtt messages: topics, packet JSON and numeric coercion (pure).

protocol.md §2.2-§2.4. Every outside value is hostile: a malformed message raises
InputError with a stable reason (the counter label) and where it came from.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

import orjson

from meshlens.errors import InputError
from meshlens.frozen import constructor
from meshlens.records import Sighting
from meshlens.times import is_naive, parse_instant

# §2.4: one trailing unit suffix may be stripped, checked in this order.
_UNITS = ("dbm", "db", "mw", "km", "mi", "m")
# Go ParseFloat syntax: digits with underscores, NaN/Inf words, hex floats.
_GO_SPECIAL = re.compile(r"^[+-]?(inf|infinity|nan)$", re.IGNORECASE)
_HEX_FLOAT = re.compile(r"^[+-]?0x[0-9a-f_]*(\.[0-9a-f_]*)?(p[+-]?\d+)?$", re.IGNORECASE)
_PLAIN_DECIMAL = re.compile(r"-?[0-9]{1,15}(?:\.[0-9]{1,15})?")
_MAX_RAW_HEX = 2 * 255
# One Sighting per live message: the fast frozen-record constructor (fields in order).
_new_sighting = constructor(Sighting)  # MAX_TRANS_UNIT bytes; anything longer is not a LoRa frame


@dataclass(frozen=True, slots=True)
class Topic:
    """A meshcoretomqtt topic `meshcore/{IATA}/{OBSERVER}/{kind}` split into parts."""

    text: str
    region: str  # parts[1], upper-cased and trimmed ("" when absent)
    observer_id: str  # parts[2], verbatim ("" when absent)
    kind: str  # parts[3] ("" when absent)
    raw_region: str  # parts[1] exactly as sent ("" when absent): what iataFilter compares
    where: str  # "topic {text}": where a message of this topic came from, for counters


# A feed repeats one topic per observer, so a live source splits each topic once; the
# bound keeps a flood of made-up topics from growing it.
@functools.lru_cache(maxsize=4096)
def parse_topic(topic: str) -> Topic:
    """Split a topic on '/' the way the reference ingestor does (§2.2)."""
    parts = topic.split("/")
    raw_region = parts[1] if len(parts) > 1 else ""
    return Topic(
        text=topic,
        region=raw_region.strip().upper(),
        observer_id=parts[2] if len(parts) > 2 else "",
        kind=parts[3] if len(parts) > 3 else "",
        raw_region=raw_region,
        where=f"topic {topic}",
    )


def json_object(data: bytes | bytearray | str, where: str) -> dict[str, object]:
    """Parse a message body that must be a JSON object."""
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as err:
        value = _lenient_json(data, err)
        if value is None:
            raise InputError("bad_json", where, str(err)) from None
    if not isinstance(value, dict):
        raise InputError("not_an_object", where, f"got JSON {type(value).__name__}")
    return value


def _lenient_json(data: bytes | bytearray | str, error: orjson.JSONDecodeError) -> object | None:
    """Real captures carry names escaped as lone surrogates (\\udc90), which is valid JSON
    text that orjson refuses; parse those with the standard library and replace them."""
    if "surrogate" not in str(error):
        return None
    try:
        value = json.loads(data)
    except ValueError:
        return None
    return _scrub(value)


def _scrub(value: object) -> object:
    if isinstance(value, str):
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    if isinstance(value, dict):
        return {_scrub(k): _scrub(v) for k, v in value.items()}
    return value


def coerce_number(value: object) -> float | None:
    """§2.4 numeric coercion: JSON numbers, or strings with an optional unit suffix.

    Booleans are not numbers. Returns None for anything that does not coerce.
    """
    # What observers send, first: a plain decimal string, on which the rules below agree.
    if type(value) is str and _PLAIN_DECIMAL.fullmatch(value):
        return float(value)
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if not isinstance(value, str):
        return None
    text = value.strip()
    lower = text.lower()
    for unit in _UNITS:
        if lower.endswith(unit) and not _GO_SPECIAL.match(lower):
            text = text[: -len(unit)].strip()
            break
    return _go_float(text)


def _go_float(text: str) -> float | None:
    if not text:
        return None
    if _GO_SPECIAL.match(text):
        return float(text.lower().replace("infinity", "inf"))
    if _HEX_FLOAT.match(text):
        try:
            return float.fromhex(text.replace("_", ""))
        except ValueError:
            return None
    if "__" in text or text.startswith("_") or text.endswith("_"):
        return None
    try:
        return float(text.replace("_", ""))
    except ValueError:
        return None


def first_number(payload: Mapping[str, object], *keys: str) -> float | None:
    """The first of `keys` present in `payload`, coerced; a present key never falls through.

    NaN and infinities parse (Go syntax) but are no measurement: they read as absent.
    """
    for key in keys:
        if key in payload:
            value = coerce_number(payload[key])
            return None if value is None or not math.isfinite(value) else value
    return None


def _first_string(payload: Mapping[str, object], *keys: str) -> str | None:
    for key in keys:
        if key in payload:
            value = payload[key]
            return value if isinstance(value, str) else None
    return None


def raw_frame(payload: Mapping[str, object], where: str) -> bytes:
    """The frame bytes of a packet message's `raw` field (§3.5 step 1 whitespace rule)."""
    raw = payload.get("raw")
    if raw is None:
        raise InputError("missing_raw", where, "no 'raw' field")
    if not isinstance(raw, str):
        raise InputError("bad_raw", where, f"'raw' is a JSON {type(raw).__name__}, not a string")
    text = raw.replace(" ", "").replace("\n", "").replace("\r", "")
    if len(text) > _MAX_RAW_HEX:
        raise InputError("oversized", where, f"'raw' has {len(text)} hex digits")
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise InputError("bad_hex", where, f"'raw' is not hex: {raw[:40]!r}") from None


def read_packet_message(
    topic: Topic,
    payload: Mapping[str, object],
    *,
    received_at_ms: int,
    default_region: str = "",
) -> Sighting:
    """One packet message (§2.4) as a Sighting; `received_at_ms` is its observation time.

    The reference ingestor deliberately stamps packets with its own receive time rather
    than the observer's envelope timestamp (observer clocks are unreliable, §9).
    """
    where = topic.where
    raw = raw_frame(payload, where)
    region = topic.region or default_region.strip().upper()
    override = payload.get("region")
    if isinstance(override, str) and override.strip():
        region = override.strip().upper()
    score = first_number(payload, "score", "Score")
    origin = payload.get("origin")
    return _new_sighting(
        raw,
        topic.observer_id,
        origin if isinstance(origin, str) else "",
        region,
        first_number(payload, "SNR", "snr"),
        first_number(payload, "RSSI", "rssi"),
        None if score is None or math.isinf(score) else round(score),
        _first_string(payload, "direction", "Direction"),
        received_at_ms,
        where,
    )


def envelope_time_ms(payload: Mapping[str, object]) -> tuple[int, bool] | None:
    """The message's own `timestamp` (publish time) and whether it was naive (no zone)."""
    value = payload.get("timestamp")
    if not isinstance(value, str):
        return None
    parsed = parse_instant(value)
    if parsed is None:
        return None
    return parsed, is_naive(value)
