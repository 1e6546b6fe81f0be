"""The encoder: decode(encode(x)) == x for every payload type, and frames re-encode exactly."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meshlens.wire import (
    ChannelKey,
    ChannelKeys,
    Control,
    Multipart,
    Payload,
    Region,
    RegionKeys,
    Trace,
    decode_packet,
)
from meshlens.wire.crypto import derived_key
from meshlens.wire.encode import (
    ack_payload,
    discover_request_payload,
    discover_response_payload,
    encode_frame,
    encode_packet,
    encode_payload,
    group_data_payload,
    group_text_payload,
    multipart_payload,
    snr_byte,
    transport_codes,
)
from tests.wire.strategies import (
    HASHTAGS,
    PLAIN_RECORDS,
    Route,
    advert_bytes,
    advert_inputs,
    frame,
    relaxed,
    routes,
    traces,
    u16,
    u32,
    valid_frames,
)


@relaxed(300)
@given(valid_frames())
def test_every_valid_frame_re_encodes_byte_for_byte(raw: bytes) -> None:
    assert encode_packet(decode_packet(raw, validate_signatures=False)) == raw


@st.composite
def _plain(draw: st.DrawFn) -> tuple[int, Payload, Route]:
    payload_type = draw(st.sampled_from(sorted(PLAIN_RECORDS)))
    return payload_type, draw(PLAIN_RECORDS[payload_type]), draw(routes())


@given(_plain())
def test_plain_payload_records_round_trip(case: tuple[int, Payload, Route]) -> None:
    payload_type, record, route = case
    assert decode_packet(frame(route, payload_type, encode_payload(record))).payload == record


@given(traces())
def test_trace_records_round_trip_with_their_snr_bytes(case: tuple[Trace, bytes]) -> None:
    record, snr = case
    raw = encode_frame(route_type=2, payload_type=9, payload=encode_payload(record), path=snr)
    assert decode_packet(raw).payload == record


@relaxed(50)
@given(advert_inputs(), routes())
def test_adverts_round_trip(inputs: dict[str, object], route: Route) -> None:
    advert = decode_packet(frame(route, 4, advert_bytes(inputs))).advert
    assert advert is not None
    assert advert.signature_valid is True
    assert advert.timestamp == inputs["timestamp"]
    assert (advert.lat, advert.lon) == (inputs["lat"], inputs["lon"])
    assert (advert.feat1, advert.feat2, advert.name) == (
        inputs["feat1"], inputs["feat2"], inputs["name"],
    )  # fmt: skip
    assert advert.flags is not None and advert.flags & 0x0F == inputs["advert_type"]


# Printable text: no controls, no U+FFFD (both count against a decrypted text, §4.4).
_printable = st.characters(codec="utf-8", min_codepoint=0x20, exclude_characters="\ufffd")
_senders = st.text(
    st.characters(codec="utf-8", min_codepoint=0x20, exclude_characters=":[]\ufffd"), max_size=12
)
# At most 4 UTF-8 bytes a character: 12 + 2 + 30 characters are at most 170 bytes, inside
# the 171 a group text can carry (184-byte payload: hash, MAC, 11 blocks of 16 bytes less
# the timestamp and flags). Longer texts cannot make a frame.
_messages = st.text(_printable, min_size=1, max_size=30).filter(lambda t: ": " not in t)


@relaxed()
@given(st.sampled_from(HASHTAGS), u32, _senders, _messages)
def test_group_texts_round_trip(channel: str, timestamp: int, sender: str, message: str) -> None:
    text = f"{sender}: {message}" if sender else message
    payload = group_text_payload(derived_key(channel), timestamp=timestamp, text=text)
    keys = ChannelKeys([ChannelKey.hashtag(channel)])
    decoded = decode_packet(encode_frame(route_type=1, payload_type=5, payload=payload), keys)
    message_record = decoded.channel_message
    assert message_record is not None
    assert (message_record.decryption_status, message_record.channel) == ("decrypted", channel)
    assert (message_record.sender, message_record.text) == (sender, text)
    assert message_record.sender_timestamp == timestamp


@relaxed()
@given(st.sampled_from(HASHTAGS), u16, st.binary(max_size=100))
def test_group_data_round_trips(channel: str, data_type: int, blob: bytes) -> None:
    payload = group_data_payload(derived_key(channel), data_type=data_type, blob=blob)
    keys = ChannelKeys([ChannelKey.hashtag(channel)])
    message = decode_packet(b"\x19\x00" + payload, keys).channel_message
    assert message is not None and message.is_data
    assert (message.data_type, message.data_len, message.blob) == (data_type, len(blob), blob)


@relaxed()
@given(
    st.sampled_from(("#test", "#belgium", "#ottawa")), st.integers(0, 15), st.binary(max_size=50)
)
def test_transport_codes_from_a_region_match_that_region(
    name: str, payload_type: int, payload: bytes
) -> None:
    region = Region.named(name)
    raw = encode_frame(
        route_type=0,
        payload_type=payload_type,
        payload=payload,
        transport_codes=transport_codes(region, payload_type, payload),
    )
    decoy = Region.named("#nowhere")
    regions = RegionKeys((decoy, region))
    # Codes are 16 bits, so another region can share one; the first configured wins (§8).
    collides = decoy.code(payload_type, payload) == region.code(payload_type, payload)
    expected = decoy.name if collides else name
    assert decode_packet(raw, validate_signatures=False, regions=regions).scope_name == expected


@given(st.integers(0, 255), u32, st.none() | u32, st.booleans())
def test_discovery_requests_round_trip(
    filter_types: int, tag: int, since: int | None, prefix_only: bool
) -> None:
    body = discover_request_payload(
        filter_types=filter_types, tag=tag, since=since, prefix_only=prefix_only
    )
    decoded = decode_packet(b"\x2e\x00" + body).payload
    assert decoded == Control(body, "DISCOVER_REQ", filter_types, tag, since, None, None, None)


@given(st.integers(0, 15), st.integers(-128, 127), u32, st.sampled_from((8, 32)), st.data())
def test_discovery_responses_round_trip(
    node_type: int, snr_raw: int, tag: int, key_size: int, data: st.DataObject
) -> None:
    key = data.draw(st.binary(min_size=key_size, max_size=key_size))
    body = discover_response_payload(node_type=node_type, snr_raw=snr_raw, tag=tag, public_key=key)
    decoded = decode_packet(b"\x2e\x00" + body).payload
    assert decoded == Control(body, "DISCOVER_RESP", None, tag, None, node_type, snr_raw, key)


def test_discovery_builders() -> None:
    body = discover_request_payload(filter_types=4, tag=7, since=9, prefix_only=True)
    assert body[0] == 0x81
    request = decode_packet(b"\x2e\x00" + body).payload
    assert request == Control(body, "DISCOVER_REQ", 4, 7, 9, None, None, None)
    key = bytes(range(32))
    body = discover_response_payload(node_type=2, snr_raw=-36, tag=5, public_key=key)
    response = decode_packet(b"\x2e\x00" + body).payload
    assert response == Control(body, "DISCOVER_RESP", None, 5, None, 2, -36, key)


def test_multipart_and_ack_builders() -> None:
    part = decode_packet(b"\x2a\x00" + multipart_payload(remaining=2, inner_type=3, inner=b"abcd"))
    assert part.payload == Multipart(2, 3, b"abcd")
    assert ack_payload(0x70BA40BB) == bytes.fromhex("BB40BA70")
    assert ack_payload(1, 2, 3) == bytes.fromhex("010000000203")
    with pytest.raises(ValueError, match="attempt"):
        ack_payload(1, None, 3)


@pytest.mark.parametrize(
    ("snr_db", "byte"),
    [(11.75, 0x2F), (-2.0, 0xF8), (12.0, 0x30), (-0.3, 0xFF), (99, 0x7F), (-99, 0x80)],
)
def test_snr_byte_is_int8_of_quarter_db(snr_db: float, byte: int) -> None:
    assert snr_byte(snr_db) == byte


@pytest.mark.parametrize(
    "kwargs",
    [
        {"route_type": 1, "payload_type": 2, "payload": b"", "path": b"\x01\x02\x03",
         "hash_size": 2},
        {"route_type": 1, "payload_type": 2, "payload": b"", "path": bytes(66), "hash_size": 2},
        {"route_type": 1, "payload_type": 2, "payload": b"", "hash_size": 4},
        {"route_type": 1, "payload_type": 2, "payload": bytes(185)},
        {"route_type": 0, "payload_type": 2, "payload": b""},
        {"route_type": 1, "payload_type": 2, "payload": b"", "transport_codes": bytes(4)},
    ],
)  # fmt: skip
def test_encode_frame_refuses_what_cannot_be_a_frame(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        encode_frame(**kwargs)  # type: ignore[arg-type]
