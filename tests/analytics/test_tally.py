"""Tallies: statistics from value counts must equal the same statistics over the samples."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from meshlens.analytics.stats import histogram, population_stddev, upper_median_of
from meshlens.analytics.tally import code, group_stats

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
