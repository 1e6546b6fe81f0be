"""Tallies: statistics from value counts must equal the same statistics over the samples."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from meshlens.analytics.stats import histogram, population_stddev, upper_median_of
from meshlens.analytics.tally import code, cross_stats, group_stats

quarters = st.lists(st.integers(-600, 200).map(lambda q: q / 4), min_size=1, max_size=60)
anything = st.lists(st.floats(-1e6, 1e6, width=32), min_size=1, max_size=60)
# Mostly on the grid, a few off it: the merged path.
mostly_quarters = st.tuples(quarters, st.lists(st.floats(-50, 50, width=32), max_size=3)).map(
    lambda parts: parts[0] * 4 + parts[1]
)
# Beyond the int32-exact range: never cast (infinities: see the coding test below).
extremes = st.lists(
    st.one_of(
        st.floats(width=32, allow_nan=False, allow_infinity=False),
        st.integers(-600, 200).map(lambda q: q / 4),
    ),
    min_size=1,
    max_size=40,
)
samples_strategy = st.one_of(quarters, mostly_quarters, anything, extremes)


def test_quarter_db_samples_code_onto_the_grid() -> None:
    coded = code(np.array([-7.25, 3.0, -7.25, 0.5], np.float32))
    assert coded.values.tolist() == [-7.25 + i / 4 for i in range(42)]
    assert coded.codes.tolist() == [0, 41, 0, 31]


def test_samples_off_the_grid_code_by_their_distinct_values() -> None:
    samples = np.array([7.2, -1.0, 7.2, np.inf], np.float32)
    coded = code(samples)
    assert coded.values.tolist() == [-1.0, float(np.float32(7.2)), np.inf]
    assert np.array_equal(coded.values[coded.codes], samples.astype(np.float64))


def test_a_few_off_grid_samples_merge_into_the_grid_table_in_order() -> None:
    samples = np.array([1.0, 7.2, 0.5, -3.1, 1.0, 1.0, 0.25, 0.75], np.float32)
    coded = code(samples)
    assert np.all(np.diff(coded.values) > 0)
    assert np.array_equal(coded.values[coded.codes], samples.astype(np.float64))
    assert coded.values.size == 4 + 2  # the grid 0.25..1.0, then -3.1 and 7.2 merged in


def test_codes_of_every_kind_of_sample_map_back_to_it() -> None:
    samples = np.array([3e38, -np.inf, 2.5, 1e7, -2.5, 2.5], np.float32)
    coded = code(samples)
    assert np.all(np.diff(coded.values) > 0)
    assert np.array_equal(coded.values[coded.codes], samples.astype(np.float64))


def test_no_samples() -> None:
    tally = code(np.empty(0, np.float32)).tally()
    assert tally.n == 0
    assert tally.summary() == {"avg": 0.0, "max": 0.0, "median": 0.0, "min": 0.0, "stddev": 0.0}
    assert tally.histogram(20) == {"bins": [], "min": 0, "max": 0}


@given(samples_strategy)
def test_summary_and_histogram_match_the_samples(values: list[float]) -> None:
    samples = np.array(values, np.float32)
    exact = samples.astype(np.float64)
    tally = code(samples).tally()
    got = tally.summary()
    avg = float(exact.mean())
    assert tally.n == samples.size
    assert got["min"] == exact.min() and got["max"] == exact.max()
    assert got["median"] == upper_median_of(exact)
    assert got["avg"] == pytest.approx(avg, rel=1e-9, abs=1e-9)
    assert got["stddev"] == pytest.approx(population_stddev(exact, avg), rel=1e-6, abs=1e-6)
    assert tally.histogram(20) == histogram(exact, 20)


@given(samples_strategy, st.data())
def test_group_stats_table_and_per_sample_paths_agree(
    values: list[float], data: st.DataObject
) -> None:
    samples = np.array(values, np.float32)
    groups = np.array(
        data.draw(st.lists(st.integers(0, 4), min_size=len(values), max_size=len(values))), np.int64
    )
    coded = code(samples)
    table = group_stats(groups, 5, coded)
    direct = group_stats(groups, 5, coded, table_cells=0)
    assert (
        table.counts.tolist() == direct.counts.tolist() == np.bincount(groups, minlength=5).tolist()
    )
    present = table.counts > 0
    assert np.array_equal(table.mins[present], direct.mins[present])
    assert np.array_equal(table.maxs[present], direct.maxs[present])
    assert np.allclose(table.sums, direct.sums, rtol=1e-9, atol=1e-6)
    for g in np.flatnonzero(present):
        mine = samples[groups == g].astype(np.float64)
        assert table.mins[g] == mine.min() and table.maxs[g] == mine.max()


def test_cross_stats_by_hour_and_by_type_by_hand() -> None:
    # Hours 10 and 11; types 0 and 1. Hour 10: 1.0 (type 0), 2.5 (type 1); hour 11: -0.5 (type 1).
    coded = code(np.array([1.0, 2.5, -0.5], np.float32))
    hours = np.array([10, 10, 11], np.int64)
    # The samples belong to transmission rows 1, 0, 0; row 0 has type 1 and row 1 type 0.
    types = (np.array([1, 0], np.uint8), np.array([1, 0, 0], np.int32))
    got = cross_stats(hours, (10, 12), types, coded)
    assert got is not None
    assert got.outer.counts.tolist() == [2, 1] and got.outer.sums.tolist() == [3.5, -0.5]
    assert got.outer.mins.tolist() == [1.0, -0.5] and got.outer.maxs.tolist() == [2.5, -0.5]
    assert got.inner.counts.tolist() == [1, 2] and got.inner.sums.tolist() == [1.0, 2.0]
    assert got.inner.mins.tolist() == [1.0, -0.5] and got.inner.maxs.tolist() == [1.0, 2.5]
    assert got.total.n == 3 and got.total.summary()["median"] == 1.0


def test_cross_stats_declines_a_table_past_the_limit() -> None:
    coded = code(np.array([1.0, 2.0], np.float32))  # 5 values: 1.0, 1.25, ... 2.0
    hours = np.array([0, 2], np.int64)
    types = (np.zeros(1, np.uint8), np.zeros(2, np.int32))
    assert cross_stats(hours, (0, 3), types, coded, table_cells=15) is not None
    assert cross_stats(hours, (0, 3), types, coded, table_cells=14) is None


@given(samples_strategy, st.data(), st.integers(1, 7))
def test_cross_stats_equal_group_stats_on_each_axis(
    values: list[float], data: st.DataObject, slice_rows: int
) -> None:
    samples = np.array(values, np.float32)
    n = len(values)
    outer = np.array(data.draw(st.lists(st.integers(-3, 3), min_size=n, max_size=n)), np.int64)
    row = np.array(data.draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)), np.int32)
    inner_of_row = np.array([0, 2, 1, 2], np.uint8)
    inner = inner_of_row[row]
    coded = code(samples)
    got = cross_stats(outer, (-3, 4), (inner_of_row, row), coded, slice_rows=slice_rows)
    assert got is not None
    for stats, want in (
        (got.outer, group_stats(outer + 3, 7, coded)),
        (got.inner, group_stats(inner.astype(np.int64), 3, coded)),
    ):
        assert stats.counts.tolist() == want.counts.tolist()
        present = want.counts > 0
        assert np.array_equal(stats.sums, want.sums)
        assert np.array_equal(stats.mins[present], want.mins[present])
        assert np.array_equal(stats.maxs[present], want.maxs[present])
    assert got.total.counts.tolist() == coded.tally().counts.tolist()


@given(samples_strategy, st.integers(1, 7))
def test_tally_by_slices_counts_every_sample(values: list[float], slice_rows: int) -> None:
    coded = code(np.array(values, np.float32))
    want = np.bincount(coded.codes, minlength=coded.values.size)
    assert coded.tally(slice_rows=slice_rows).counts.tolist() == want.tolist()
