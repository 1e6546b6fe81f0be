"""Records to frames: build MeshCore frames for the simulator and for round-trip tests.

`encode_frame` assembles header, transport codes, path and payload; the `*_payload`
functions build each payload type, signing adverts and encrypting channel messages the
way the firmware does. `encode_payload` re-encodes any decoded payload byte for byte, so
`encode_packet(decode_packet(raw)) == raw` for every valid frame.
"""

from __future__ import annotations

import struct
from typing import Final

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from meshlens.wire.crypto import GroupCipher, channel_hash, sign_advert
from meshlens.wire.header import (
    MAX_PATH_BYTES,
    MAX_PAYLOAD_BYTES,
    header_byte,
    is_transport,
    path_length_byte,
)
from meshlens.wire.packet import Packet
from meshlens.wire.payloads import (
    FLAG_FEAT1,
    FLAG_FEAT2,
    FLAG_LOCATION,
    FLAG_NAME,
    Ack,
    Advert,
    AnonRequest,
    Control,
    Datagram,
    GroupMessage,
    InvalidPayload,
    Multipart,
    Payload,
    RawCustom,
    Reserved,
    Trace,
)
from meshlens.wire.regions import Region

_U16: Final = struct.Struct("<H").pack
_U32: Final = struct.Struct("<I").pack
_I32: Final = struct.Struct("<i").pack


