"""A node's recent window: its last adverts, their median skew and the severity (§3.3).

The window holds at most the last `RECENT_COUNT` adverts, and only those within
`RECENT_SPAN_S` of the newest. Samples within an hour are good, those up to a day off
are bad (HEAD #1094), and RTC resets beyond a day are not counted at all (HEAD #1285).
`recent_window` judges one node (the per-node views need its bad samples);
`recent_windows` judges every node at once for the fleet-wide postures roles reads.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from meshlens.analytics.clockskew import severity as sev
from meshlens.analytics.segments import Segments

RECENT_COUNT = 5  # the recent window holds at most this many adverts...
RECENT_SPAN_S = 3600  # ...and only those within an hour of the newest
NO_CLOCK_FRACTION = 0.10  # fewer good recent samples than this: no usable clock
BIMODAL_FRACTION = 0.80  # fewer (with some bad ones): flips between two clocks

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class BadSample:
    """A recent advert more than an hour but less than a day off (HEAD #1094)."""

    tx: int
    advert_ts: int
    skew_s: float


def median(values: list[float]) -> float:
    """The true median of a short list; 0 when empty."""
    n = len(values)
    if n == 0:
        return 0.0
    s = sorted(values)
    return (s[(n - 1) // 2] + s[n // 2]) / 2.0


def recent_window(
    ts: list[int], skew: list[float], tx: list[int], advert: list[int]
) -> tuple[float, str, float, list[BadSample], int]:
    """One node's recent skew and severity, good fraction, bad samples and count.

    `ts` ascending (each advert's latest observation), `skew` each advert's skew.
    """
    n = len(ts)
    start = max(n - RECENT_COUNT, bisect_left(ts, ts[-1] - RECENT_SPAN_S))
    recent = skew[start:]
    recent_s = median(recent)
    good = [v for v in recent if abs(v) <= sev.GOOD_S]
    bad = [
        BadSample(tx[i], advert[i], skew[i])
        for i in range(start, n)
        if sev.GOOD_S < abs(skew[i]) <= sev.RTC_RESET_S
    ]
    counted = len(good) + len(bad)  # RTC resets are not counted at all
    fraction = len(good) / counted if counted else 0.0
    if fraction < NO_CLOCK_FRACTION:
        severity = sev.NO_CLOCK
    elif fraction < BIMODAL_FRACTION and bad:
        severity = sev.BIMODAL_CLOCK
        recent_s = median(good)
    else:
        recent_s = median(good)
        severity = sev.classify(abs(recent_s))
    return recent_s, severity, fraction, bad, counted


def recent_windows(ts: I64, skew: F64, per_node: Segments) -> tuple[list[float], list[str]]:
    """`recent_window`'s skew and severity for every node at once, in segment order.

    `ts` and `skew` hold each node's adverts as one segment, `ts` ascending within it.
    A window is at most five adverts long, so the windows are the rows of a (nodes x 5)
    table, right-aligned and padded with NaN, and each median is a row sort.
    """
    if len(per_node) == 0:
        return [], []
    ends = per_node.ends
    newest = per_node.spread(ts[ends - 1])
    inside = np.add.reduceat((ts >= newest - RECENT_SPAN_S).astype(np.int64), per_node.starts)
    # ts ascends, so the adverts within the span are the segment's last `inside`.
    width = np.minimum(inside, RECENT_COUNT)
    col = np.arange(RECENT_COUNT, dtype=np.int64)
    taken = col >= RECENT_COUNT - width[:, None]
    at = np.maximum(ends[:, None] - RECENT_COUNT + col, 0)
    recent = np.where(taken, skew[at], np.nan)
    size = np.abs(recent)  # NaN padding compares False below
    good = size <= sev.GOOD_S
    n_good = np.count_nonzero(good, axis=1)
    n_bad = np.count_nonzero((size > sev.GOOD_S) & (size <= sev.RTC_RESET_S), axis=1)
    counted = n_good + n_bad
    fraction = np.where(counted > 0, n_good / np.maximum(counted, 1), 0.0)
    no_clock = fraction < NO_CLOCK_FRACTION
    bimodal = ~no_clock & (fraction < BIMODAL_FRACTION) & (n_bad > 0)
    skews = np.where(no_clock, _row_medians(recent), _row_medians(np.where(good, recent, np.nan)))
    out = skews.tolist()
    severities = [
        sev.NO_CLOCK if nc else sev.BIMODAL_CLOCK if bi else sev.classify(abs(s))
        for s, nc, bi in zip(out, no_clock.tolist(), bimodal.tolist(), strict=True)
    ]
    return out, severities


def _row_medians(table: F64) -> F64:
    """`median` of each row's non-NaN values (0 for none), as the list version computes it."""
    ordered = np.sort(table, axis=1)  # NaN sorts last
    n = np.count_nonzero(~np.isnan(table), axis=1)
    rows = np.arange(table.shape[0])
    low = ordered[rows, np.maximum(n - 1, 0) // 2]
    high = ordered[rows, n // 2]
    return np.where(n > 0, (low + high) / 2.0, 0.0)
