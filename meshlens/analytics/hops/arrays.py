"""Array kernels the resolver and the analytics share: segments, runs, distinct values."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

I64 = npt.NDArray[np.int64]

# A dense bincount over the key range beats sorting while the range is this small.
_DENSE_LIMIT = 1 << 23


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
    ordered = np.sort(values)
    return ordered[first_of_runs(ordered)]


def distinct_inverse(values: npt.NDArray[Any]) -> tuple[npt.NDArray[Any], I64]:
    """Sorted distinct values and, per input item, the index of its value among them."""
    if values.shape[0] == 0:
        return values.copy(), np.empty(0, np.int64)
    if values.dtype.kind == "i" and int(values.min()) >= 0:
        span = int(values.max()) + 1
        if span <= _DENSE_LIMIT and span <= 8 * values.shape[0] + 1024:
            present = np.bincount(values, minlength=span) > 0
            slot = np.cumsum(present) - 1
            return np.flatnonzero(present).astype(values.dtype), slot[values]
    order = np.argsort(values)
    ordered = values[order]
    lead = first_of_runs(ordered)
    inverse = np.empty(values.shape[0], np.int64)
    inverse[order] = np.cumsum(lead) - 1
    return ordered[lead], inverse
