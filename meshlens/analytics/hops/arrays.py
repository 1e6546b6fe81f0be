"""Grouping kernels the resolver and the graph share: expand segments, group by integer key."""

from __future__ import annotations

from dataclasses import dataclass

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


@dataclass(frozen=True, slots=True)
class Groups:
    """Distinct keys with each one's count and latest time, and each row's group."""

    keys: I64
    count: I64
    last_ms: I64
    inverse: I64  # row -> index into keys


def group_by(keys: I64, times_ms: I64) -> Groups:
    """Group rows by a non-negative integer key: counts, latest time, and the inverse map."""
    if keys.shape[0] == 0:
        empty = np.empty(0, np.int64)
        return Groups(empty, empty, empty, empty)
    span = int(keys.max()) + 1
    if span <= _DENSE_LIMIT:
        count = np.bincount(keys, minlength=span)
        present = np.flatnonzero(count)
        last = np.full(span, np.iinfo(np.int64).min, np.int64)
        np.maximum.at(last, keys, times_ms)
        slot = np.empty(span, np.int64)
        slot[present] = np.arange(present.shape[0])
        return Groups(present, count[present], last[present], slot[keys])
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    lead = first_of_runs(sorted_keys)
    starts = np.flatnonzero(lead)
    inverse = np.empty(keys.shape[0], np.int64)
    inverse[order] = np.cumsum(lead) - 1
    return Groups(
        keys=sorted_keys[starts],
        count=np.diff(np.append(starts, keys.shape[0])),
        last_ms=np.maximum.reduceat(times_ms[order], starts),
        inverse=inverse,
    )
