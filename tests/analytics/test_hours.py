"""Hour numbers and their keys: integer division must agree with the ISO string rule."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from meshlens.analytics.hours import HOUR_MS, dense_codes, hour_label, hours_of
from meshlens.times import hour_key, iso_millis

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z


@given(st.integers(0, 253_402_300_799_000))  # up to 9999-12-31T23:59:59Z
def test_hour_number_gives_the_first_13_characters_of_the_iso_time(ms: int) -> None:
    hour = int(hours_of(np.array([ms], np.int64))[0])
    assert hour_label(hour) == iso_millis(ms)[:13] == hour_key(ms)


def test_hours_floor_before_1970() -> None:
    assert hours_of(np.array([-1, 0, HOUR_MS - 1, HOUR_MS], np.int64)).tolist() == [-1, 0, 0, 1]


def test_dense_codes_offset_from_the_minimum() -> None:
    codes, keys = dense_codes(np.array([5, 3, 5, 4], np.int64))
    assert codes.tolist() == [2, 0, 2, 1] and keys.tolist() == [3, 4, 5]


def test_dense_codes_fall_back_to_unique_for_a_huge_span() -> None:
    values = np.array([10, 10_000_000_000, 10], np.int64)
    codes, keys = dense_codes(values)
    assert keys.tolist() == [10, 10_000_000_000] and codes.tolist() == [0, 1, 0]


def test_dense_codes_of_nothing() -> None:
    codes, keys = dense_codes(np.empty(0, np.int64))
    assert codes.size == 0 and keys.size == 0
