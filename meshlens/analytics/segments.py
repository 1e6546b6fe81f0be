"""Reductions over runs of equal keys in a sorted column (groupby by sorting).

A column sorted by a group key is cut into segments, one per distinct key; the values
of each segment are then reduced with one vectorised call per statistic instead of a
Python loop per group.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import numpy.typing as npt

T = TypeVar("T", bound=np.generic)
I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]

# Up to this many possible keys a counting sort beats a comparison sort at any size.
_COUNTING_MIN = 1 << 16


@dataclass(frozen=True, slots=True)
class Segments:
    """Where each run of equal keys starts in a sorted column, and how long it is."""

    starts: I64
    counts: I64

    def __len__(self) -> int:
        return int(self.starts.shape[0])

    @property
    def ends(self) -> I64:
        """One past the last row of each segment."""
        return self.starts + self.counts

    def spread(self, per_segment: npt.NDArray[T]) -> npt.NDArray[T]:
        """A per-segment value repeated for every row of its segment."""
        return np.repeat(per_segment, self.counts)

    def sums(self, values: F64) -> F64:
        """The sum of each segment's values."""
        if len(self) == 0:
            return np.empty(0, np.float64)
        return np.add.reduceat(values, self.starts).astype(np.float64, copy=False)

    def medians(self, values_sorted_within: F64) -> F64:
        """The true median of each segment, whose values must be sorted within it."""
        lo = self.starts + (self.counts - 1) // 2
        hi = self.starts + self.counts // 2
        v = values_sorted_within
        out: F64 = (v[lo] + v[hi]) / 2.0
        return out


def segments_of(sorted_keys: npt.NDArray[np.integer]) -> Segments:
    """The runs of equal values in an already sorted key column."""
    n = sorted_keys.shape[0]
    if n == 0:
        return Segments(np.empty(0, np.int64), np.empty(0, np.int64))
    change = np.flatnonzero(sorted_keys[1:] != sorted_keys[:-1]) + 1
    starts = np.concatenate([np.zeros(1, np.int64), change.astype(np.int64)])
    counts = np.diff(np.concatenate([starts, np.array([n], np.int64)]))
    return Segments(starts, counts)


def sort_pairs(group: npt.NDArray[np.integer], values: I64) -> tuple[I64, I64]:
    """(group, value) pairs sorted by group, then value; both columns returned sorted.

    Small non-negative groups and a modest value range pack into one int64 key, and
    sorting bare keys is several times faster than an argsort or a lexsort; otherwise
    it falls back to a lexsort.
    """
    if values.shape[0] == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    lo = int(values.min())
    span = int(values.max()) - lo + 1
    groups = int(group.max()) + 1
    if int(group.min()) >= 0 and groups * span < (1 << 62):
        key = group.astype(np.int64) * span + (values - lo)
        if groups * span <= max(_COUNTING_MIN, 2 * key.shape[0]):
            # Few distinct keys (e.g. observer x deviation in half seconds): a counting
            # sort, one bincount and one repeat, gives the same sorted column.
            tally = np.bincount(key, minlength=groups * span)
            present = np.flatnonzero(tally)
            key = np.repeat(present.astype(np.int64), tally[present])
        else:
            key.sort()
        return key // span, key % span + lo
    order = np.lexsort((values, group))
    return group[order].astype(np.int64), values[order]


def ranges(starts: npt.NDArray[np.integer], counts: npt.NDArray[np.integer]) -> I64:
    """The concatenation of range(start, start + count) for each pair, without a loop."""
    total = int(counts.sum())
    if total == 0:
        return np.empty(0, np.int64)
    counts64 = counts.astype(np.int64)
    offsets = np.cumsum(counts64) - counts64
    return np.repeat(starts.astype(np.int64) - offsets, counts64) + np.arange(total, dtype=np.int64)
