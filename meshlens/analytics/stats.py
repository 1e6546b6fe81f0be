"""Rounding, medians and histograms with the exact semantics the reference API uses.

Decision 2: rounding is half away from zero everywhere (Go's math.Round), never
Python's round-half-to-even, and never the reference's trunc(v*m + 0.5) shortcut.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from meshlens.records import JSONObject, JSONValue


def round_half_away(value: float, places: int = 0) -> float:
    """Round half away from zero to `places` decimals, exactly like Go's math.Round."""
    scale = 10.0**places
    scaled = value * scale
    a = abs(scaled)
    t = math.floor(a)
    # Compare instead of adding 0.5: floor(a + 0.5) is wrong for 0.49999999999999994.
    if a - t >= 0.5:
        t += 1
    return math.copysign(t, scaled) / scale


def round1(value: float) -> float:
    """One decimal, half away from zero."""
    return round_half_away(value, 1)


def round2(value: float) -> float:
    """Two decimals, half away from zero."""
    return round_half_away(value, 2)


def round_array(values: npt.NDArray[np.float64], places: int) -> npt.NDArray[np.float64]:
    """Vectorised round half away from zero (same rule as round_half_away)."""
    scale = 10.0**places
    scaled = values * scale
    a = np.abs(scaled)
    t = np.floor(a)
    t += (a - t) >= 0.5
    return np.copysign(t, scaled) / scale


def upper_median(sorted_values: Sequence[float] | npt.NDArray[np.floating]) -> float:
    """The item at index n // 2 of a sorted list, no averaging; 0 when empty."""
    n = len(sorted_values)
    return float(sorted_values[n // 2]) if n else 0.0


def upper_median_of(values: npt.NDArray[np.floating]) -> float:
    """The upper median of unsorted values, by selection instead of a full sort; 0 when empty."""
    n = values.size
    if n == 0:
        return 0.0
    return float(np.partition(values, n // 2)[n // 2])


def population_stddev(values: npt.NDArray[np.floating], mean_value: float) -> float:
    """Standard deviation around `mean_value`, dividing by N (§1.7); 0 when empty."""
    n = values.size
    if n == 0:
        return 0.0
    deviations = values.astype(np.float64, copy=False) - mean_value
    return math.sqrt(float(np.dot(deviations, deviations)) / n)


def true_median(values: Sequence[float] | npt.NDArray[np.floating]) -> float:
    """The middle value, averaging the two middle ones for even n; 0 when empty."""
    n = len(values)
    if n == 0:
        return 0.0
    return float(np.median(np.asarray(values, dtype=np.float64)))


def mean(values: Sequence[float] | npt.NDArray[np.floating]) -> float:
    """The arithmetic mean; 0 when empty."""
    return float(np.mean(values)) if len(values) else 0.0


def histogram(
    values: npt.NDArray[np.floating],
    bins: int,
    *,
    counts: npt.NDArray[np.integer] | None = None,
    round_places: int | None = None,
    flat_width: float | None = None,
) -> JSONObject:
    """The reference histogram: `bins` equal bins from min to max, the last one closed.

    With no values: {"bins": [], "min": 0, "max": 0}. When all values are equal the RF
    rule takes a range of 1 (width 1/bins); distance instead passes `flat_width=1`.
    `round_places` rounds each bin's x and w (distance: 1 decimal; RF: none).
    With `counts`, `values` are distinct values and `counts[i]` samples hold `values[i]`
    (values with a zero count are ignored): the same result as the repeated samples.
    """
    v = values.astype(np.float64, copy=False)
    if counts is not None:
        present = counts > 0
        v, counts = v[present], counts[present]
    if v.size == 0:
        return {"bins": [], "min": 0, "max": 0}
    lo, hi = float(v.min()), float(v.max())
    span = hi - lo
    if span == 0 and flat_width is not None:
        width = flat_width
    else:
        width = (span if span != 0 else 1.0) / bins
    index = np.minimum(np.floor((v - lo) / width).astype(np.int64), bins - 1)
    per_bin = np.bincount(np.maximum(index, 0), weights=counts, minlength=bins)
    out: list[JSONValue] = []
    for i in range(bins):
        x = lo + i * width
        w = width
        if round_places is not None:
            x, w = round_half_away(x, round_places), round_half_away(w, round_places)
        out.append({"x": x, "w": w, "count": int(per_bin[i])})
    return {"bins": out, "min": lo, "max": hi}
