"""A node clock's drift in seconds per day: the Theil-Sen slope of skew over time (§3.4)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import numpy.typing as npt

MIN_SPAN_S = 3600  # a shorter series says nothing about drift
MAX_JUMP_S = 60.0  # a bigger step between neighbours is a correction, not drift
MAX_POINTS = 200  # the most recent points kept (the slope is O(n^2))
DAY_S = 86_400


def drift_per_day(ts: Sequence[int], skew: Sequence[float]) -> float:
    """Median pairwise slope of `skew` over `ts` (sorted ascending), in seconds per day.

    Points that jump more than 60 s from the last accepted one are dropped (a GPS fix or
    a manual clock set), unless that leaves fewer than two points or under an hour; then
    every point counts. 0 when the series spans less than an hour or has no slope.
    """
    if len(ts) < 2 or ts[-1] - ts[0] < MIN_SPAN_S:
        return 0.0
    kept = [0]
    for i in range(1, len(ts)):
        if abs(skew[i] - skew[kept[-1]]) <= MAX_JUMP_S:
            kept.append(i)
    if len(kept) < 2 or ts[kept[-1]] - ts[kept[0]] < MIN_SPAN_S:
        kept = list(range(len(ts)))
    kept = kept[-MAX_POINTS:]
    t = np.array([ts[i] for i in kept], np.float64)
    s = np.array([skew[i] for i in kept], np.float64)
    first, second = _pairs(t.shape[0])
    dt = t[second] - t[first]
    positive = dt > 0
    slopes = (s[second] - s[first])[positive] / dt[positive]
    n = slopes.shape[0]
    if n == 0:
        return 0.0
    # The true median by selection: cheaper than np.median's checks on many short series.
    part = np.partition(slopes, (n // 2, (n - 1) // 2))
    return float(part[(n - 1) // 2] + part[n // 2]) / 2.0 * DAY_S


@lru_cache(maxsize=MAX_POINTS + 1)
def _pairs(n: int) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Index pairs i < j of n points (the same few sizes recur for every node)."""
    i, j = np.triu_indices(n, 1)
    i.flags.writeable = False
    j.flags.writeable = False
    return i, j
