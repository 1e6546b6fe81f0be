"""The header byte and the frame limits of MeshCore packet format version 1 (protocol §3)."""

from __future__ import annotations

from enum import IntEnum
from typing import Final


class RouteType(IntEnum):
    """Bits 0-1 of the header: how the frame travels."""

    TRANSPORT_FLOOD = 0
    FLOOD = 1
    DIRECT = 2
    TRANSPORT_DIRECT = 3


class PayloadType(IntEnum):
    """Bits 2-5 of the header: what the payload is."""

    REQ = 0x00
    RESPONSE = 0x01
    TXT_MSG = 0x02
    ACK = 0x03
    ADVERT = 0x04
    GRP_TXT = 0x05
    GRP_DATA = 0x06
    ANON_REQ = 0x07
    PATH = 0x08
    TRACE = 0x09
    MULTIPART = 0x0A
    CONTROL = 0x0B
    RAW_CUSTOM = 0x0F


ROUTE_NAMES: Final = ("TRANSPORT_FLOOD", "FLOOD", "DIRECT", "TRANSPORT_DIRECT")

# §3.1: 0x0C-0x0E are reserved; CoreScope names them UNKNOWN.
PAYLOAD_NAMES: Final = (
    "REQ",
    "RESPONSE",
    "TXT_MSG",
    "ACK",
    "ADVERT",
    "GRP_TXT",
    "GRP_DATA",
    "ANON_REQ",
    "PATH",
    "TRACE",
    "MULTIPART",
    "CONTROL",
    "UNKNOWN",
    "UNKNOWN",
    "UNKNOWN",
    "RAW_CUSTOM",
)

MAX_PATH_BYTES: Final = 64
"""MAX_PATH_SIZE: hop count x hop width may not exceed this."""

MAX_PAYLOAD_BYTES: Final = 184
"""MAX_PACKET_PAYLOAD: a longer payload makes the frame undecodable."""

MIN_FRAME_BYTES: Final = 2
TRANSPORT_CODES_BYTES: Final = 4


def is_transport(route_type: int) -> bool:
    """True for the two route types that carry transport codes (§3.2)."""
    return route_type in {0, 3}


def is_direct(route_type: int) -> bool:
    """True for DIRECT and TRANSPORT_DIRECT."""
    return route_type in {2, 3}


def header_byte(route_type: int, payload_type: int, payload_version: int = 0) -> int:
    """Assemble a header byte `0bVVPPPPRR`."""
    return (payload_version & 3) << 6 | (payload_type & 0x0F) << 2 | (route_type & 3)


def path_length_byte(hop_count: int, hash_size: int) -> int:
    """Assemble a path-length byte: hash_size 1..3 in the top bits, hop count below (§3.3)."""
    return (hash_size - 1) << 6 | hop_count
