"""Packets as CoreScope's JSON: `decoded_json` (protocol §4.13), `/api/decode`, `channel_hash`.

Field order is the reference struct order. String, number and list fields are omitted when
empty or zero; the reference's "optional" fields are emitted whenever they are set, even as
0 or false. Hex is lower case except where the reference writes UPPERCASE.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any, Final

from meshlens.records import JSONObject, JSONValue
from meshlens.times import iso_millis
from meshlens.wire.header import PAYLOAD_NAMES, is_direct
from meshlens.wire.packet import TRACE, Packet
from meshlens.wire.payloads import (
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

_PATH: Final = 0x08
_GRP_TXT: Final = 0x05


def _put(out: JSONObject, key: str, value: JSONValue) -> None:
    """Set `key` unless the value is empty or zero (Go `omitempty`)."""
    if value:
        out[key] = value


def _datagram(packet: Packet, p: Datagram) -> JSONObject:
    out: JSONObject = {
        "type": PAYLOAD_NAMES[packet.payload_type],
        "destHash": f"{p.dest_hash:02x}",
        "srcHash": f"{p.src_hash:02x}",
        "mac": p.mac.hex(),
    }
    if packet.payload_type == _PATH:
        _put(out, "pathData", p.ciphertext.hex())  # §4.6: still ciphertext, despite the name
    else:
        _put(out, "encryptedData", p.ciphertext.hex())
    return out


def _ack(_packet: Packet, p: Ack) -> JSONObject:
    out: JSONObject = {"type": "ACK", "extraHash": f"{p.checksum:08x}", "ackLen": p.length}
    if p.attempt is not None:
        out["ackAttempt"] = p.attempt
    if p.rand is not None:
        out["ackRand"] = p.rand
    return out


def advert_flags_json(flags: int) -> JSONObject:
    """The reference's `flags` object for an advert flags byte."""
    kind = flags & 0x0F
    return {
        "raw": flags,
        "type": kind,
        "chat": kind == 1,
        "repeater": kind == 2,
        "room": kind == 3,
        "sensor": kind == 4,
        "hasLocation": bool(flags & 0x10),
        "hasFeat1": bool(flags & 0x20),
        "hasFeat2": bool(flags & 0x40),
        "hasName": bool(flags & 0x80),
    }


def _advert(_packet: Packet, p: Advert) -> JSONObject:
    out: JSONObject = {"type": "ADVERT", "pubKey": p.public_key}
    if p.timestamp:
        out["timestamp"] = p.timestamp
    out["timestampISO"] = iso_millis(p.timestamp * 1000)
    out["signature"] = p.signature.hex()
    if p.signature_valid is not None:
        out["signatureValid"] = p.signature_valid
    if p.flags is not None:
        out["flags"] = advert_flags_json(p.flags)
    optional: tuple[tuple[str, JSONValue], ...] = (
        ("lat", p.lat),
        ("lon", p.lon),
        ("name", p.name or None),
        ("feat1", p.feat1),
        ("feat2", p.feat2),
        ("battery_mv", p.battery_mv),
        ("temperature_c", p.temperature_c),
    )
    for key, value in optional:
        if value is not None:
            out[key] = value
    return out


def _group(packet: Packet, p: GroupMessage) -> JSONObject:
    decrypted = p.decryption_status == "decrypted"
    kind = "CHAN" if decrypted and not p.is_data else PAYLOAD_NAMES[packet.payload_type]
    out: JSONObject = {"type": kind}
    if not decrypted:
        out["mac"] = p.mac.hex()
        _put(out, "encryptedData", p.ciphertext.hex())
    _put(out, "channelHash", p.channel_hash)
    out["channelHashHex"] = f"{p.channel_hash:02X}"
    out["decryptionStatus"] = p.decryption_status
    if not decrypted:
        return out
    _put(out, "channel", p.channel)
    if p.data_type is not None:
        out["dataType"] = p.data_type
    if p.data_len is not None:
        out["dataLen"] = p.data_len
    _put(out, "decryptedBlob", p.blob.hex())
    _put(out, "text", p.text)
    _put(out, "sender", p.sender)
    _put(out, "sender_timestamp", p.sender_timestamp)
    _put(out, "error", p.error)
    return out


