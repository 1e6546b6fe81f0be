"""Payload decoders, one per payload type (protocol §4). They never raise.

A payload too short for its type decodes to `InvalidPayload`; everything else about a
payload (bad signature, unknown channel, garbage plaintext) is a decoded value.
"""

from __future__ import annotations

import struct
from typing import Final

from meshlens.frozen import constructor
from meshlens.wire.channels import ChannelKey, ChannelKeys
from meshlens.wire.crypto import verify_advert
from meshlens.wire.payloads import (
    ADVERT_TYPE_SENSOR,
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
from meshlens.wire.text import advert_name, is_readable_text

_new_ack = constructor(Ack)
_new_advert = constructor(Advert)
_new_datagram = constructor(Datagram)
_new_group = constructor(GroupMessage)
_new_invalid = constructor(InvalidPayload)
_new_trace = constructor(Trace)

_U16: Final = struct.Struct("<H").unpack_from
_U32: Final = struct.Struct("<I").unpack_from
_LAT_LON: Final = struct.Struct("<ii").unpack_from
_TELEMETRY: Final = struct.Struct("<Hh").unpack_from
_TRACE_HEAD: Final = struct.Struct("<IIB").unpack_from
_ADVERT_HEAD: Final = struct.Struct("<32sI64s").unpack_from

TOO_SHORT: Final = "too short"
ADVERT_TOO_SHORT: Final = "too short for advert"
ADVERT_MIN_BYTES: Final = 100  # pubkey 32 + timestamp 4 + signature 64
ANON_REQ_MIN_BYTES: Final = 35
TRACE_MIN_BYTES: Final = 9

# §4.9: a TRACE header-path byte is int8(SNR x 4).
SNR_DB: Final = tuple((b - 256 if b > 127 else b) / 4 for b in range(256))

# §4.4: sender prefixes are 1..49 bytes and contain none of these.
_SENDER_FORBIDDEN: Final = (b":", b"[", b"]")
_SENDER_MAX_INDEX: Final = 50
_TEXT_HEADER_BYTES: Final = 5  # timestamp u32 + flags byte


def decode_datagram(payload: bytes) -> Payload:
    """REQ, RESPONSE, TXT_MSG, PATH: dest hash, src hash, 2-byte MAC, ciphertext (§4.1)."""
    if len(payload) < 4:
        return _new_invalid(TOO_SHORT, payload)
    return _new_datagram(payload[0], payload[1], payload[2:4], payload[4:])


def decode_ack(payload: bytes) -> Payload:
    """ACK (§4.2)."""
    n = len(payload)
    if n < 4:
        return _new_invalid(TOO_SHORT, payload)
    return _new_ack(
        _U32(payload)[0],
        payload[4] if n > 4 else None,
        payload[5] if n > 5 else None,
        payload[6:],
    )


def decode_advert(payload: bytes, validate_signature: bool) -> Payload:
    """ADVERT (§4.3); the signature is checked only when asked (it dominates the cost)."""
    if len(payload) < ADVERT_MIN_BYTES:
        return _new_invalid(ADVERT_TOO_SHORT, payload)
    public_key, timestamp, signature = _ADVERT_HEAD(payload)
    app = payload[ADVERT_MIN_BYTES:]
    valid = verify_advert(public_key, signature, payload[:36] + app) if validate_signature else None
    if not app:
        return _new_advert(
            public_key.hex(), timestamp, signature, app, valid,
            None, None, None, "", None, None, None, None,
        )  # fmt: skip
    flags = app[0]
    size = len(app)
    at = 1
    lat = lon = None
    feat1 = feat2 = battery_mv = None
    temperature_c = None
    name = ""
    if flags & FLAG_LOCATION and size - at >= 8:
        lat_e6, lon_e6 = _LAT_LON(app, at)
        lat, lon = lat_e6 / 1e6, lon_e6 / 1e6
        at += 8
    if flags & FLAG_FEAT1 and size - at >= 2:
        feat1 = _U16(app, at)[0]
        at += 2
    if flags & FLAG_FEAT2 and size - at >= 2:
        feat2 = _U16(app, at)[0]
        at += 2
    if flags & FLAG_NAME:
        end = app.find(0, at)
        if end < 0:
            end = size
        name = advert_name(app[at:end])
        at = end
        while at < size and app[at] == 0:
            at += 1
    if flags & 0x0F == ADVERT_TYPE_SENSOR and size - at >= 4:
        # CoreScope's heuristic: battery mV and centi-degrees after the name, when plausible.
        battery, centi = _TELEMETRY(app, at)
        if 0 < battery <= 10000:
            battery_mv = battery
        if -5000 <= centi <= 10000:
            temperature_c = centi / 100
    return _new_advert(
        public_key.hex(), timestamp, signature, app, valid,
        flags, lat, lon, name, feat1, feat2, battery_mv, temperature_c,
    )  # fmt: skip


def decode_group(payload: bytes, keys: ChannelKeys | None, is_data: bool) -> Payload:
    """GRP_TXT / GRP_DATA (§4.4): try the keys whose channel hash matches, first fit wins."""
    if len(payload) < 3:
        return _new_invalid(TOO_SHORT, payload)
    channel_hash = payload[0]
    mac = payload[1:3]
    ciphertext = payload[3:]
    if keys is None or len(ciphertext) < 5:
        return _new_group(
            channel_hash, mac, ciphertext, is_data, "no_key",
            None, "", "", None, None, None, b"", None,
        )  # fmt: skip
    for key in keys.for_hash(channel_hash):
        plaintext = key.cipher.open(mac, ciphertext)
        if plaintext is None:
            continue
        if is_data:
            return _group_data(channel_hash, mac, ciphertext, key, plaintext)
        message = _group_text(channel_hash, mac, ciphertext, key, plaintext)
        if message is not None:
            return message
    if not keys:
        return _no_key(channel_hash, mac, ciphertext, is_data)
    return _new_group(
        channel_hash, mac, ciphertext, is_data, "decryption_failed",
        None, "", "", None, None, None, b"", None,
    )  # fmt: skip


def _no_key(channel_hash: int, mac: bytes, ciphertext: bytes, is_data: bool) -> GroupMessage:
    return _new_group(
        channel_hash, mac, ciphertext, is_data, "no_key",
        None, "", "", None, None, None, b"", None,
    )  # fmt: skip


def _group_text(
    channel_hash: int, mac: bytes, ciphertext: bytes, key: ChannelKey, plaintext: bytes
) -> GroupMessage | None:
    """A decrypted group text, or None when the plaintext fails the text checks (§4.4)."""
    if len(plaintext) < _TEXT_HEADER_BYTES:
        return None
    body = plaintext[_TEXT_HEADER_BYTES:]
    nul = body.find(0)
    if nul >= 0:
        body = body[:nul]
    try:
        text = body.decode()
    except UnicodeDecodeError:
        return None
    if not is_readable_text(text):
        return None
    sender = ""
    split = body.find(b": ")
    if 0 < split < _SENDER_MAX_INDEX:
        prefix = body[:split]
        if not any(c in prefix for c in _SENDER_FORBIDDEN):
            sender = prefix.decode()
            message = body[split + 2 :].decode()
            text = f"{sender}: {message}" if message else ""
    return _new_group(
        channel_hash, mac, ciphertext, False, "decrypted",
        key.text_label, sender, text, _U32(plaintext)[0], None, None, b"", None,
    )  # fmt: skip


def _group_data(
    channel_hash: int, mac: bytes, ciphertext: bytes, key: ChannelKey, plaintext: bytes
) -> GroupMessage:
    """A decrypted group datagram: data type u16, length byte, blob (§4.4)."""
    data_type = data_len = None
    blob = b""
    error = None
    if len(plaintext) < 3:
        error = "inner too short"
    else:
        data_type = _U16(plaintext)[0]
        data_len = plaintext[2]
        if 3 + data_len > len(plaintext):
            error = "inner data_len exceeds buffer"
        else:
            blob = plaintext[3 : 3 + data_len]
    return _new_group(
        channel_hash, mac, ciphertext, True, "decrypted",
        key.label, "", "", None, data_type, data_len, blob, error,
    )  # fmt: skip


def decode_anon_request(payload: bytes) -> Payload:
    """ANON_REQ (§4.5): dest hash, the sender's 32-byte key, MAC, ciphertext."""
    if len(payload) < ANON_REQ_MIN_BYTES:
        return _new_invalid(TOO_SHORT, payload)
    return AnonRequest(payload[0], payload[1:33], payload[33:35], payload[35:])


def decode_trace(payload: bytes, header_path: bytes, hash_size: int) -> Payload:
    """TRACE (§4.7); SNR values come from 1-byte header hops when a route is present."""
    if len(payload) < TRACE_MIN_BYTES:
        return _new_invalid(TOO_SHORT, payload)
    tag, auth_code, flags = _TRACE_HEAD(payload)
    route = payload[TRACE_MIN_BYTES:]
    snr = tuple(map(SNR_DB.__getitem__, header_path)) if route and hash_size == 1 else ()
    return _new_trace(tag, auth_code, flags, route, snr)


def decode_multipart(payload: bytes) -> Payload:
    """MULTIPART (§4.8): remaining count and inner type in byte 0, then the part."""
    if not payload:
        return _new_invalid(TOO_SHORT, payload)
    return Multipart(payload[0] >> 4, payload[0] & 0x0F, payload[1:])


def decode_control(payload: bytes) -> Payload:
    """CONTROL (§4.10): DISCOVER_REQ / DISCOVER_RESP by the high nibble of byte 0."""
    n = len(payload)
    if not n:
        return _new_invalid(TOO_SHORT, payload)
    subtype = payload[0] & 0xF0
    if subtype == 0x80:
        tag = _U32(payload, 2)[0] if n >= 6 else None
        since = _U32(payload, 6)[0] if n >= 10 else None
        return Control(
            payload, "DISCOVER_REQ", payload[1] if n >= 6 else None, tag, since, None, None, None
        )
    if subtype == 0x90:
        snr = tag = key = None
        if n >= 6:
            snr = payload[1] - 256 if payload[1] > 127 else payload[1]
            tag = _U32(payload, 2)[0]
            key = payload[6:38] if n >= 38 else payload[6:14] if n >= 14 else None
        return Control(payload, "DISCOVER_RESP", None, tag, None, payload[0] & 0x0F, snr, key)
    return Control(payload, "UNKNOWN", None, None, None, None, None, None)


def decode_raw_custom(payload: bytes) -> Payload:
    """RAW_CUSTOM (§4.11)."""
    return RawCustom(payload)


def decode_reserved(payload: bytes) -> Payload:
    """Reserved payload types 0x0C-0x0E (§4.12)."""
    return Reserved(payload)
