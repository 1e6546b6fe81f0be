"""JSON shapes of the reference: field order, omission rules, Go text encoding (protocol §4.13)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given

from meshlens.wire import ChannelKey, ChannelKeys, decode_hex, decode_packet
from meshlens.wire.json import (
    decoded_json_text,
    go_json,
    packet_json,
    path_json_text,
    payload_json,
)
from tests.wire.strategies import HASHTAGS, relaxed, valid_frames

STRUCT_ORDER = (
    "type",
    "destHash",
    "srcHash",
    "mac",
    "encryptedData",
    "extraHash",
    "ackLen",
    "ackAttempt",
    "ackRand",
    "pubKey",
    "timestamp",
    "timestampISO",
    "signature",
    "signatureValid",
    "flags",
    "lat",
    "lon",
    "name",
    "feat1",
    "feat2",
    "battery_mv",
    "temperature_c",
    "channelHash",
    "channelHashHex",
    "decryptionStatus",
    "channel",
    "dataType",
    "dataLen",
    "decryptedBlob",
    "text",
    "sender",
    "sender_timestamp",
    "ephemeralPubKey",
    "pathData",
    "snrValues",
    "tag",
    "authCode",
    "traceFlags",
    "raw",
    "error",
    "remaining",
    "innerType",
    "innerTypeName",
    "innerAckCrc",
    "innerAckLen",
    "innerAckAttempt",
    "innerAckRand",
    "innerPayload",
    "ctrlFlags",
    "ctrlZeroHop",
    "ctrlLength",
    "ctrlSubtype",
    "ctrlFilter",
    "ctrlTag",
    "ctrlSince",
    "ctrlNodeType",
    "ctrlSNR",
    "ctrlPubKey",
    "rawLength",
    "firstByteTag",
)
KEYS = ChannelKeys(ChannelKey.hashtag(name) for name in HASHTAGS)


@relaxed(300)
@given(valid_frames())
def test_payload_fields_follow_struct_order(frame: bytes) -> None:
    payload = payload_json(decode_packet(frame, KEYS))
    assert list(payload) == sorted(payload, key=STRUCT_ORDER.index)
    assert all(value not in ("", [], None) for value in payload.values())


@relaxed()
@given(valid_frames())
def test_go_text_parses_back_to_the_same_object(frame: bytes) -> None:
    packet = decode_packet(frame, KEYS)
    assert json.loads(decoded_json_text(packet)) == payload_json(packet)
    assert json.loads(path_json_text(packet)) == list(packet.path_hops)


@pytest.mark.parametrize(
    ("value", "text"),
    [(37.0, "37"), (-122.1, "-122.1"), (0.000005, "0.000005"), (1e-7, "1e-7"), (1e21, "1e+21"),
     (2.0**60, "1152921504606847000"), (1.5e300, "1.5e+300"), (-0.0, "-0"), (28.5, "28.5"),
     (3, "3"), (True, "true"), (None, "null")],
)  # fmt: skip
def test_go_numbers(value: float | None, text: str) -> None:
    assert go_json(value) == text


def test_go_strings_escape_html_and_line_separators() -> None:
    assert go_json("<a&b>\u2028\u2029") == '"\\u003ca\\u0026b\\u003e\\u2028\\u2029"'
    assert go_json('q"\\\n\t\x01é😀') == '"q\\"\\\\\\n\\t\\u0001é😀"'
    assert go_json({"b": [1, 2.5], "a": {}}) == '{"b":[1,2.5],"a":{}}'


def test_decoded_json_text_of_an_advert() -> None:
    packet = decode_hex(
        "120046D62DE27D4C5194D7821FC5A34A45565DCC2537B300B9AB6275255CEFB65D840CE5C169C94C9AED39E8B"
        "CB6CB6EB0335497A198B33A1A610CD3B03D8DCFC160900E5244280323EE0B44CACAB8F02B5B38B91CFA18BD0"
        "67B0B5E63E94CFC85F758A8530B9240933402E0E6B8F84D5252322D52"
    )
    text = decoded_json_text(packet)
    assert '"lat":37,"lon":-122.1,"name":"MRR2-R"}' in text
    assert text.startswith('{"type":"ADVERT","pubKey":"46d62de2')


def test_packet_json_shape() -> None:
    out = packet_json(decode_hex("0D04B891647EBB40BA70"))
    assert out == {
        "header": {"routeType": 1, "routeTypeName": "FLOOD", "payloadType": 3,
                   "payloadTypeName": "ACK", "payloadVersion": 0},
        "transportCodes": None,
        "path": {"hashSize": 1, "hashCount": 4, "hops": ["B8", "91", "64", "7E"]},
        "payload": {"type": "ACK", "extraHash": "70ba40bb", "ackLen": 4},
        "raw": "0D04B891647EBB40BA70",
    }  # fmt: skip
