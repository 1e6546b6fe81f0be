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


def medians_by_key(keys: npt.NDArray[np.integer], values: I64) -> tuple[I64, I64, I64]:
    """Per distinct key (ascending): the key, twice the true median of its values, its count.

    Twice the median keeps the result an exact integer (the sum of the two middle values).
    Keys must be non-negative. When keys x value range is small (observers x deviations
    in half seconds), one bincount into a (key, value) table and a search of its running
    total find the middle ranks without sorting; otherwise the pairs are sorted.
    """
    if values.shape[0] == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int64)
    lo = int(values.min())
    span = int(values.max()) - lo + 1
    n_keys = int(keys.max()) + 1
    if n_keys * span <= max(_COUNTING_MIN, 2 * values.shape[0]):
        table = np.bincount(keys.astype(np.int64) * span + (values - lo), minlength=n_keys * span)
        counts = table.reshape(n_keys, span).sum(axis=1)
        present = np.flatnonzero(counts)
        running = np.cumsum(table)
        before = running[present * span + span - 1] - counts[present]
        n = counts[present]
        low = np.searchsorted(running, before + (n - 1) // 2, side="right") % span
        high = np.searchsorted(running, before + n // 2, side="right") % span
        return present.astype(np.int64), low + high + 2 * lo, n.astype(np.int64)
    key, value = sort_pairs(keys, values)
    per_key = segments_of(key)
    first = per_key.starts
    twice = value[first + (per_key.counts - 1) // 2] + value[first + per_key.counts // 2]
    return key[first], twice, per_key.counts


def sorted_medians(segments: Segments, values: I64) -> tuple[I64, I64]:
    """The two middle values of each segment's integers (equal when its count is odd).

    `values` need not be sorted within segments: the (segment, value) pairs are packed into
    one int64 and sorted, and only the middle items are unpacked, since a segment's items
    occupy its own rows of the sorted column.
    """
    if len(segments) == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    low_at = segments.starts + (segments.counts - 1) // 2
    high_at = segments.starts + segments.counts // 2
    lo = int(values.min())
    span = int(values.max()) - lo + 1
    if len(segments) * span < (1 << 62):
        code = np.repeat(np.arange(len(segments), dtype=np.int64), segments.counts)
        key = code * span + (values - lo)
        key.sort()
        base = np.arange(len(segments), dtype=np.int64) * span - lo
        return key[low_at] - base, key[high_at] - base
    code = np.repeat(np.arange(len(segments), dtype=np.int64), segments.counts)
    ordered = values[np.lexsort((values, code))]
    return ordered[low_at], ordered[high_at]
