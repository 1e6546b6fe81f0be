"""Samples counted per distinct value, so statistics over millions cost per distinct value.

Radios report SNR in quarter dB and RSSI in whole dBm, so millions of signal samples hold
a few hundred distinct values. A sample becomes a small integer code (its value on the
quarter-unit grid) and one bincount gives every value's count; min, max, mean, upper
median, standard deviation and histograms then come from that short table, exactly as
from the samples. Samples off the grid (a hostile or unusual source) are coded by
np.unique: a sort, so slower, with the same answers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from meshlens.analytics.stats import histogram
from meshlens.records import JSONObject

STEPS_PER_UNIT = 4  # quarter dB: the finest step MeshCore radios report
MAX_GRID = 1 << 20  # samples beyond +-this are off the grid (int32 codes stay exact)
MAX_SPAN = 1 << 16  # grid steps from the lowest to the highest on-grid sample
TABLE_CELLS = 1 << 22  # largest group x value table built in one bincount
SLICE_ROWS = 1 << 16  # rows keyed at a time by cross_stats: 512 KiB of int64 keys

Bool = npt.NDArray[np.bool_]
I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
Floats = npt.NDArray[np.float32] | npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Tally:
    """Distinct finite sample values (ascending) and how many samples hold each."""

    values: F64
    counts: I64

    @property
    def n(self) -> int:
        """The number of samples."""
        return int(self.counts.sum())

    def summary(self) -> JSONObject:
        """min, max, mean, upper median and population stddev; all 0 with no samples."""
        n = self.n
        if n == 0:
            return {"avg": 0.0, "max": 0.0, "median": 0.0, "min": 0.0, "stddev": 0.0}
        present = np.flatnonzero(self.counts)
        values, counts = self.values[present], self.counts[present]
        avg = float(np.dot(values, counts)) / n
        # Upper median: the sample at sorted index n // 2.
        median = values[int(np.searchsorted(np.cumsum(counts), n // 2, side="right"))]
        deviations = values - avg
        return {
            "avg": avg,
            "max": float(values[-1]),
            "median": float(median),
            "min": float(values[0]),
            "stddev": math.sqrt(float(np.dot(deviations * deviations, counts)) / n),
        }

    def histogram(self, bins: int) -> JSONObject:
        """The reference histogram of the samples (stats.histogram)."""
        return histogram(self.values, bins, counts=self.counts)


@dataclass(frozen=True, slots=True)
class Coded:
    """Samples as codes into a table of distinct values."""

    codes: I32  # per sample
    values: F64  # the value each code stands for, ascending

    def tally(self, *, slice_rows: int = SLICE_ROWS) -> Tally:
        """Count the samples per value, a slice at a time (bincount copies codes to int64)."""
        n_values = self.values.size
        counts = np.zeros(n_values, np.int64)
        step = max(slice_rows, n_values)  # each slice's bincount costs at least n_values
        for start in range(0, self.codes.size, step):
            counts += np.bincount(self.codes[start : start + step], minlength=n_values)
        return Tally(self.values, counts)


def code(samples: Floats) -> Coded:
    """Code samples by value: grid codes for those on the quarter grid, np.unique for the rest.

    The few off-grid values (if any) are merged into the grid's table, so values stay
    ascending. When most samples are off the grid, or the grid would span too wide a
    range, every sample is coded by np.unique (a sort: slower, same answers).
    """
    if samples.size == 0:
        return Coded(np.empty(0, np.int32), np.empty(0, np.float64))
    lo, hi = float(samples.min()), float(samples.max())
    in_range: Bool | None = None
    if lo > -MAX_GRID and hi < MAX_GRID:  # also false for NaN and infinities
        steps = samples * STEPS_PER_UNIT  # exact in binary floating point
    else:  # scale and cast only what an int32 holds exactly
        in_range = (samples > -MAX_GRID) & (samples < MAX_GRID)
        steps = np.where(in_range, samples, 0) * STEPS_PER_UNIT
    codes = steps.astype(np.int32)
    on_grid = codes == steps
    if in_range is not None:
        on_grid &= in_range
    off = samples.size - int(np.count_nonzero(on_grid))
    if off <= samples.size // 4:
        if off == 0:  # the usual case: the extremes are the samples' own, no masked pass
            lo_steps, hi_steps = int(lo * STEPS_PER_UNIT), int(hi * STEPS_PER_UNIT)
        else:
            lo_steps = int(np.min(codes, where=on_grid, initial=np.iinfo(np.int32).max))
            hi_steps = int(np.max(codes, where=on_grid, initial=np.iinfo(np.int32).min))
        if hi_steps - lo_steps < MAX_SPAN:
            codes -= lo_steps
            grid = (lo_steps + np.arange(hi_steps - lo_steps + 1)) / STEPS_PER_UNIT
            if off == 0:
                return Coded(codes, grid.astype(np.float64))
            return _with_off_grid(samples, codes, on_grid, grid.astype(np.float64))
    values, inverse = np.unique(samples, return_inverse=True)
    return Coded(inverse.astype(np.int32), values.astype(np.float64))


def _with_off_grid(samples: Floats, codes: I32, on_grid: Bool, grid: F64) -> Coded:
    """Give off-grid samples codes after the grid's, then renumber so values ascend."""
    off_grid = ~on_grid
    extra, extra_codes = np.unique(samples[off_grid], return_inverse=True)
    codes[off_grid] = grid.size + extra_codes.astype(np.int32)
    values = np.concatenate([grid, extra.astype(np.float64)])
    order = np.argsort(values, kind="stable")
    rank = np.empty(order.size, np.int32)
    rank[order] = np.arange(order.size, dtype=np.int32)
    return Coded(rank[codes], values[order])


