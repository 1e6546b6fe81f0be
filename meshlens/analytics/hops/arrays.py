"""Array kernels the resolver and the analytics share: segments, runs, distinct values."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

I64 = npt.NDArray[np.int64]

# Marking keys in a dense table beats sorting while the range is this small, absolutely
# and relative to the number of keys.
_DENSE_LIMIT = 1 << 23
_DENSE_RATIO = 16
# Fewer than one descent per this many keys: "mostly sorted" for `sorted_order`.
_MOSTLY_SORTED = 8


def expand(counts: I64) -> tuple[I64, I64]:
    """For segments of `counts` items: each item's segment and its index inside it."""
    total = int(counts.sum())
    owner = np.repeat(np.arange(counts.shape[0], dtype=np.int64), counts)
    starts = np.cumsum(counts) - counts
    within = np.arange(total, dtype=np.int64) - starts[owner]
    return owner, within


def first_of_runs(sorted_keys: I64) -> npt.NDArray[np.bool_]:
    """True at the first item of each run of equal keys."""
    lead = np.ones(sorted_keys.shape[0], np.bool_)
    lead[1:] = sorted_keys[1:] != sorted_keys[:-1]
    return lead


def distinct(values: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """Sorted distinct values (np.unique without its hashing path, which is slow here)."""
    if values.shape[0] == 0:
        return values.copy()
    span = _dense_span(values)
    if span is not None:  # hop ids, observers, nodes: marks instead of a sort
        present = np.zeros(span, np.bool_)
        present[values] = True
        return np.flatnonzero(present).astype(values.dtype)
    ordered = np.sort(values)
    return ordered[first_of_runs(ordered)]


def _dense_span(values: npt.NDArray[Any]) -> int | None:
    """The table size for marking `values` (non-empty) in a dense table, or None: sort them."""
    if values.dtype.kind != "i" or int(values.min()) < 0:
        return None
    span = int(values.max()) + 1
    return span if span <= _DENSE_LIMIT and span <= _DENSE_RATIO * values.shape[0] + 1024 else None


def sorted_order(keys: npt.NDArray[np.integer[Any]]) -> tuple[I64, I64]:
    """Keys sorted ascending and the stable order that sorts them (argsort, kind="stable").

    When the key range and the positions fit one int64 together, each key is packed with
    its position and the packed column is sorted by value: a plain sort of bare int64 is
    several times faster than an argsort here, and equal keys keep their input order
    because the position is the low part of the packed value. Columns that are mostly in
    order already (observations arrive roughly by transmission) sort faster with the
    merge-based stable sort, which runs through ordered stretches; others with the
    default (vectorised quicksort).
    """
    n = keys.shape[0]
    if n == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    lo, hi = int(keys.min()), int(keys.max())
    bits = max(1, (n - 1).bit_length())
    if (hi - lo).bit_length() + bits <= 62:
        packed = (keys.astype(np.int64) - lo) << bits
        packed |= np.arange(n, dtype=np.int64)
        descents = int(np.count_nonzero(keys[1:] < keys[:-1]))
        packed.sort(kind="stable" if descents * _MOSTLY_SORTED < n else None)
        order = packed & ((1 << bits) - 1)
        packed >>= bits
        packed += lo
        return packed, order
    order = np.argsort(keys, kind="stable").astype(np.int64, copy=False)
    return keys[order].astype(np.int64), order


def distinct_inverse(values: npt.NDArray[Any]) -> tuple[npt.NDArray[Any], I64]:
    """Sorted distinct values and, per input item, the index of its value among them."""
    if values.shape[0] == 0:
        return values.copy(), np.empty(0, np.int64)
    span = _dense_span(values)
    if span is not None:
        # Marks and an unfilled slot table: only the marked slots are ever read back
        # (int32 slots: half the pages to touch).
        present = np.zeros(span, np.bool_)
        present[values] = True
        found = np.flatnonzero(present)
        slot = np.empty(span, np.int32)
        slot[found] = np.arange(found.shape[0], dtype=np.int32)
        return found.astype(values.dtype), slot[values].astype(np.int64)
    if values.dtype.kind in "iu" and values.dtype.itemsize <= 8 and values.dtype != np.uint64:
        ordered_keys, order = sorted_order(values)
        ordered = ordered_keys.astype(values.dtype, copy=False)
    else:
        order = np.argsort(values)
        ordered = values[order]
    lead = first_of_runs(ordered)
    inverse = np.empty(values.shape[0], np.int64)
    inverse[order] = np.cumsum(lead) - 1
    return ordered[lead], inverse
