"""The fast constructor builds ordinary frozen dataclass instances."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pytest

from meshlens.frozen import constructor
from meshlens.wire import Packet, decode_hex


@dataclass(frozen=True, slots=True)
class _Point:
    x: int
    y: str


def test_built_instances_equal_normal_ones_and_stay_frozen() -> None:
    point = constructor(_Point)(1, "a")
    assert type(point) is _Point
    assert point == _Point(1, "a")
    assert hash(point) == hash(_Point(1, "a"))
    assert dataclasses.replace(point, x=2) == _Point(2, "a")
    with pytest.raises(dataclasses.FrozenInstanceError):
        point.x = 3  # type: ignore[misc]


def test_decoded_packets_are_real_packets() -> None:
    packet = decode_hex("0D04B891647EBB40BA70")
    assert type(packet) is Packet
    assert packet == Packet(**{f.name: getattr(packet, f.name) for f in dataclasses.fields(Packet)})


def test_only_slots_dataclasses_with_init_fields_are_accepted() -> None:
    @dataclass(frozen=True)
    class NoSlots:
        x: int

    @dataclass(frozen=True, slots=True)
    class Derived:
        x: int
        y: int = dataclasses.field(init=False, default=0)

    with pytest.raises(TypeError):
        constructor(NoSlots)
    with pytest.raises(TypeError):
        constructor(Derived)
