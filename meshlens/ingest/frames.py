"""Pure rules that turn decoded frames into rows (no I/O, no clock: time comes in).

These are the protocol's storage rules: what a transmission row holds (§9), when an
advert is refused (§4.3 ValidateAdvert), and how a node row is merged (§13).
"""

from __future__ import annotations

import dataclasses
import math
import re

from meshlens.records import Node, Observer, PubKey
from meshlens.store.batch import (
    DECRYPTION_DECRYPTED,
    DECRYPTION_FAILED,
    DECRYPTION_NO_KEY,
    DECRYPTION_NONE,
    DIRECTION_NONE,
    DIRECTION_OTHER,
    DIRECTION_RX,
    DIRECTION_TX,
    TxRow,
)
from meshlens.wire import Advert, Packet

_DECRYPTION = {
    "decrypted": DECRYPTION_DECRYPTED,
    "decryption_failed": DECRYPTION_FAILED,
    "no_key": DECRYPTION_NO_KEY,
}
_DIRECTIONS = {"rx": DIRECTION_RX, "tx": DIRECTION_TX}
_KNOWN_ROLES = frozenset({"repeater", "companion", "room", "sensor", "none"})
_ROLE_TYPE = re.compile(r"^type-\d+$")
# §4.3: control characters a node name may not contain (TAB, LF and CR are allowed).
_NAME_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def direction_code(direction: str | None) -> int:
    """The store's small-integer code of a message's `direction` field."""
    if direction is None or direction == "":
        return DIRECTION_NONE
    return _DIRECTIONS.get(direction.lower(), DIRECTION_OTHER)


def tx_row(packet: Packet, db_id: int, first_seen_ms: int) -> TxRow:
    """The store row of a newly stored transmission."""
    advert = packet.advert
    message = packet.channel_message
    row = TxRow(
        db_id=db_id,
        content_hash=packet.content_hash,
        first_seen_ms=first_seen_ms,
        route_type=packet.route_type,
        payload_type=packet.payload_type,
        payload_version=packet.payload_version,
        path_byte=packet.path_byte,
        raw=packet.raw,
        scope=packet.scope_name,
    )
    if advert is not None:
        row = row._replace(
            from_pubkey=advert.public_key,
            advert_ts=advert.timestamp,
            advert_lat=advert.lat,
            advert_lon=advert.lon,
            advert_flags=-1 if advert.flags is None else advert.flags,
        )
    if message is not None:
        row = row._replace(
            channel_hash=message.channel_hash,
            channel=message.channel,
            decryption=_DECRYPTION.get(message.decryption_status, DECRYPTION_NONE),
            sender=message.sender or None,
            text=message.text or None,
        )
    return row


def advert_refusal(advert: Advert) -> str | None:
    """§4.3 ValidateAdvert: why an advert must not be stored, or None when it may be."""
    key = advert.public_key
    if len(key) < 16:
        return "public key too short"
    if key.strip("0") == "":
        return "public key is all zeros"
    lat, lon = advert.lat, advert.lon
    if lat is not None and (not math.isfinite(lat) or not -90.0 <= lat <= 90.0):
        return "latitude out of range"
    if lon is not None and (not math.isfinite(lon) or not -180.0 <= lon <= 180.0):
        return "longitude out of range"
    if _NAME_CONTROL.search(advert.name):
        return "name contains control characters"
    if len(advert.name.encode()) > 64:
        return "name longer than 64 bytes"
    role = advert.role
    if role not in _KNOWN_ROLES and not _ROLE_TYPE.match(role):
        return f"unknown role {role!r}"
    return None


def merge_node(
    old: Node | None,
    advert: Advert,
    *,
    seen_at_ms: int,
    new_transmission: bool,
    foreign: bool,
    scope: str | None,
) -> Node:
    """Merge one stored advert into its node row (§13, with decision 10 and two fixes).

    Deliberate differences from the reference: an empty name never erases a known one
    (decision 10), and a 0,0 position ("no fix") never erases a known position.
    """
    has_fix = (
        advert.lat is not None
        and advert.lon is not None
        and not (advert.lat == 0.0 and advert.lon == 0.0)
    )
    if old is None:
        return Node(
            public_key=PubKey(advert.public_key),
            name=advert.name,
            role=advert.role,
            lat=advert.lat,
            lon=advert.lon,
            first_seen_ms=seen_at_ms,
            last_seen_ms=seen_at_ms,
            advert_count=1 if new_transmission else 0,
            battery_mv=advert.battery_mv,
            temperature_c=advert.temperature_c,
            foreign=foreign,
            default_scope=scope or None,
        )
    return Node(
        public_key=old.public_key,
        name=advert.name or old.name,
        role=advert.role,
        lat=advert.lat if has_fix or old.lat is None else old.lat,
        lon=advert.lon if has_fix or old.lon is None else old.lon,
        first_seen_ms=min(old.first_seen_ms, seen_at_ms),
        last_seen_ms=max(old.last_seen_ms, seen_at_ms),
        advert_count=old.advert_count + (1 if new_transmission else 0),
        battery_mv=advert.battery_mv if advert.battery_mv is not None else old.battery_mv,
        temperature_c=(
            advert.temperature_c if advert.temperature_c is not None else old.temperature_c
        ),
        foreign=old.foreign or foreign,
        # §8: an empty scope never overwrites.
        default_scope=scope or old.default_scope,
    )


def touch_node(old: Node, seen_at_ms: int) -> Node:
    """A node heard again through a repeat of an advert already stored: only last_seen moves."""
    if seen_at_ms <= old.last_seen_ms:
        return old
    return dataclasses.replace(old, last_seen_ms=seen_at_ms)


def adopt_node(old: Node | None, incoming: Node) -> Node:
    """A node row from another system fills gaps in ours and never erases what we know."""
    if old is None:
        return incoming
    return dataclasses.replace(
        old,
        name=old.name or incoming.name,
        role=old.role or incoming.role,
        lat=old.lat if old.has_gps or not incoming.has_gps else incoming.lat,
        lon=old.lon if old.has_gps or not incoming.has_gps else incoming.lon,
        first_seen_ms=min(old.first_seen_ms, incoming.first_seen_ms),
        last_seen_ms=max(old.last_seen_ms, incoming.last_seen_ms),
        advert_count=max(old.advert_count, incoming.advert_count),
    )


def adopt_observer(old: Observer | None, incoming: Observer) -> Observer:
    """An observer row from another system fills gaps in ours and never erases what we know."""
    if old is None:
        return incoming
    return dataclasses.replace(
        old,
        name=old.name or incoming.name,
        iata=old.iata or incoming.iata,
        first_seen_ms=min(old.first_seen_ms, incoming.first_seen_ms),
        last_seen_ms=max(old.last_seen_ms, incoming.last_seen_ms),
        model=old.model or incoming.model,
        firmware=old.firmware or incoming.firmware,
        client_version=old.client_version or incoming.client_version,
        radio=old.radio or incoming.radio,
        battery_mv=old.battery_mv if old.battery_mv is not None else incoming.battery_mv,
        uptime_secs=old.uptime_secs if old.uptime_secs is not None else incoming.uptime_secs,
        noise_floor=old.noise_floor if old.noise_floor is not None else incoming.noise_floor,
    )
