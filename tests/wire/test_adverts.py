"""ADVERT decoding: appdata fields, name rules, telemetry, roles, signatures (protocol §4.3, §7)."""

from __future__ import annotations

import struct

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from meshlens.wire import Advert, InvalidPayload, Packet, decode_packet
from meshlens.wire.encode import advert_payload, appdata, encode_frame
from meshlens.wire.json import payload_json

PUBKEY = bytes(range(32))
TIMESTAMP = struct.pack("<I", 1774314764)
SIGNATURE = b"\x5a" * 64
KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))


def _advert(app: bytes, *, validate: bool = False) -> Packet:
    frame = b"\x11\x00" + PUBKEY + TIMESTAMP + SIGNATURE + app
    return decode_packet(frame, validate_signatures=validate)


def _fields(app: bytes) -> Advert:
    advert = _advert(app).advert
    assert advert is not None
    return advert


def test_advert_under_100_bytes_is_too_short() -> None:
    frame = b"\x11\x00" + bytes(99)
    packet = decode_packet(frame)
    assert packet.payload == InvalidPayload("too short for advert", bytes(99))
    assert packet.advert is None
    assert payload_json(packet) == {
        "type": "ADVERT",
        "raw": "00" * 99,
        "error": "too short for advert",
    }


def test_advert_without_appdata_is_a_companion_without_flags() -> None:
    advert = _fields(b"")
    assert (advert.flags, advert.role, advert.name, advert.lat) == (None, "companion", "", None)
    assert advert.public_key == PUBKEY.hex()
    assert advert.timestamp == 1774314764
    assert payload_json(_advert(b"")) == {
        "type": "ADVERT", "pubKey": PUBKEY.hex(), "timestamp": 1774314764,
        "timestampISO": "2026-03-24T01:12:44.000Z", "signature": SIGNATURE.hex(),
    }  # fmt: skip


def test_location_features_and_name() -> None:
    app = bytes.fromhex("F240933402E0E6B8F801000200") + b"Peak"
    advert = _fields(app)
    assert (advert.lat, advert.lon) == (37.0, -122.1)
    assert (advert.feat1, advert.feat2, advert.name, advert.role) == (1, 2, "Peak", "repeater")
    flags = payload_json(_advert(app))["flags"]
    assert flags == {
        "raw": 0xF2, "type": 2, "chat": False, "repeater": True, "room": False, "sensor": False,
        "hasLocation": True, "hasFeat1": True, "hasFeat2": True, "hasName": True,
    }  # fmt: skip


def test_location_flag_without_eight_bytes_reads_nothing_and_consumes_nothing() -> None:
    advert = _fields(b"\x91" + b"Bob")
    assert (advert.lat, advert.lon, advert.name) == (None, None, "Bob")


def test_zero_position_and_zero_features_are_still_reported() -> None:
    out = payload_json(_advert(bytes.fromhex("3200000000000000000000")))
    assert (out["lat"], out["lon"], out["feat1"]) == (0.0, 0.0, 0)
    assert "name" not in out


def test_name_ends_at_nul() -> None:
    assert _fields(b"\x82Bob\x00junk").name == "Bob"


def test_name_bytes_are_decoded_like_go() -> None:
    # D9 E9 AD: three U+FFFD in Go (one per bad byte); Python's 'replace' would give two.
    assert _fields(b"\x82A\xd9\xe9\xadS").name == "A\ufffd\ufffd\ufffdS"
    assert _fields(b"\x82\xed\xa0\x80").name == "\ufffd" * 3  # a surrogate is invalid UTF-8


def test_name_loses_control_characters_but_keeps_tab_and_newline() -> None:
    assert _fields(b"\x82a\x01b\tc\nd\x7fe\x1b").name == "ab\tc\nde"


def test_name_keeps_surrounding_spaces() -> None:
    assert _fields(b"\x82 Summit ").name == " Summit "


def test_name_is_cut_to_32_bytes_and_a_split_character_becomes_replacements() -> None:
    assert _fields(b"\x82" + "ä".encode() * 20).name == "ä" * 16
    assert _fields(b"\x82abc" + "😀".encode() * 8).name == "abc" + "😀" * 7 + "\ufffd"
    # The U+FFFD of a bad byte is 3 bytes long and counts toward the 32.
    assert _fields(b"\x82" + b"\xff" * 12).name == "\ufffd" * 10 + "\ufffd\ufffd"


@pytest.mark.parametrize(
    ("flags", "role"),
    [(0x00, "none"), (0x01, "companion"), (0x02, "repeater"), (0x03, "room"), (0x04, "sensor"),
     (0x05, "type-5"), (0x0F, "type-15")],
)  # fmt: skip
def test_role_labels(flags: int, role: str) -> None:
    assert _fields(bytes((flags,))).role == role


def test_sensor_telemetry_after_name_and_padding() -> None:
    advert = _fields(b"\x84Sensor1\x00\x00" + bytes.fromhex("740E220B"))
    assert (advert.battery_mv, advert.temperature_c) == (3700, 28.5)
    out = payload_json(_advert(b"\x84Sensor1\x00\x00" + bytes.fromhex("740E220B")))
    assert list(out)[-3:] == ["name", "battery_mv", "temperature_c"]


@pytest.mark.parametrize(
    ("trailer", "battery", "temperature"),
    [("0100" "2C01", 1, 3.0), ("1127" "1027", None, 100.0), ("1027" "1127", 10000, None),
     ("FFFF" "78EC", None, -50.0), ("0000" "77EC", None, None)],
)  # fmt: skip
def test_sensor_telemetry_plausibility_limits(
    trailer: str, battery: int | None, temperature: float | None
) -> None:
    advert = _fields(b"\x84S\x00" + bytes.fromhex(trailer))
    assert (advert.battery_mv, advert.temperature_c) == (battery, temperature)


def test_telemetry_is_only_read_for_sensors() -> None:
    advert = _fields(b"\x82R\x00" + bytes.fromhex("740E220B"))
    assert (advert.battery_mv, advert.temperature_c) == (None, None)


def test_signature_is_checked_over_key_timestamp_and_appdata() -> None:
    app = appdata(advert_type=2, lat=37.0, lon=-122.1, name="MRR2-R")
    payload = advert_payload(KEY, timestamp=1774314764, appdata=app)
    frame = encode_frame(route_type=1, payload_type=4, payload=payload)
    good = decode_packet(frame).advert
    assert good is not None and good.signature_valid is True
    tampered = decode_packet(frame[:-1] + b"X").advert
    assert tampered is not None and tampered.signature_valid is False
    unchecked = decode_packet(frame, validate_signatures=False).advert
    assert unchecked is not None and unchecked.signature_valid is None
    assert "signatureValid" not in payload_json(decode_packet(frame, validate_signatures=False))


@pytest.mark.parametrize("pubkey", [bytes(32), b"\xff" * 32, bytes(range(32))])
def test_signature_check_of_a_nonsense_key_is_false_not_an_error(pubkey: bytes) -> None:
    frame = b"\x11\x00" + pubkey + TIMESTAMP + SIGNATURE + b"\x81"
    advert = decode_packet(frame).advert
    assert advert is not None and advert.signature_valid is False


def test_signed_bytes_round_trip() -> None:
    advert = _fields(b"\x82Bob")
    assert advert.signed_bytes == PUBKEY + TIMESTAMP + b"\x82Bob"
    assert advert.public_key_bytes == PUBKEY
