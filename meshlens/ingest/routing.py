"""Deciding what one MQTT message is (protocol §2.3): a packet, a status, or neither (pure).

Used by the live MQTT sources and by `meshlens import` of captured MQTT JSONL, so both
treat a message the same way. Malformed input raises InputError with its reason; a
well-formed message that is deliberately not ingested comes back as `Filtered`.
"""

from __future__ import annotations

from dataclasses import dataclass

from meshlens.errors import InputError
from meshlens.ingest.messages import json_object, parse_topic, read_packet_message
from meshlens.ingest.status import ObserverStatus, read_status_message
from meshlens.records import Sighting

# A meshcoretomqtt packet message is well under 2 KiB (a 255-byte frame as hex plus a
# dozen short fields); anything past this is not one, and is refused before parsing.
MAX_MESSAGE_BYTES = 16 * 1024
_IGNORED_TOPICS = frozenset({"meshcore/status", "meshcore/events/connection"})


@dataclass(frozen=True, slots=True)
class Filtered:
    """A well-formed message that a rule says not to ingest, and which rule."""

    reason: str  # a counter label: iata_filter, blacklisted, not_whitelisted, ignored_topic


@dataclass(frozen=True, slots=True)
class RoutingRules:
    """The filters of §2.3 that apply to one source."""

    iata_filter: frozenset[str] = frozenset()  # exact topic regions; packets only
    region: str = ""  # the source's default region for topics without one
    observer_blacklist: frozenset[str] = frozenset()  # lower-case observer ids
    iata_whitelist: frozenset[str] = frozenset()  # upper-case regions; packets and statuses
    max_bytes: int = MAX_MESSAGE_BYTES


Routed = Sighting | ObserverStatus | Filtered


def route_message(
    topic: str, body: bytes | bytearray | str, rules: RoutingRules, *, received_at_ms: int
) -> Routed:
    """What one message is, in the order of §2.3; raises InputError for bad input."""
    where = f"topic {topic}"
    if len(body) > rules.max_bytes:
        raise InputError("oversized", where, f"{len(body)} bytes (limit {rules.max_bytes})")
    payload = json_object(body, where)
    return route_payload(topic, payload, rules, received_at_ms=received_at_ms)


def route_payload(
    topic: str, payload: dict[str, object], rules: RoutingRules, *, received_at_ms: int
) -> Routed:
    """`route_message` for a payload already parsed (an imported JSONL record)."""
    if topic in _IGNORED_TOPICS:
        return Filtered("ignored_topic")
    parts = parse_topic(topic)
    if parts.observer_id and parts.observer_id.strip().lower() in rules.observer_blacklist:
        return Filtered("blacklisted")
    if rules.iata_whitelist and parts.region not in rules.iata_whitelist:
        return Filtered("not_whitelisted")
    if parts.kind == "status":
        return read_status_message(parts, payload, received_at_ms=received_at_ms)
    # iataFilter compares the topic segment exactly as sent (§2.3 step 7).
    if rules.iata_filter and parts.raw_region not in rules.iata_filter:
        return Filtered("iata_filter")
    raw = payload.get("raw")
    if (raw is not None and raw != "") or parts.kind == "packets":
        # A packet topic without `raw` is a malformed packet message, not an unknown kind.
        return read_packet_message(
            parts, payload, received_at_ms=received_at_ms, default_region=rules.region
        )
    raise InputError("unknown_topic", f"topic {topic}", "neither a packet nor a status message")
