"""Frames to packets: header, transport codes, path, payload and identity (protocol §3, §6).

`decode_packet` raises `DecodeError` for a frame that is malformed as a frame (§3.5 steps
1-5) and for nothing else; payload-level problems are decoded values. `peek_frame` does
only the framing and the content hash, for observations of a transmission already stored.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from meshlens.errors import DecodeError
from meshlens.frozen import constructor
from meshlens.records import ContentHash
from meshlens.wire.channels import ChannelKeys
from meshlens.wire.decoders import (
    decode_ack,
    decode_advert,
    decode_anon_request,
    decode_control,
    decode_datagram,
    decode_group,
    decode_multipart,
    decode_raw_custom,
    decode_reserved,
    decode_trace,
)
from meshlens.wire.header import MAX_PATH_BYTES, MAX_PAYLOAD_BYTES, PAYLOAD_NAMES, ROUTE_NAMES
from meshlens.wire.payloads import Advert, GroupMessage, Payload, Trace
from meshlens.wire.regions import RegionKeys

TRACE: Final = 0x09
ANOMALY_TRACE_NOT_DIRECT: Final = (
    "TRACE packet with non-DIRECT routing (expected DIRECT or TRANSPORT_DIRECT)"
)
ANOMALY_TRACE_SHORT: Final = "TRACE payload decode failed: too short"

_sha256 = hashlib.sha256
# SHA-256 states with the type byte already absorbed: copying one beats hashing a new string.
_TYPE_HASH: Final = tuple(_sha256(bytes((t,))) for t in range(16))
_NO_CODES: Final = b"\0\0"
_HEX_DIGITS: Final = frozenset("0123456789abcdefABCDEF")


@dataclass(frozen=True, slots=True)
class Packet:
    """One decoded frame: what every observation of a transmission shares, plus its path."""

    raw: bytes
    route_type: int
    payload_type: int
    payload_version: int
    transport_codes: tuple[str, str] | None  # wire-order UPPERCASE hex
    path_byte: int
    hash_size: int  # bytes per header hop, 1..3
    hop_count: int  # header hop count
    header_path: bytes
    path_hops: tuple[str, ...]  # UPPERCASE hex, as path_json (§9): TRACE reads its route
    path_hop_width: int  # bytes per hop in path_hops
    content_hash: ContentHash
    payload: Payload
    anomaly: str | None
    scope_name: str | None  # §8: None unscoped, "" unknown region, else the region name

    @property
    def route_type_name(self) -> str:
        """FLOOD, DIRECT, TRANSPORT_FLOOD or TRANSPORT_DIRECT."""
        return ROUTE_NAMES[self.route_type]

    @property
    def payload_type_name(self) -> str:
        """The CoreScope name of the payload type (UNKNOWN for 0x0C-0x0E)."""
        return PAYLOAD_NAMES[self.payload_type]

    @property
    def payload_bytes(self) -> bytes:
        """The payload as it is on the wire."""
        start = (5 if self.transport_codes is not None else 1) + 1 + len(self.header_path)
        return self.raw[start:]

    @property
    def is_transport_scoped(self) -> bool:
        """True for transport routes whose first code is not 0000 (§8)."""
        return self.scope_name is not None

    @property
    def legacy_hash(self) -> str:
        """The pre-#786 content hash: SHA-256 of header byte and payload (§6.1)."""
        return _sha256(self.raw[:1] + self.payload_bytes).hexdigest()[:16]

    @property
    def advert(self) -> Advert | None:
        """The advert, when this is an ADVERT long enough to carry one."""
        payload = self.payload
        return payload if type(payload) is Advert else None

    @property
    def channel_message(self) -> GroupMessage | None:
        """The channel message, when this is a GRP_TXT or GRP_DATA long enough to carry one."""
        payload = self.payload
        return payload if type(payload) is GroupMessage else None


@dataclass(frozen=True, slots=True)
class FrameIdentity:
    """What `peek_frame` learns without decoding the payload."""

    content_hash: ContentHash
    route_type: int
    payload_type: int
    path_byte: int
    hash_size: int
    path: bytes  # hop bytes as path_json reads them (§9): a TRACE's route, else the header
    path_hop_width: int

    @property
    def hops(self) -> tuple[str, ...]:
        """The hops as UPPERCASE hex strings."""
        return _hops(self.path, self.path_hop_width)


_new_packet = constructor(Packet)
_new_identity = constructor(FrameIdentity)

