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


def test_quarter_db_samples_code_onto_the_grid() -> None:
    coded = code(np.array([-7.25, 3.0, -7.25, 0.5], np.float32))
    assert coded.values.tolist() == [-7.25 + i / 4 for i in range(42)]
    assert coded.codes.tolist() == [0, 41, 0, 31]


def test_samples_off_the_grid_code_by_their_distinct_values() -> None:
    samples = np.array([7.2, -1.0, 7.2, np.inf], np.float32)
    coded = code(samples)
    assert coded.values.tolist() == [-1.0, float(np.float32(7.2)), np.inf]
    assert np.array_equal(coded.values[coded.codes], samples.astype(np.float64))


def test_no_samples() -> None:
    tally = code(np.empty(0, np.float32)).tally()
    assert tally.n == 0
    assert tally.summary() == {"avg": 0.0, "max": 0.0, "median": 0.0, "min": 0.0, "stddev": 0.0}
    assert tally.histogram(20) == {"bins": [], "min": 0, "max": 0}


@given(st.one_of(quarters, anything))
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


@given(st.one_of(quarters, anything), st.data())
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
