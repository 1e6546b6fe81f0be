"""Hour buckets as integers: the reference's hour key (§1.1) without formatting every row.

An hour key is the first 13 characters of an ISO time (`2026-05-18T12`). For unix
milliseconds that is exactly `ms // HOUR_MS`, so rows are bucketed with integer division
and only each distinct hour is formatted, once, with `meshlens.times.hour_key`.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from meshlens.times import hour_key

HOUR_MS = 3_600_000

I64 = npt.NDArray[np.int64]


def hours_of(times_ms: npt.NDArray[np.int64]) -> I64:
    """The hour number (unix ms // one hour) of each time; floors before 1970 too."""
    return np.floor_divide(times_ms, HOUR_MS)


def hour_label(hour: int) -> str:
    """The reference hour key of an hour number."""
    return hour_key(hour * HOUR_MS)


def dense_codes(values: I64) -> tuple[I64, I64]:
    """Small non-negative codes for `values` and the value each code stands for.

    Hours of real traffic span a few hundred distinct values, so codes are `value - min`
    (no sort). A hostile clock can put one time decades away; then the span would cost
    more memory than the rows, and the codes come from np.unique instead.
    """
    if values.size == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    lo, hi = int(values.min()), int(values.max())
    if hi - lo < max(4 * values.size, 1 << 16):
        return values - lo, np.arange(lo, hi + 1, dtype=np.int64)
    keys, codes = np.unique(values, return_inverse=True)
    return codes.astype(np.int64), keys.astype(np.int64)
