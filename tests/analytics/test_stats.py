"""Rounding, medians and histograms, with hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from meshlens.analytics.stats import (
    histogram,
    mean,
    population_stddev,
    round1,
    round2,
    round_array,
    round_half_away,
    true_median,
    upper_median,
    upper_median_of,
)


@pytest.mark.parametrize(
    ("value", "places", "expected"),
    [
        (0.5, 0, 1.0),
        (-0.5, 0, -1.0),
        (2.5, 0, 3.0),  # Python's round gives 2
        (-2.34, 1, -2.3),  # the reference's trunc(v*10 + 0.5) gives -2.2 (decision 2)
        (0.49999999999999994, 0, 0.0),  # floor(a + 0.5) would give 1
        (1.005, 2, 1.0),  # 1.005 is 1.00499999... in binary
        (12.345, 1, 12.3),
    ],
)
def test_round_half_away_from_zero(value: float, places: int, expected: float) -> None:
    assert round_half_away(value, places) == expected


@given(st.floats(-1e9, 1e9, allow_nan=False))
def test_vectorised_rounding_agrees_with_scalar(value: float) -> None:
    assert round_array(np.array([value]), 2)[0] == round2(value)
    assert round_array(np.array([value]), 1)[0] == round1(value)


def test_medians_and_mean() -> None:
    assert upper_median([1.0, 2.0, 3.0, 4.0]) == 3.0
    assert true_median([4.0, 1.0, 3.0, 2.0]) == 2.5
    assert upper_median([]) == 0.0 and true_median([]) == 0.0 and mean([]) == 0.0
    assert mean([1.0, 2.0]) == 1.5


def test_histogram_bins_like_the_reference() -> None:
    # -12.5 .. 13.75 in 20 bins: w = 1.3125 (analytics-part-a §3.3 worked example).
    h = histogram(np.array([-12.5, 13.75, 0.0]), 20)
    bins = h["bins"]
    assert isinstance(bins, list) and len(bins) == 20
    assert bins[0] == {"x": -12.5, "w": 1.3125, "count": 1}
    assert bins[19] == {"x": -12.5 + 19 * 1.3125, "w": 1.3125, "count": 1}  # max: last bin
    assert h["min"] == -12.5 and h["max"] == 13.75


def test_histogram_edge_cases() -> None:
    assert histogram(np.array([]), 20) == {"bins": [], "min": 0, "max": 0}
    flat = histogram(np.array([5.0, 5.0]), 20)
    assert flat["bins"][0] == {"x": 5.0, "w": 0.05, "count": 2}  # type: ignore[index]
    flat_distance = histogram(np.array([5.0]), 25, flat_width=1.0, round_places=1)
    assert flat_distance["bins"][1] == {"x": 6.0, "w": 1.0, "count": 0}  # type: ignore[index]


def test_upper_median_of_unsorted_values_selects_index_n_over_2() -> None:
    assert upper_median_of(np.array([4.0, 1.0, 3.0, 2.0])) == 3.0  # not 2.5
    assert upper_median_of(np.array([5.0, -1.0, 2.0])) == 2.0
    assert upper_median_of(np.array([], np.float64)) == 0.0


@given(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=50))
def test_upper_median_of_agrees_with_sorting(values: list[float]) -> None:
    assert upper_median_of(np.array(values)) == upper_median(sorted(values))


def test_population_stddev_divides_by_n() -> None:
    # 2, 4, 4, 4, 5, 5, 7, 9: mean 5, squared deviations sum to 32, 32 / 8 = 4.
    values = np.array([2.0, 4, 4, 4, 5, 5, 7, 9])
    assert population_stddev(values, 5.0) == 2.0
    assert population_stddev(np.array([3.0]), 3.0) == 0.0
    assert population_stddev(np.array([], np.float64), 0.0) == 0.0


@given(st.lists(st.tuples(st.floats(-1e3, 1e3), st.integers(0, 5)), min_size=1, max_size=30))
def test_histogram_of_counted_values_equals_histogram_of_the_samples(
    pairs: list[tuple[float, int]],
) -> None:
    values = np.array([v for v, _ in pairs])
    counts = np.array([c for _, c in pairs])
    samples = np.repeat(values, counts)
    assert histogram(values, 25, counts=counts) == histogram(samples, 25)
