"""Region scopes: region keys, transport codes and scope names (protocol §8)."""

from __future__ import annotations

import pytest

from meshlens.wire import Region, RegionKeys, decode_packet
from meshlens.wire.crypto import transport_code
from meshlens.wire.encode import encode_frame, transport_codes

HELLO = b"hello"


def test_region_key_is_sha256_of_the_hashtag_name() -> None:
    assert Region.named("belgium").key.hex() == "7085b78ed010599094f8c8e7d1aa0e27"
    assert Region.named("#belgium").name == "#belgium"


@pytest.mark.parametrize(("name", "code"), [("#test", "2AB5"), ("#belgium", "4A75")])
def test_transport_code_vectors(name: str, code: str) -> None:
    assert Region.named(name).code_bytes(5, HELLO).hex().upper() == code


class _FixedDigest:
    """An HMAC stand-in that returns a chosen digest."""

    def __init__(self, first_two: bytes) -> None:
        self._digest = first_two + bytes(30)

    def digest(self, message: bytes) -> bytes:
        return self._digest


@pytest.mark.parametrize(
    ("digest", "code"), [(b"\x00\x00", 0x0001), (b"\xff\xff", 0xFFFE), (b"\x34\x12", 0x1234)]
)
def test_reserved_codes_are_moved_off_0000_and_ffff(digest: bytes, code: int) -> None:
    assert transport_code(_FixedDigest(digest), 5, HELLO) == code  # type: ignore[arg-type]


def test_from_names_trims_adds_hash_and_drops_duplicates_and_blanks() -> None:
    regions = RegionKeys.from_names([" test ", "#test", "", "#", "belgium"])
    assert [r.name for r in regions.regions] == ["#test", "#belgium"]


def test_from_hex_warns_about_bad_keys() -> None:
    regions, warnings = RegionKeys.from_hex({"#a": "00" * 16, "#b": "xyz", "#c": "00"})
    assert [r.name for r in regions.regions] == ["#a"]
    assert len(warnings) == 2


def _scoped(region: Region, payload_type: int = 5, payload: bytes = HELLO) -> bytes:
    return encode_frame(
        route_type=0,
        payload_type=payload_type,
        payload=payload,
        transport_codes=transport_codes(region, payload_type, payload),
    )


def test_scope_name_is_the_first_matching_region() -> None:
    regions = RegionKeys.from_names(["#belgium", "#test"])
    assert decode_packet(_scoped(Region.named("#test")), regions=regions).scope_name == "#test"


def test_scope_name_is_empty_for_an_unknown_region() -> None:
    regions = RegionKeys.from_names(["#belgium"])
    packet = decode_packet(_scoped(Region.named("#test")), regions=regions)
    assert packet.scope_name == ""
    assert packet.is_transport_scoped


def test_scope_covers_payload_type_and_payload_only() -> None:
    frame = bytearray(_scoped(Region.named("#test")))
    frame[0] |= 0xC0  # another payload version
    regions = RegionKeys.from_names(["#test"])
    assert decode_packet(bytes(frame), regions=regions).scope_name == "#test"
    other_type = encode_frame(
        route_type=3, payload_type=6, payload=HELLO, transport_codes=bytes(frame[1:5])
    )
    assert decode_packet(other_type, regions=regions).scope_name == ""
