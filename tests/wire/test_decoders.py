"""Payload decoding by type, on small hand-computed payloads (protocol §4)."""

from __future__ import annotations

import pytest

from meshlens.records import JSONObject
from meshlens.wire import (
    Ack,
    AnonRequest,
    Control,
    Datagram,
    InvalidPayload,
    Multipart,
    Packet,
    RawCustom,
    Reserved,
    Trace,
    decode_packet,
)
from meshlens.wire.json import packet_json, path_json, payload_json


def _packet(header: int, payload: bytes, path: bytes = b"", path_byte: int | None = None) -> Packet:
    byte = len(path) if path_byte is None else path_byte
    return decode_packet(bytes((header, byte)) + path + payload, validate_signatures=False)


# --- REQ / RESPONSE / TXT_MSG / PATH ---------------------------------------------------


@pytest.mark.parametrize("header", [0x02, 0x06, 0x0A, 0x22])
def test_datagram_envelope(header: int) -> None:
    packet = _packet(header, bytes.fromhex("D69FD7A5A7475DB0"))
    assert packet.payload == Datagram(0xD6, 0x9F, b"\xd7\xa5", bytes.fromhex("A7475DB0"))


def test_path_payload_calls_its_ciphertext_path_data() -> None:
    assert payload_json(_packet(0x22, bytes.fromhex("D69FD7A5A747"))) == {
        "type": "PATH", "destHash": "d6", "srcHash": "9f", "mac": "d7a5", "pathData": "a747",
    }  # fmt: skip


def test_datagram_of_four_bytes_has_no_ciphertext_field() -> None:
    assert payload_json(_packet(0x0A, bytes.fromhex("D69FD7A5"))) == {
        "type": "TXT_MSG", "destHash": "d6", "srcHash": "9f", "mac": "d7a5",
    }  # fmt: skip


def test_datagram_under_four_bytes_is_too_short() -> None:
    packet = _packet(0x0A, bytes.fromhex("D69FD7"))
    assert packet.payload == InvalidPayload("too short", bytes.fromhex("D69FD7"))
    assert payload_json(packet) == {"type": "TXT_MSG", "raw": "d69fd7", "error": "too short"}


def test_empty_too_short_payload_has_no_raw_field() -> None:
    assert payload_json(_packet(0x0A, b"")) == {"type": "TXT_MSG", "error": "too short"}


# --- ACK -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("BB40BA70", {"type": "ACK", "extraHash": "70ba40bb", "ackLen": 4}),
        ("AABBCCDD07", {"type": "ACK", "extraHash": "ddccbbaa", "ackLen": 5, "ackAttempt": 7}),
        ("AABBCCDD0200", {"type": "ACK", "extraHash": "ddccbbaa", "ackLen": 6, "ackAttempt": 2,
                          "ackRand": 0}),
        ("AABBCCDD02FF99", {"type": "ACK", "extraHash": "ddccbbaa", "ackLen": 6, "ackAttempt": 2,
                            "ackRand": 255}),
    ],
)  # fmt: skip
def test_ack_fields(body: str, expected: dict[str, object]) -> None:
    assert payload_json(_packet(0x0D, bytes.fromhex(body))) == expected


def test_ack_keeps_bytes_past_the_sixth() -> None:
    assert _packet(0x0D, bytes.fromhex("AABBCCDD02FF99")).payload == Ack(
        0xDDCCBBAA, 2, 255, b"\x99"
    )


def test_ack_under_four_bytes_is_too_short() -> None:
    assert type(_packet(0x0D, b"\x01\x02\x03").payload) is InvalidPayload


# --- ANON_REQ --------------------------------------------------------------------------


