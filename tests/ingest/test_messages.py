"""Reading meshcoretomqtt messages: topics, coercion (§2.4) and hostile payloads."""

from __future__ import annotations

import math

import pytest

from meshlens.errors import InputError
from meshlens.ingest.messages import (
    coerce_number,
    envelope_time_ms,
    first_number,
    json_object,
    parse_topic,
    read_packet_message,
)


def test_topic_parts() -> None:
    t = parse_topic("meshcore/sea /ABCDEF/packets")
    assert (t.region, t.observer_id, t.kind) == ("SEA", "ABCDEF", "packets")
    assert (t.raw_region, t.where) == ("sea ", "topic meshcore/sea /ABCDEF/packets")
    short = parse_topic("meshcore")
    assert (short.region, short.observer_id, short.kind, short.raw_region) == ("", "", "", "")


def test_a_topic_is_split_once_and_the_cache_stays_bounded() -> None:
    assert parse_topic("meshcore/SEA/O1/packets") is parse_topic("meshcore/SEA/O1/packets")
    for i in range(5000):  # a flood of made-up topics
        parse_topic(f"meshcore/SEA/flood{i}/packets")
    assert parse_topic.cache_info().currsize <= 4096


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (5, 5.0),
        (-7.25, -7.25),
        ("12", 12.0),
        (" -101 dBm ", -101.0),
        ("7.5dB", 7.5),
        ("3km", 3.0),
        ("1_000", 1000.0),
        ("0x1p-2", 0.25),
        ("Inf", math.inf),
        (True, None),  # booleans are not numbers
        (None, None),
        ("abc", None),
        ("", None),
        ([1], None),
    ],
)
def test_numeric_coercion(value: object, expected: float | None) -> None:
    assert coerce_number(value) == expected


def test_a_present_key_never_falls_through_to_its_alternate() -> None:
    assert first_number({"SNR": None, "snr": 5}, "SNR", "snr") is None
    assert first_number({"snr": "6"}, "SNR", "snr") == 6.0
    assert first_number({"SNR": "NaN"}, "SNR") is None
    assert first_number({"RSSI": "-Infinity"}, "RSSI") is None


def test_packet_message_fields_and_region_override() -> None:
    topic = parse_topic("meshcore/SEA/OBS1/packets")
    s = read_packet_message(
        topic,
        {"raw": "11 00 AB", "SNR": "9", "RSSI": "-88", "origin": "Roof", "region": "pdx",
         "score": "1000", "direction": "rx"},
        received_at_ms=42,
    )  # fmt: skip
    assert s.raw == b"\x11\x00\xab" and s.observer_id == "OBS1" and s.observer_name == "Roof"
    assert (s.snr_db, s.rssi_dbm, s.score, s.region) == (9.0, -88.0, 1000, "PDX")
    assert s.received_at_ms == 42 and s.where == "topic meshcore/SEA/OBS1/packets"


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ({}, "missing_raw"),
        ({"raw": 17}, "bad_raw"),
        ({"raw": "zz"}, "bad_hex"),
        ({"raw": "00" * 300}, "oversized"),
    ],
)
def test_bad_packet_messages_say_why(payload: dict[str, object], reason: str) -> None:
    with pytest.raises(InputError) as err:
        read_packet_message(parse_topic("meshcore/SEA/O/packets"), payload, received_at_ms=0)
    assert err.value.reason == reason and "meshcore/SEA/O/packets" in str(err.value)


def test_json_bodies() -> None:
    assert json_object(b'{"a": 1}', "w") == {"a": 1}
    with pytest.raises(InputError, match="bad_json"):
        json_object(b"{nope", "w")
    with pytest.raises(InputError, match="not_an_object"):
        json_object(b"[1]", "w")
    # Lone surrogates appear in real captures; they become U+FFFD instead of failing.
    assert json_object(b'{"n": "a\\udc90b"}', "w") == {"n": "a\ufffdb"}


def test_envelope_timestamps_with_and_without_zone() -> None:
    assert envelope_time_ms({"timestamp": "2026-01-01T00:00:00+00:00"}) == (
        1_767_225_600_000,
        False,
    )
    assert envelope_time_ms({"timestamp": "2026-01-01T00:00:00.5"}) == (1_767_225_600_500, True)
    assert envelope_time_ms({"timestamp": "soon"}) is None
