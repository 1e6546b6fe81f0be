"""The hours each transmission was heard in: distinct (transmission, hour) pairs.

RF counts distinct transmissions per observation hour (analytics-part-a §3.2). Nearly
every observation falls in its transmission's first hour or the next, so a pair is keyed
by (row, hour - first hour) and deduplicated by marking a table of NEAR_HOURS + 1 cells a
transmission, instead of sorting millions of keys. The last cell of a row stands for
every other offset (the same content heard again weeks later, or a clock behind
first_seen); only those few pairs are sorted. Rows are keyed a slice at a time, so the
keys stay in cache instead of filling millions of fresh int64s.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

NEAR_HOURS = 4  # offsets 0..NEAR_HOURS-1 from a transmission's first hour are marked
SLICE_ROWS = 1 << 16

I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]


def distinct_tx_hours(
    tx: I32 | I64, hours: I64, first_hour: I64, *, slice_rows: int = SLICE_ROWS
) -> I64:
    """The hour of each distinct (transmission, hour) pair among the observations.

    `tx` and `hours` are per observation (the transmission's row, the observation's hour
    number); `first_hour` is per transmission row. The order of the result is unspecified.
    """
    width = NEAR_HOURS + 1
    marked = np.zeros((first_hour.size, width), np.bool_)
    cells = marked.reshape(-1)
    far: list[I64] = []
    for start in range(0, tx.size, slice_rows):
        rows = slice(start, start + slice_rows)
        key = tx[rows].astype(np.int64)
        offset = hours[rows] - first_hour[key]
        # As unsigned, a negative offset is huge: one minimum puts it in the far cell too.
        cell: U64 = np.minimum(offset.view(np.uint64), np.uint64(NEAR_HOURS))
        key *= width
        key += cell.view(np.int64)
        cells[key] = True
        far.append(start + np.flatnonzero(cell == NEAR_HOURS))
    rows_near, offset_near = np.nonzero(marked[:, :NEAR_HOURS])
    near_hours = first_hour[rows_near] + offset_near
    if not marked[:, NEAR_HOURS].any():
        return near_hours
    far_rows = np.concatenate(far)
    far_values, far_codes = np.unique(hours[far_rows], return_inverse=True)
    pairs = np.unique((tx[far_rows].astype(np.int64) << 32) | far_codes.astype(np.int64))
    return np.concatenate([near_hours, far_values[pairs & 0xFFFFFFFF]])
