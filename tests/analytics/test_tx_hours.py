"""Distinct (transmission, hour) pairs: the marked table must agree with a plain set."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from meshlens.analytics.tx_hours import NEAR_HOURS, distinct_tx_hours


def _pairs(
    tx: list[int], hours: list[int], first_hour: list[int], *, slice_rows: int = 1 << 16
) -> list[int]:
    got = distinct_tx_hours(
        np.array(tx, np.int32),
        np.array(hours, np.int64),
        np.array(first_hour, np.int64),
        slice_rows=slice_rows,
    )
    return sorted(got.tolist())


def test_each_hour_a_transmission_was_heard_in_counts_once() -> None:
    # tx0 in hours 100, 100, 101 and again 1000 hours later; tx1 at 200 twice; tx2 at 300, 303.
    tx = [0, 0, 1, 0, 2, 1, 0, 2]
    hours = [100, 100, 200, 101, 300, 200, 1100, 303]
    assert _pairs(tx, hours, [100, 200, 300]) == [100, 101, 200, 300, 303, 1100]


def test_offsets_just_past_the_table_and_before_first_seen_are_counted() -> None:
    # tx0 heard at its last marked offset, the first far one (twice) and an hour early.
    tx = [0, 0, 0, 0, 1]
    hours = [10 + NEAR_HOURS - 1, 10 + NEAR_HOURS, 10 + NEAR_HOURS, 9, 9]
    assert _pairs(tx, hours, [10, 5]) == sorted([10 + NEAR_HOURS - 1, 10 + NEAR_HOURS, 9, 9])


def test_no_observations() -> None:
    assert _pairs([], [], [1, 2]) == []


@given(
    st.lists(st.integers(-1_000, 10**6), min_size=1, max_size=6).flatmap(
        lambda first: st.tuples(
            st.just(first),
            st.lists(
                st.tuples(
                    st.integers(0, len(first) - 1),
                    st.one_of(st.integers(-3, NEAR_HOURS + 3), st.integers(-(10**7), 10**7)),
                ),
                max_size=40,
            ),
        )
    ),
    st.integers(1, 5),
)
def test_pairs_match_a_set_of_tuples(
    case: tuple[list[int], list[tuple[int, int]]], slice_rows: int
) -> None:
    first_hour, sightings = case
    tx = [t for t, _ in sightings]
    hours = [first_hour[t] + offset for t, offset in sightings]
    want = sorted(h for _, h in {(t, h) for t, h in zip(tx, hours, strict=True)})
    assert _pairs(tx, hours, first_hour, slice_rows=slice_rows) == want