def _anon_request(_packet: Packet, p: AnonRequest) -> JSONObject:
    out: JSONObject = {"type": "ANON_REQ", "destHash": f"{p.dest_hash:02x}", "mac": p.mac.hex()}
    _put(out, "encryptedData", p.ciphertext.hex())
    out["ephemeralPubKey"] = p.ephemeral_public_key.hex()
    return out


def _trace(_packet: Packet, p: Trace) -> JSONObject:
    out: JSONObject = {"type": "TRACE"}
    _put(out, "pathData", p.route.hex())
    _put(out, "snrValues", list(p.snr_db))
    _put(out, "tag", p.tag)
    _put(out, "authCode", p.auth_code)
    out["traceFlags"] = p.flags
    return out


def _multipart(_packet: Packet, p: Multipart) -> JSONObject:
    out: JSONObject = {
        "type": "MULTIPART",
        "remaining": p.remaining,
        "innerType": p.inner_type,
        "innerTypeName": PAYLOAD_NAMES[p.inner_type],
    }
    inner = p.inner
    if p.is_ack:
        out["innerAckCrc"] = f"{int.from_bytes(inner[:4], 'little'):08x}"
        out["innerAckLen"] = min(len(inner), 6)
        if len(inner) > 4:
            out["innerAckAttempt"] = inner[4]
        if len(inner) > 5:
            out["innerAckRand"] = inner[5]
    else:
        _put(out, "innerPayload", inner.hex())
    return out


def _control(_packet: Packet, p: Control) -> JSONObject:
    out: JSONObject = {"type": "CONTROL", "raw": p.data.hex(), "ctrlFlags": f"{p.flags:02x}"}
    out["ctrlZeroHop"] = bool(p.flags & 0x80)
    out["ctrlLength"] = len(p.data)
    out["ctrlSubtype"] = p.subtype
    optional: tuple[tuple[str, JSONValue], ...] = (
        ("ctrlFilter", p.filter),
        ("ctrlTag", p.tag),
        ("ctrlSince", p.since),
        ("ctrlNodeType", p.node_type),
        ("ctrlSNR", p.snr_raw),
    )
    for key, value in optional:
        if value is not None:
            out[key] = value
    if p.public_key is not None:
        out["ctrlPubKey"] = p.public_key.hex()
    return out


def _raw_custom(_packet: Packet, p: RawCustom) -> JSONObject:
    out: JSONObject = {"type": "RAW_CUSTOM"}
    _put(out, "raw", p.data.hex())
    out["rawLength"] = len(p.data)
    if p.data:
        out["firstByteTag"] = f"{p.data[0]:02X}"
    return out


def _reserved(_packet: Packet, p: Reserved) -> JSONObject:
    out: JSONObject = {"type": "UNKNOWN"}
    _put(out, "raw", p.data.hex())
    return out


def _invalid(packet: Packet, p: InvalidPayload) -> JSONObject:
    out: JSONObject = {"type": PAYLOAD_NAMES[packet.payload_type]}
    _put(out, "raw", p.data.hex())
    out["error"] = p.error
    return out


_RENDERERS: Final[dict[type[Any], Callable[[Packet, Any], JSONObject]]] = {
    Datagram: _datagram,
    Ack: _ack,
    Advert: _advert,
    GroupMessage: _group,
    AnonRequest: _anon_request,
    Trace: _trace,
    Multipart: _multipart,
    Control: _control,
    RawCustom: _raw_custom,
    Reserved: _reserved,
    InvalidPayload: _invalid,
}


