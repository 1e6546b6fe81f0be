"""Framing: header, transport codes, path-length byte, path, payload limits (protocol §3)."""

from __future__ import annotations

import hashlib
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meshlens.errors import DecodeError
from meshlens.wire import Datagram, Packet, decode_hex, decode_packet, parse_hex, peek_frame
from meshlens.wire.json import packet_json, path_json
from meshlens.wire.packet import replace_path
from tests.wire.strategies import Route, frame, routes

REQ_BODY = "AABB" + "CCDD" + "00" * 16  # dest AA, src BB, MAC CCDD, 16 bytes of ciphertext


def _decode(text: str) -> Packet:
    return decode_hex(text, validate_signatures=False)


def test_header_fields_come_from_their_bit_ranges() -> None:
    packet = _decode("C9" + "00" + REQ_BODY)  # 0b11_0010_01: version 3, TXT_MSG, FLOOD
    assert (packet.route_type, packet.payload_type, packet.payload_version) == (1, 2, 3)
    assert packet.route_type_name == "FLOOD"
    assert packet.payload_type_name == "TXT_MSG"


@pytest.mark.parametrize(
    ("path_byte", "hash_size", "hop_count"),
    [(0x00, 1, 0), (0x05, 1, 5), (0x45, 2, 5), (0x8A, 3, 10), (0x40, 2, 0), (0x83, 3, 3)],
)
def test_path_byte_splits_into_hop_count_and_hash_size(
    path_byte: int, hash_size: int, hop_count: int
) -> None:
    path = bytes(range(hash_size * hop_count))
    packet = decode_packet(bytes((0x05, path_byte)) + path + bytes.fromhex(REQ_BODY))
    assert (packet.hash_size, packet.hop_count, packet.header_path) == (hash_size, hop_count, path)
    assert len(packet.path_hops) == hop_count
    assert all(len(hop) == 2 * hash_size for hop in packet.path_hops)
    assert "".join(packet.path_hops) == path.hex().upper()


@pytest.mark.parametrize("path_byte", [0xC0, 0xC1, 0xFF])
def test_hash_size_four_is_invalid_even_without_hops(path_byte: int) -> None:
    with pytest.raises(DecodeError, match="invalid path encoding") as raised:
        decode_packet(bytes((0x05, path_byte)) + bytes(80))
    assert raised.value.offset == 1


@pytest.mark.parametrize(("path_byte", "valid"), [(0x3F, True), (0x60, True), (0x61, False),
                                                  (0x95, True), (0x96, False)])  # fmt: skip
def test_path_may_hold_at_most_64_bytes(path_byte: int, valid: bool) -> None:
    frame = bytes((0x05, path_byte)) + bytes(66) + bytes.fromhex(REQ_BODY)
    if valid:
        assert len(decode_packet(frame).header_path) <= 64
    else:
        with pytest.raises(DecodeError, match="invalid path encoding"):
            decode_packet(frame)


def test_decode_rejects_truncated_path() -> None:
    with pytest.raises(DecodeError, match="path exceeds buffer") as raised:
        _decode("0505AABBCC")
    assert raised.value.offset == 1


def test_a_path_that_ends_the_frame_leaves_an_empty_payload() -> None:
    packet = _decode("0503AABBCC")
    assert packet.path_hops == ("AA", "BB", "CC")
    assert packet.payload_bytes == b""


@pytest.mark.parametrize("text", ["", "05"])
def test_frames_under_two_bytes_are_rejected(text: str) -> None:
    with pytest.raises(DecodeError, match="packet too short"):
        _decode(text)


@pytest.mark.parametrize("text", ["1400", "14000000"])
def test_transport_routes_need_four_code_bytes(text: str) -> None:
    with pytest.raises(DecodeError, match="too short for transport codes"):
        _decode(text)


def test_transport_route_without_path_byte_is_rejected() -> None:
    with pytest.raises(DecodeError, match="missing path length") as raised:
        _decode("1400000000")
    assert raised.value.offset == 5


def test_transport_codes_are_wire_order_uppercase_hex() -> None:
    packet = _decode("0FFA1A0B0C00" + "A5")  # TRANSPORT_DIRECT RAW_CUSTOM
    assert packet.transport_codes == ("FA1A", "0B0C")
    assert packet_json(packet)["transportCodes"] == {"code1": "FA1A", "code2": "0B0C"}


def test_code1_zero_means_not_scoped_and_other_codes_without_regions_are_unknown() -> None:
    assert _decode("0F00000B0C00A5").scope_name is None
    assert _decode("0F01000B0C00A5").scope_name == ""
    assert _decode("3D00A5").scope_name is None  # DIRECT: no codes at all


def test_payload_of_184_bytes_is_accepted_and_185_rejected() -> None:
    assert len(decode_packet(b"\x3d\x00" + bytes(184)).payload_bytes) == 184
    with pytest.raises(DecodeError, match="payload exceeds 184") as raised:
        decode_packet(b"\x3d\x00" + bytes(185))
    assert raised.value.offset == 2


