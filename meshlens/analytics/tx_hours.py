"""The hours each transmission was heard in: distinct (transmission, hour) pairs.

RF counts distinct transmissions per observation hour (analytics-part-a §3.2). Nearly
every observation falls in its transmission's first hour or the next, so a pair is keyed
by (row, hour - first hour) and deduplicated by marking a table of NEAR_HOURS + 1 cells a
transmission, instead of sorting millions of keys. The last cell of a row stands for
every other offset (the same content heard again weeks later, or a clock behind
first_seen); only those few pairs are sorted.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

NEAR_HOURS = 4  # offsets 0..NEAR_HOURS-1 from a transmission's first hour are marked

I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]


def distinct_tx_hours(tx: I64, hours: I64, first_hour: I64) -> I64:
    """The hour of each distinct (transmission, hour) pair among the observations.

    `tx` and `hours` are per observation (the transmission's row, the observation's hour
    number); `first_hour` is per transmission row. The order of the result is unspecified.
    """
    if tx.size == 0:
        return np.empty(0, np.int64)
    width = NEAR_HOURS + 1
    offset = hours - first_hour[tx]
    # As unsigned, a negative offset is huge: one minimum puts it in the far cell too.
    cell: U64 = np.minimum(offset.view(np.uint64), np.uint64(NEAR_HOURS))
    key = tx * width
    key += cell.view(np.int64)
    marked = np.zeros((first_hour.size, width), np.bool_)
    marked.reshape(-1)[key] = True
    rows, near = np.nonzero(marked[:, :NEAR_HOURS])
    near_hours = first_hour[rows] + near
    if not marked[:, NEAR_HOURS].any():
        return near_hours
    far = np.flatnonzero(cell == NEAR_HOURS)
    far_values, far_codes = np.unique(hours[far], return_inverse=True)
    pairs = np.unique((tx[far] << 32) | far_codes.astype(np.int64))
    return np.concatenate([near_hours, far_values[pairs & 0xFFFFFFFF]])