@dataclass(frozen=True, slots=True)
class GroupStats:
    """Per group: sample count, sum, min and max (min/max meaningless where count is 0)."""

    counts: I64
    sums: F64
    mins: F64
    maxs: F64


def group_stats(
    groups: I64, n_groups: int, coded: Coded, *, table_cells: int = TABLE_CELLS
) -> GroupStats:
    """Count, sum, min and max of the samples of each group (groups are 0..n_groups-1).

    With few distinct values one bincount fills a group x value table; otherwise (the
    np.unique fallback of `code`) per-sample reductions do it.
    """
    n_values = coded.values.size
    if n_values == 0:
        nothing = np.zeros(n_groups, np.float64)
        return GroupStats(np.zeros(n_groups, np.int64), nothing, nothing, nothing)
    if n_groups * n_values <= table_cells:
        table = np.bincount(groups * n_values + coded.codes, minlength=n_groups * n_values)
        return table_stats(table.reshape(n_groups, n_values), coded.values)
    samples = coded.values[coded.codes]
    mins = np.full(n_groups, np.inf)
    maxs = np.full(n_groups, -np.inf)
    np.minimum.at(mins, groups, samples)
    np.maximum.at(maxs, groups, samples)
    return GroupStats(
        np.bincount(groups, minlength=n_groups),
        np.asarray(np.bincount(groups, weights=samples, minlength=n_groups), np.float64),
        mins,
        maxs,
    )


def table_stats(table: I64, values: F64) -> GroupStats:
    """GroupStats from a group x value table of sample counts (`values` ascending)."""
    present = table > 0
    first = np.argmax(present, axis=1)
    last = values.size - 1 - np.argmax(present[:, ::-1], axis=1)
    return GroupStats(
        table.sum(axis=1), table.astype(np.float64) @ values, values[first], values[last]
    )


@dataclass(frozen=True, slots=True)
class CrossStats:
    """Samples grouped two ways at once: per outer group, per inner group, and all of them."""

    outer: GroupStats
    inner: GroupStats
    total: Tally


def cross_stats(
    outer: I64,
    outer_groups: tuple[int, int],
    inner: tuple[npt.NDArray[np.integer], I32],
    coded: Coded,
    *,
    table_cells: int = TABLE_CELLS,
    slice_rows: int = SLICE_ROWS,
) -> CrossStats | None:
    """Group stats by `outer` and by `inner`, and the tally of all, from one counting pass.

    Sample i is in outer group outer[i], one of range(*outer_groups), and in inner group
    inner_of_row[row[i]] for `inner` = (inner_of_row, row): a property of the row the
    sample belongs to (a transmission's payload type), looked up a slice at a time. One
    outer x inner x value table of counts is filled a slice of rows at a time (the keys
    stay in cache, never millions of int64 keys at once) and summed along each axis.
    None when that table would pass `table_cells` (many hours, or the np.unique coding).
    """
    lo, hi = outer_groups
    inner_of_row, row = inner
    n_outer, n_inner, n_values = hi - lo, int(inner_of_row.max(initial=0)) + 1, coded.values.size
    cells = n_outer * n_inner * n_values
    if n_values == 0 or cells > table_cells:
        return None
    table = np.zeros(cells, np.int64)
    step = max(slice_rows, cells)  # each slice's bincount costs at least `cells`
    for start in range(0, outer.size, step):
        rows = slice(start, start + step)
        key = outer[rows] - lo
        key *= n_inner
        key += inner_of_row[row[rows]]
        key *= n_values
        key += coded.codes[rows]
        table += np.bincount(key, minlength=cells)
    cube = table.reshape(n_outer, n_inner, n_values)
    by_inner = cube.sum(axis=0)
    return CrossStats(
        table_stats(cube.sum(axis=1), coded.values),
        table_stats(by_inner, coded.values),
        Tally(coded.values, by_inner.sum(axis=0)),
    )
