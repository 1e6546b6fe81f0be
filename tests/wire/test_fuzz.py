"""Hostile input: whatever the bytes, the decoder raises DecodeError or nothing."""

from __future__ import annotations

import contextlib

from hypothesis import example, given
from hypothesis import strategies as st

from meshlens.errors import DecodeError
from meshlens.wire import (
    ChannelKey,
    ChannelKeys,
    Packet,
    RegionKeys,
    decode_hex,
    decode_packet,
    peek_frame,
)
from tests.wire.strategies import HASHTAGS, relaxed, valid_frames

KEYS = ChannelKeys.public().with_keys(ChannelKey.hashtag(name) for name in HASHTAGS)
REGIONS = RegionKeys.from_names(["#test", "#belgium"])


def _decode_or_none(raw: bytes) -> Packet | None:
    try:
        return decode_packet(raw, KEYS, regions=REGIONS)
    except DecodeError:
        return None


def _agrees_with_peek(raw: bytes) -> None:
    packet = _decode_or_none(raw)
    try:
        identity = peek_frame(raw)
    except DecodeError:
        assert packet is None, "peek_frame raised where decode_packet did not"
        return
    assert packet is not None, "decode_packet raised where peek_frame did not"
    assert identity.content_hash == packet.content_hash
    assert (identity.route_type, identity.payload_type) == (packet.route_type, packet.payload_type)
    assert (identity.path_byte, identity.hash_size) == (packet.path_byte, packet.hash_size)
    assert identity.hops == packet.path_hops
    assert identity.path_hop_width == packet.path_hop_width


@relaxed(500)
@given(st.binary(max_size=260))
@example(b"")
@example(b"\x00")
@example(b"\x14\x00\x00\x00\x00")
@example(b"\x26\x00" + bytes(9))
def test_arbitrary_bytes_raise_only_decode_error(raw: bytes) -> None:
    _agrees_with_peek(raw)


@relaxed(300)
@given(st.integers(0, 255), st.integers(0, 255), st.binary(max_size=200))
def test_every_header_and_path_byte_raise_only_decode_error(
    header: int, path_byte: int, rest: bytes
) -> None:
    _agrees_with_peek(bytes((header, path_byte)) + rest)


@relaxed(300)
@given(valid_frames(), st.data())
def test_corrupted_frames_raise_only_decode_error(raw: bytes, data: st.DataObject) -> None:
    frame = bytearray(raw)
    for _ in range(data.draw(st.integers(1, 4))):
        if not frame:
            break
        at = data.draw(st.integers(0, len(frame) - 1))
        frame[at] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(frame)))
    _agrees_with_peek(bytes(frame[:cut]))


@relaxed(300)
@given(st.text(max_size=80))
@example("0A 00\tD6")
@example("١٢")
def test_arbitrary_text_raises_only_decode_error(text: str) -> None:
    with contextlib.suppress(DecodeError):
        decode_hex(text, KEYS)


@relaxed(200)
@given(st.binary(max_size=120))
def test_arbitrary_hex_spellings_decode_like_their_bytes(raw: bytes) -> None:
    spaced = " ".join(f"{b:02x}" for b in raw) + "\r\n"
    expected = _decode_or_none(raw)
    try:
        assert decode_hex(spaced, KEYS, regions=REGIONS) == expected
    except DecodeError:
        assert expected is None