def test_anon_request_fields_and_minimum_length() -> None:
    key = bytes(range(32))
    packet = _packet(0x1E, b"\x9f" + key + b"\x08\xf8")
    assert packet.payload == AnonRequest(0x9F, key, b"\x08\xf8", b"")
    assert payload_json(packet) == {
        "type": "ANON_REQ", "destHash": "9f", "mac": "08f8", "ephemeralPubKey": key.hex(),
    }  # fmt: skip
    assert type(_packet(0x1E, b"\x9f" + key + b"\x08").payload) is InvalidPayload


# --- TRACE -----------------------------------------------------------------------------

TRACE_HEAD = bytes.fromhex("0100000002000000")  # tag 1, auth code 2


@pytest.mark.parametrize(("flags", "width"), [(0, 1), (1, 2), (2, 4), (3, 8), (0xFC, 1)])
def test_trace_route_hop_width_is_one_shifted_by_the_flag_bits(flags: int, width: int) -> None:
    route = bytes(range(16))
    packet = _packet(0x26, TRACE_HEAD + bytes((flags,)) + route, path=b"\x30")
    assert packet.path_hop_width == width
    assert packet.path_hops == tuple(
        route[i : i + width].hex().upper() for i in range(0, 16, width)
    )
    assert path_json(packet)["hopsCompleted"] == 1


def test_trace_ignores_a_trailing_partial_route_hop() -> None:
    packet = _packet(0x26, TRACE_HEAD + b"\x01" + bytes.fromhex("C0DE10"))
    assert packet.path_hops == ("C0DE",)
    assert path_json(packet) == {
        "hashSize": 2,
        "hashCount": 1,
        "hops": ["C0DE"],
        "hopsCompleted": 0,
    }


def test_trace_header_bytes_are_snr_quarter_db() -> None:
    packet = _packet(0x26, TRACE_HEAD + b"\x00\xaa", path=bytes.fromhex("14F480"))
    assert packet.payload == Trace(1, 2, 0, b"\xaa", (5.0, -3.0, -32.0))
    assert payload_json(packet)["snrValues"] == [5.0, -3.0, -32.0]


def test_trace_snr_values_need_one_byte_header_hops() -> None:
    packet = _packet(0x26, TRACE_HEAD + b"\x00\xaa", path=bytes.fromhex("1414"), path_byte=0x41)
    assert type(packet.payload) is Trace
    assert packet.payload.snr_db == ()


def test_trace_without_route_keeps_header_path_and_adds_nothing() -> None:
    packet = _packet(0x26, TRACE_HEAD + b"\x00", path=b"\x30\x2d")
    assert packet.path_hops == ("30", "2D")
    assert packet.anomaly is None
    assert path_json(packet) == {"hashSize": 1, "hashCount": 2, "hops": ["30", "2D"]}
    assert payload_json(packet) == {"type": "TRACE", "tag": 1, "authCode": 2, "traceFlags": 0}


def test_flooded_trace_with_route_is_an_anomaly() -> None:
    packet = _packet(0x25, TRACE_HEAD + b"\x00\xaa")
    assert packet.anomaly == (
        "TRACE packet with non-DIRECT routing (expected DIRECT or TRANSPORT_DIRECT)"
    )
    assert packet_json(packet)["anomaly"] == packet.anomaly


def test_short_trace_is_an_anomaly_and_keeps_the_header_path() -> None:
    packet = _packet(0x26, TRACE_HEAD, path=b"\x30")
    assert packet.payload == InvalidPayload("too short", TRACE_HEAD)
    assert packet.anomaly == "TRACE payload decode failed: too short"
    assert packet.path_hops == ("30",)