# Indexed by payload type, for the types whose decoders need only the payload bytes.
_PLAIN_DECODERS: Final[tuple[Callable[[bytes], Payload], ...]] = (
    decode_datagram,  # REQ
    decode_datagram,  # RESPONSE
    decode_datagram,  # TXT_MSG
    decode_ack,
    decode_reserved,  # ADVERT: decoded by the caller
    decode_reserved,  # GRP_TXT: decoded by the caller
    decode_reserved,  # GRP_DATA: decoded by the caller
    decode_anon_request,
    decode_datagram,  # PATH
    decode_reserved,  # TRACE: decoded by the caller
    decode_multipart,
    decode_control,
    decode_reserved,
    decode_reserved,
    decode_reserved,
    decode_raw_custom,
)


def _hops(path: bytes, width: int) -> tuple[str, ...]:
    """Split hop bytes (whole hops only) into UPPERCASE hex strings of `width` bytes."""
    # One C-level pass: "AABB CCDD" split on the separator bytes.hex() puts every `width`.
    return tuple(path.hex(" ", width).upper().split())


def _frame(raw: bytes) -> tuple[int, int, int]:
    """Check the framing (§3.5 steps 2-5); returns (path-byte offset, payload offset, header)."""
    size = len(raw)
    if size < 2:
        raise DecodeError("packet too short", size)
    header = raw[0]
    at = _transport_offset(size) if header & 3 in {0, 3} else 1
    path_byte = raw[at]
    hash_size = (path_byte >> 6) + 1
    path_len = (path_byte & 0x3F) * hash_size
    if hash_size == 4 or path_len > MAX_PATH_BYTES:
        raise DecodeError("invalid path encoding", at)
    start = at + 1 + path_len
    if start > size:
        raise DecodeError("path exceeds buffer", at)
    if size - start > MAX_PAYLOAD_BYTES:
        raise DecodeError(f"payload exceeds {MAX_PAYLOAD_BYTES} bytes", start)
    return at, start, header


def replace_path(raw: bytes, hops: Sequence[bytes]) -> bytes:
    """`raw` carrying `hops` as its path instead of its own; the content hash is unchanged.

    With no hops the frame keeps its hash size. Raises DecodeError for a frame that does
    not parse and ValueError for hops of mixed or unsupported widths or too many of them.
    """
    at, start, _ = _frame(raw)
    width = len(hops[0]) if hops else (raw[at] >> 6) + 1
    if not 1 <= width <= 3 or any(len(hop) != width for hop in hops):
        raise ValueError("hops of mixed or unsupported widths")
    if len(hops) > 63 or len(hops) * width > MAX_PATH_BYTES:
        raise ValueError(f"a path of {len(hops)} hops of {width} bytes does not fit a frame")
    path_byte = (width - 1) << 6 | len(hops)
    return raw[:at] + bytes((path_byte,)) + b"".join(hops) + raw[start:]


def content_hash(payload_type: int, path_byte: int, payload: bytes) -> ContentHash:
    """§6.1: SHA-256 over type byte, (TRACE only) path byte and 0x00, payload; 16 hex."""
    return ContentHash(_content_hash(payload_type, path_byte, payload))


def _content_hash(payload_type: int, path_byte: int, payload: bytes) -> str:
    if payload_type == TRACE:
        # The firmware hashes its uint16 path_len, little-endian.
        return _sha256(bytes((TRACE, path_byte, 0)) + payload).hexdigest()[:16]
    hasher = _TYPE_HASH[payload_type].copy()
    hasher.update(payload)
    return hasher.hexdigest()[:16]


def peek_frame(raw: bytes) -> FrameIdentity:
    """Identity and path of a frame without decoding its payload; raises like decode_packet."""
    at, start, header = _frame(raw)
    payload_type = header >> 2 & 0x0F
    path_byte = raw[at]
    hash_size = (path_byte >> 6) + 1
    if payload_type == TRACE and len(raw) - start > 9:
        width = 1 << (raw[start + 8] & 3)
        end = len(raw) - (len(raw) - start - 9) % width
        path, hash_width = raw[start + 9 : end], width
    else:
        path, hash_width = raw[at + 1 : start], hash_size
    return _new_identity(
        _content_hash(payload_type, path_byte, raw[start:]),
        header & 3, payload_type, path_byte, hash_size, path, hash_width,
    )  # fmt: skip