def encode_frame(
    *,
    route_type: int,
    payload_type: int,
    payload: bytes,
    path: bytes = b"",
    hash_size: int = 1,
    transport_codes: bytes | None = None,
    payload_version: int = 0,
) -> bytes:
    """Assemble a frame; `path` holds whole hops of `hash_size` bytes (SNR bytes for TRACE).

    Transport routes need `transport_codes` (4 bytes: code1, code2 as on the wire).
    Raises ValueError for arguments that cannot make a valid frame.
    """
    if not 1 <= hash_size <= 3 or len(path) % hash_size or len(path) > MAX_PATH_BYTES:
        raise ValueError(f"path of {len(path)} bytes is not whole hops of {hash_size} bytes")
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise ValueError(f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD_BYTES}")
    codes = b""
    if is_transport(route_type):
        if transport_codes is None or len(transport_codes) != 4:
            raise ValueError("transport routes need 4 bytes of transport codes")
        codes = transport_codes
    elif transport_codes is not None:
        raise ValueError("only transport routes carry transport codes")
    head = bytes(
        (
            header_byte(route_type, payload_type, payload_version),
            *codes,
            path_length_byte(len(path) // hash_size, hash_size),
        )
    )
    return head + path + payload


def encode_packet(packet: Packet) -> bytes:
    """Re-encode a decoded packet from its fields (the inverse of `decode_packet`)."""
    codes = None
    if packet.transport_codes is not None:
        codes = bytes.fromhex("".join(packet.transport_codes))
    return encode_frame(
        route_type=packet.route_type,
        payload_type=packet.payload_type,
        payload=encode_payload(packet.payload),
        path=packet.header_path,
        hash_size=packet.hash_size,
        transport_codes=codes,
        payload_version=packet.payload_version,
    )


def encode_payload(payload: Payload) -> bytes:
    """The wire bytes of a payload record (TRACE SNRs live in the header path, not here)."""
    match payload:
        case Datagram(dest_hash, src_hash, mac, ciphertext):
            return bytes((dest_hash, src_hash)) + mac + ciphertext
        case Ack(checksum, attempt, rand, trailer):
            extra = bytes(b for b in (attempt, rand) if b is not None)
            return _U32(checksum) + extra + trailer
        case Advert():
            return (
                payload.public_key_bytes
                + _U32(payload.timestamp)
                + payload.signature
                + payload.appdata
            )
        case GroupMessage(channel_hash, mac, ciphertext):
            return bytes((channel_hash,)) + mac + ciphertext
        case AnonRequest(dest_hash, key, mac, ciphertext):
            return bytes((dest_hash,)) + key + mac + ciphertext
        case Trace(tag, auth_code, flags, route):
            return trace_payload(tag=tag, auth_code=auth_code, flags=flags, route=route)
        case Multipart(remaining, inner_type, inner):
            return bytes((remaining << 4 | inner_type,)) + inner
        case Control(data) | RawCustom(data) | Reserved(data) | InvalidPayload(_, data):
            return data
    raise TypeError(f"not a payload: {payload!r}")  # pragma: no cover


def datagram_payload(*, dest_hash: int, src_hash: int, mac: bytes, ciphertext: bytes) -> bytes:
    """REQ / RESPONSE / TXT_MSG / PATH envelope (§4.1)."""
    return bytes((dest_hash, src_hash)) + mac + ciphertext


def ack_payload(checksum: int, attempt: int | None = None, rand: int | None = None) -> bytes:
    """ACK: checksum u32 LE, then the attempt and random bytes of firmware >= 1.16 (§4.2)."""
    if rand is not None and attempt is None:
        raise ValueError("an ACK random byte needs an attempt byte before it")
    return encode_payload(Ack(checksum, attempt, rand, b""))


def appdata(
    *,
    advert_type: int,
    lat: float | None = None,
    lon: float | None = None,
    feat1: int | None = None,
    feat2: int | None = None,
    name: str = "",
    battery_mv: int | None = None,
    temperature_c: float | None = None,
) -> bytes:
    """Advert appdata (§4.3): flags, then location, features, name and sensor telemetry."""
    flags = advert_type & 0x0F
    body = b""
    if lat is not None and lon is not None:
        flags |= FLAG_LOCATION
        # The firmware truncates; rounding makes decode(encode(lat)) == lat for decoded values.
        body += _I32(round(lat * 1e6)) + _I32(round(lon * 1e6))
    if feat1 is not None:
        flags |= FLAG_FEAT1
        body += _U16(feat1)
    if feat2 is not None:
        flags |= FLAG_FEAT2
        body += _U16(feat2)
    if name:
        flags |= FLAG_NAME
        body += name.encode()
    if battery_mv is not None or temperature_c is not None:
        # A NUL ends the name. The reader skips every NUL after a name, so a battery value
        # whose low byte is 0 cannot be told apart from padding (CoreScope's heuristic).
        if name:
            body += b"\0"
        body += _U16(battery_mv or 0) + struct.pack("<h", round((temperature_c or 0) * 100))
    return bytes((flags,)) + body


def advert_payload(private_key: Ed25519PrivateKey, *, timestamp: int, appdata: bytes) -> bytes:
    """A signed ADVERT: pubkey, timestamp, Ed25519 signature over both and appdata (§7)."""
    public_key = private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    signed = public_key + _U32(timestamp) + appdata
    return public_key + _U32(timestamp) + sign_advert(private_key, signed) + appdata


def group_text_payload(key: bytes, *, timestamp: int, text: str, attempt: int = 0) -> bytes:
    """An encrypted GRP_TXT: timestamp, flags byte (plain text, attempt), text (§4.4)."""
    plaintext = _U32(timestamp) + bytes((attempt & 3,)) + text.encode()
    return _sealed(key, plaintext)


def group_data_payload(key: bytes, *, data_type: int, blob: bytes) -> bytes:
    """An encrypted GRP_DATA: data type u16, length byte, blob (§4.4)."""
    if len(blob) > 0xFF:
        raise ValueError("a GRP_DATA blob holds at most 255 bytes")
    return _sealed(key, _U16(data_type) + bytes((len(blob),)) + blob)


def _sealed(key: bytes, plaintext: bytes) -> bytes:
    mac, ciphertext = GroupCipher(key).seal(plaintext)
    return bytes((channel_hash(key),)) + mac + ciphertext


def anon_request_payload(
    *, dest_hash: int, ephemeral_public_key: bytes, mac: bytes, ciphertext: bytes
) -> bytes:
    """ANON_REQ envelope (§4.5)."""
    return bytes((dest_hash,)) + ephemeral_public_key + mac + ciphertext


def trace_payload(*, tag: int, auth_code: int, flags: int, route: bytes) -> bytes:
    """TRACE: tag, auth code, flags (route hop width 1 << (flags & 3)), route (§4.7)."""
    return struct.pack("<IIB", tag, auth_code, flags) + route


def snr_byte(snr_db: float) -> int:
    """The header-path byte a TRACE forwarder appends: int8(SNR x 4) (§4.9)."""
    quarter_db = max(-128, min(127, int(snr_db * 4)))
    return quarter_db & 0xFF


def multipart_payload(*, remaining: int, inner_type: int, inner: bytes) -> bytes:
    """MULTIPART: remaining and inner type nibbles, then the part (§4.8)."""
    return bytes(((remaining & 0x0F) << 4 | inner_type & 0x0F,)) + inner


def discover_request_payload(
    *, filter_types: int, tag: int, since: int | None = None, prefix_only: bool = False
) -> bytes:
    """CONTROL DISCOVER_REQ (§4.10): 6 bytes, or 10 with `since`."""
    body = bytes((0x80 | prefix_only, filter_types)) + _U32(tag)
    return body + (_U32(since) if since is not None else b"")


def discover_response_payload(
    *, node_type: int, snr_raw: int, tag: int, public_key: bytes
) -> bytes:
    """CONTROL DISCOVER_RESP (§4.10): SNR x 4, tag, then 32 key bytes or an 8-byte prefix."""
    if len(public_key) not in (8, 32):
        raise ValueError("a discovery response carries 8 or 32 key bytes")
    return bytes((0x90 | node_type & 0x0F, snr_raw & 0xFF)) + _U32(tag) + public_key


def transport_codes(region: Region, payload_type: int, payload: bytes) -> bytes:
    """The 4 transport-code bytes a node of `region` puts on a payload (§8); code2 is 0."""
    return region.code_bytes(payload_type, payload) + b"\0\0"