def test_hex_input_ignores_spaces_newlines_and_carriage_returns() -> None:
    assert parse_hex(" 0A 00\r\nd6 9F ") == bytes.fromhex("0A00D69F")
    assert parse_hex("0 A00") == bytes.fromhex("0A00")


@pytest.mark.parametrize(("text", "offset"), [("0A\t00", 1), ("0AZZ", 1), ("0A0", 1), ("é0", 0)])
def test_hex_input_rejects_tabs_bad_digits_and_odd_length(text: str, offset: int) -> None:
    with pytest.raises(DecodeError) as raised:
        parse_hex(text)
    assert raised.value.offset == offset


def test_zero_hop_direct_reports_hash_size_zero_but_flood_keeps_it() -> None:
    direct = _decode("0A40" + REQ_BODY)
    flood = _decode("0940" + REQ_BODY)
    assert direct.hash_size == flood.hash_size == 2
    assert path_json(direct) == {"hashSize": 0, "hashCount": 0, "hops": []}
    assert path_json(flood) == {"hashSize": 2, "hashCount": 0, "hops": []}


def test_content_hash_ignores_route_path_and_version() -> None:
    payload = bytes.fromhex(REQ_BODY)
    expected = hashlib.sha256(b"\x02" + payload).hexdigest()[:16]
    frames = ["0A00", "0902AABB", "C941AABB", "0B1234567800"]
    hashes = {_decode(head + REQ_BODY).content_hash for head in frames}
    assert hashes == {expected}


def test_trace_content_hash_includes_the_path_byte() -> None:
    assert _decode("2502AABBDEADBEEF").content_hash == "b1baaf3bf0d0726c"  # §6.1 golden
    assert _decode("2501AADEADBEEF").content_hash != "b1baaf3bf0d0726c"


def test_legacy_hash_covers_the_header_byte() -> None:
    packet = _decode("0A00" + REQ_BODY)
    payload = bytes.fromhex(REQ_BODY)
    assert packet.legacy_hash == hashlib.sha256(b"\x0a" + payload).hexdigest()[:16]


def test_payload_version_does_not_stop_decoding() -> None:
    packet = _decode("CA00" + REQ_BODY)
    assert packet.payload_version == 3
    assert packet.payload == Datagram(0xAA, 0xBB, b"\xcc\xdd", bytes(16))


def test_peek_frame_matches_decode() -> None:
    raw = parse_hex("15833FA002860CCAE0EED9CA78B9AB0775D477C1F6490A398BF4EDC75240")
    packet = decode_packet(raw)
    identity = peek_frame(raw)
    assert identity.content_hash == packet.content_hash
    assert (identity.route_type, identity.payload_type) == (1, 5)
    assert (identity.path_byte, identity.hash_size, identity.path_hop_width) == (0x83, 3, 3)
    assert identity.hops == packet.path_hops == ("3FA002", "860CCA", "E0EED9")


def test_peek_frame_reads_a_trace_route_like_path_json() -> None:
    raw = parse_hex("26022FF8116A23A80000000001C0DE1000DEDEAA")  # trailing partial hop dropped
    identity = peek_frame(raw)
    assert identity.hops == decode_packet(raw).path_hops == ("C0DE", "1000", "DEDE")
    assert identity.path_hop_width == 2


def test_peek_frame_reads_a_routeless_trace_header() -> None:
    raw = parse_hex("2602AABB" + "00" * 9)
    assert peek_frame(raw).hops == decode_packet(raw).path_hops == ("AA", "BB")


@given(routes(), routes(), st.binary(max_size=40))
def test_replace_path_equals_encoding_with_the_new_path(
    old: Route, new: Route, payload: bytes
) -> None:
    raw = frame(old, 2, payload)
    hops = [new.path[i : i + new.hash_size] for i in range(0, len(new.path), new.hash_size)]
    replaced = replace_path(raw, hops)
    # With no hops the frame keeps its own hash size.
    size = new.hash_size if hops else old.hash_size
    assert replaced == frame(replace(old, path=new.path, hash_size=size), 2, payload)
    assert peek_frame(replaced).content_hash == peek_frame(raw).content_hash


def test_replace_path_by_hand() -> None:
    raw = parse_hex("1542AABBCCDD0102")  # flood, two 2-byte hops, payload 0102
    assert replace_path(raw, [b"\x11", b"\x22", b"\x33"]).hex() == "1503112233" + "0102"
    assert replace_path(raw, []).hex() == "1540" + "0102"


@pytest.mark.parametrize(
    ("hops", "message"),
    [
        ([b"\x01", b"\x02\x03"], "mixed"),
        ([b"\x01\x02\x03\x04"], "unsupported"),
        ([b"\x01\x02"] * 33, "does not fit"),
    ],
)
def test_replace_path_rejects_paths_no_frame_can_carry(hops: list[bytes], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        replace_path(parse_hex("1500AA"), hops)


def test_replace_path_rejects_a_broken_frame_like_decode() -> None:
    with pytest.raises(DecodeError, match="path exceeds buffer"):
        replace_path(parse_hex("1505AA"), [b"\x01"])