def payload_json(packet: Packet) -> JSONObject:
    """The payload as CoreScope stores it in `transmissions.decoded_json` (§4.13)."""
    payload: Payload = packet.payload
    return _RENDERERS[type(payload)](packet, payload)


def path_json(packet: Packet) -> JSONObject:
    """The decoded `path` object: after the TRACE rewrite (§4.9) and zero-hop rule (§4.14)."""
    payload = packet.payload
    if packet.payload_type == TRACE and type(payload) is Trace and payload.route:
        return {
            "hashSize": packet.path_hop_width,
            "hashCount": len(packet.path_hops),
            "hops": list(packet.path_hops),
            "hopsCompleted": packet.hop_count,
        }
    zero_hop_direct = (
        packet.payload_type != TRACE and packet.hop_count == 0 and is_direct(packet.route_type)
    )
    return {
        "hashSize": 0 if zero_hop_direct else packet.hash_size,
        "hashCount": packet.hop_count,
        "hops": list(packet.path_hops),
    }


def packet_json(packet: Packet) -> JSONObject:
    """The whole decode, as `meshlens decode` prints it and `POST /api/decode` returns it."""
    codes = packet.transport_codes
    out: JSONObject = {
        "header": {
            "routeType": packet.route_type,
            "routeTypeName": packet.route_type_name,
            "payloadType": packet.payload_type,
            "payloadTypeName": packet.payload_type_name,
            "payloadVersion": packet.payload_version,
        },
        "transportCodes": {"code1": codes[0], "code2": codes[1]} if codes else None,
        "path": path_json(packet),
        "payload": payload_json(packet),
        "raw": packet.raw.hex().upper(),
    }
    if packet.anomaly:
        out["anomaly"] = packet.anomaly
    return out


def channel_hash_column(packet: Packet) -> str | None:
    """`transmissions.channel_hash` (§9): GRP_TXT label, `enc_XX` when unread, else None."""
    message = packet.channel_message
    if message is None or packet.payload_type != _GRP_TXT:
        return None
    if message.decryption_status == "decrypted":
        return message.channel
    return f"enc_{message.channel_hash:02X}"


def path_json_text(packet: Packet) -> str:
    """`observations.path_json`: the hops as compact JSON (`["AA","BB"]`)."""
    return "[" + ",".join(f'"{hop}"' for hop in packet.path_hops) + "]"


# --- Go encoding/json compatible text ------------------------------------------------

_GO_ESCAPES: Final = str.maketrans(
    {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)
_CONTROL_ESCAPES: Final = {
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    '"': '\\"',
    "\\": "\\\\",
}


def _go_string(text: str) -> str:
    out = []
    for char in text:
        if char in _CONTROL_ESCAPES:
            out.append(_CONTROL_ESCAPES[char])
        elif char < " ":
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return '"' + "".join(out).translate(_GO_ESCAPES) + '"'


def _go_float(value: float) -> str:
    """Go's float form: shortest digits, positional between 1e-6 and 1e21, no `.0`."""
    text = repr(value)
    if "e" not in text:
        return text.removesuffix(".0")
    if 1e-6 <= abs(value) < 1e21:
        return format(Decimal(text), "f")
    mantissa, exponent = text.split("e")
    power = int(exponent)
    # encoding/json writes e-7 (not e-07) but e+21.
    return f"{mantissa}e{power}" if power < 0 else f"{mantissa}e+{power:02d}"


def go_json(value: JSONValue) -> str:
    """Compact JSON text as Go's encoding/json writes it (key order kept, §4.13)."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _go_float(value)
    if isinstance(value, str):
        return _go_string(value)
    if isinstance(value, list):
        return "[" + ",".join(go_json(item) for item in value) + "]"
    return "{" + ",".join(f"{_go_string(k)}:{go_json(v)}" for k, v in value.items()) + "}"


def decoded_json_text(packet: Packet) -> str:
    """`transmissions.decoded_json` exactly as the reference ingestor writes it."""
    return go_json(payload_json(packet))