def parse_hex(text: str) -> bytes:
    """Frame bytes from hex (§3.5 step 1): spaces, LF and CR are ignored, nothing else."""
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        pass
    else:
        if len(raw) * 2 == len(text):
            return raw
    stripped = text.replace(" ", "").replace("\n", "").replace("\r", "")
    for index, char in enumerate(stripped):
        if char not in _HEX_DIGITS:
            raise DecodeError(f"invalid hex character {char!r}", index // 2)
    if len(stripped) % 2:
        raise DecodeError("odd number of hex digits", len(stripped) // 2)
    return bytes.fromhex(stripped)


def decode_hex(
    text: str,
    keys: ChannelKeys | None = None,
    *,
    validate_signatures: bool = True,
    regions: RegionKeys | None = None,
) -> Packet:
    """`decode_packet` of a hex string (whitespace rules of §3.5 step 1)."""
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raw = parse_hex(text)
    else:
        if len(raw) * 2 != len(text):
            raw = parse_hex(text)
    return _decode(raw, keys, validate_signatures, regions)


def decode_packet(
    raw: bytes,
    keys: ChannelKeys | None = None,
    *,
    validate_signatures: bool = True,
    regions: RegionKeys | None = None,
) -> Packet:
    """Decode one frame; raises DecodeError only when the frame itself is malformed.

    `keys` are the channel keys to try on GRP_TXT/GRP_DATA, `regions` the regions to match
    transport codes against; the Ed25519 check of adverts runs when `validate_signatures`.
    """
    return _decode(raw, keys, validate_signatures, regions)


def _decode(
    raw: bytes, keys: ChannelKeys | None, validate: bool, regions: RegionKeys | None
) -> Packet:
    # The framing of `_frame`, inlined: this function runs once per new transmission and
    # its fixed cost is most of the decoder's (docs/benchmarks.md).
    size = len(raw)
    if size < 2:
        raise DecodeError("packet too short", size)
    header = raw[0]
    route_type = header & 3
    at = _transport_offset(size) if route_type in {0, 3} else 1
    path_byte = raw[at]
    hash_size = (path_byte >> 6) + 1
    path_len = (path_byte & 0x3F) * hash_size
    start = at + 1 + path_len
    if (
        hash_size == 4
        or path_len > MAX_PATH_BYTES
        or start > size
        or size - start > MAX_PAYLOAD_BYTES
    ):
        _frame(raw)  # raises the precise error
        raise AssertionError("unreachable: _frame accepted a frame _decode refused")
    header_path = raw[at + 1 : start]
    payload = raw[start:]
    payload_type = header >> 2 & 0x0F
    anomaly = None
    width = hash_size
    hops: tuple[str, ...] | None = None  # set here only when a TRACE route replaces the path
    # The most frequent types first; the rest go through a table.
    decoded: Payload
    if payload_type in {5, 6}:
        decoded = decode_group(payload, keys, payload_type == 6)
    elif payload_type == 4:
        decoded = decode_advert(payload, validate)
    elif payload_type == TRACE:
        decoded = decode_trace(payload, header_path, hash_size)
        if type(decoded) is not Trace:
            anomaly = ANOMALY_TRACE_SHORT
        elif decoded.route:
            # §4.9: the header path holds SNRs; the route lives in the payload.
            if route_type < 2:
                anomaly = ANOMALY_TRACE_NOT_DIRECT
            width = decoded.hop_width
            route = decoded.route
            hops = _hops(route[: len(route) - len(route) % width], width)
    else:
        decoded = _PLAIN_DECODERS[payload_type](payload)
    if hops is None:
        hops = tuple(header_path.hex(" ", hash_size).upper().split()) if header_path else ()
    codes = scope = None
    if at == 5:
        codes = (raw[1:3].hex().upper(), raw[3:5].hex().upper())
        if raw[1:3] != _NO_CODES:
            scope = regions.match(payload_type, payload, raw[1:3]) if regions else ""
    # `_content_hash`, inlined.
    if payload_type == TRACE:
        identity = _sha256(bytes((TRACE, path_byte, 0)) + payload).hexdigest()[:16]
    else:
        hasher = _TYPE_HASH[payload_type].copy()
        hasher.update(payload)
        identity = hasher.hexdigest()[:16]
    return _new_packet(
        raw, route_type, payload_type, header >> 6, codes, path_byte, hash_size,
        path_byte & 0x3F, header_path, hops, width, identity, decoded, anomaly, scope,
    )  # fmt: skip


def _transport_offset(size: int) -> int:
    """Where the path byte of a transport-route frame is; raises when the frame is too short."""
    if size < 5:
        raise DecodeError("packet too short for transport codes", size)
    if size == 5:
        raise DecodeError("missing path length", 5)
    return 5