# --- MULTIPART -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("33EFBEADDE", {"innerAckCrc": "deadbeef", "innerAckLen": 4}),
        ("03AABBCCDD04", {"innerAckCrc": "ddccbbaa", "innerAckLen": 5, "innerAckAttempt": 4}),
        ("03AABBCCDD04C3FF", {"innerAckCrc": "ddccbbaa", "innerAckLen": 6, "innerAckAttempt": 4,
                              "innerAckRand": 195}),
        ("03AABBCC", {"innerPayload": "aabbcc"}),
        ("22010203", {"innerPayload": "010203"}),
        ("F3", {}),
    ],
)  # fmt: skip
def test_multipart_fields(body: str, expected: dict[str, object]) -> None:
    payload = bytes.fromhex(body)
    packet = _packet(0x2A, payload)
    inner = payload[0] & 0x0F
    names = {2: "TXT_MSG", 3: "ACK"}
    assert payload_json(packet) == {
        "type": "MULTIPART", "remaining": payload[0] >> 4, "innerType": inner,
        "innerTypeName": names[inner], **expected,
    }  # fmt: skip
    assert packet.payload == Multipart(payload[0] >> 4, inner, payload[1:])


def test_empty_multipart_is_too_short() -> None:
    assert type(_packet(0x2A, b"").payload) is InvalidPayload


# --- CONTROL ---------------------------------------------------------------------------


def _control(body: str) -> JSONObject:
    return payload_json(_packet(0x2E, bytes.fromhex(body)))


def test_discover_request_gates_its_fields_on_length() -> None:
    assert _control("8004518B74") == {
        "type": "CONTROL", "raw": "8004518b74", "ctrlFlags": "80", "ctrlZeroHop": True,
        "ctrlLength": 5, "ctrlSubtype": "DISCOVER_REQ",
    }  # fmt: skip
    assert _control("8104518B748F")["ctrlTag"] == 0x8F748B51
    assert "ctrlSince" not in _control("8004518B748F000000")
    assert _control("8004518B748F00000001")["ctrlSince"] == 0x01000000


def test_discover_response_fields_and_key_lengths() -> None:
    short = _control("92DC35333E")
    assert (short["ctrlNodeType"], "ctrlSNR" in short, "ctrlTag" in short) == (2, False, False)
    six = _control("92DC35333E5B")
    assert (six["ctrlSNR"], six["ctrlTag"], "ctrlPubKey" in six) == (-36, 0x5B3E3335, False)
    assert _control("92DC35333E5B" + "11" * 8)["ctrlPubKey"] == "11" * 8
    assert _control("92DC35333E5B" + "11" * 31)["ctrlPubKey"] == "11" * 8
    assert _control("92DC35333E5B" + "11" * 32)["ctrlPubKey"] == "11" * 32


def test_other_control_subtypes_are_unknown() -> None:
    packet = _packet(0x2E, bytes.fromhex("10AABB"))
    assert packet.payload == Control(bytes.fromhex("10AABB"), "UNKNOWN", *[None] * 6)
    assert payload_json(packet) == {
        "type": "CONTROL", "raw": "10aabb", "ctrlFlags": "10", "ctrlZeroHop": False,
        "ctrlLength": 3, "ctrlSubtype": "UNKNOWN",
    }  # fmt: skip


def test_empty_control_is_too_short() -> None:
    assert type(_packet(0x2E, b"").payload) is InvalidPayload


# --- RAW_CUSTOM and reserved types -----------------------------------------------------


def test_raw_custom_fields() -> None:
    packet = _packet(0x3E, bytes.fromhex("A5DEADBEEF"))
    assert packet.payload == RawCustom(bytes.fromhex("A5DEADBEEF"))
    assert payload_json(packet) == {
        "type": "RAW_CUSTOM", "raw": "a5deadbeef", "rawLength": 5, "firstByteTag": "A5",
    }  # fmt: skip
    assert payload_json(_packet(0x3E, b"")) == {"type": "RAW_CUSTOM", "rawLength": 0}


@pytest.mark.parametrize("payload_type", [0x0C, 0x0D, 0x0E])
def test_reserved_types_are_unknown(payload_type: int) -> None:
    packet = _packet(payload_type << 2 | 1, b"\x01\x02")
    assert packet.payload == Reserved(b"\x01\x02")
    assert packet.payload_type_name == "UNKNOWN"
    assert payload_json(packet) == {"type": "UNKNOWN", "raw": "0102"}
