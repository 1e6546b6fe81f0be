"""Samples counted per distinct value, so statistics over millions cost per distinct value.

Radios report SNR in quarter dB and RSSI in whole dBm, so millions of signal samples hold
a few hundred distinct values. A sample becomes a small integer code (its value on the
quarter-unit grid) and one bincount gives every value's count; min, max, mean, upper
median, standard deviation and histograms then come from that short table, exactly as
from the samples. Samples off the grid (a hostile or unusual source) fall back to
np.unique codes: slower, same answers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from meshlens.analytics.stats import histogram
from meshlens.records import JSONObject

STEPS_PER_UNIT = 4  # quarter dB: the finest step MeshCore radios report
MAX_GRID = 1 << 20  # samples beyond +-this use the general path (int32 codes stay exact)
TABLE_CELLS = 1 << 22  # largest group x value table built in one bincount

I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
Floats = npt.NDArray[np.float32] | npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Tally:
    """Distinct sample values (ascending) and how many samples hold each."""

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

    def tally(self) -> Tally:
        """Count the samples per value."""
        return Tally(self.values, np.bincount(self.codes, minlength=self.values.size))


def code(samples: Floats) -> Coded:
    """Code finite samples: on the quarter grid when they all lie on it, else by np.unique."""
    if samples.size == 0:
        return Coded(np.empty(0, np.int32), np.empty(0, np.float64))
    lo, hi = float(samples.min()), float(samples.max())
    if lo > -MAX_GRID and hi < MAX_GRID:  # also false for NaN and infinities
        # x4 is exact in binary floating point, and so is the int32 cast of a whole number.
        steps = samples * STEPS_PER_UNIT
        codes = steps.astype(np.int32)
        if np.array_equal(codes, steps):
            lo_steps = int(codes.min())
            codes -= lo_steps
            values = (lo_steps + np.arange(int(codes.max()) + 1)) / STEPS_PER_UNIT
            return Coded(codes, values.astype(np.float64))
    values, inverse = np.unique(samples, return_inverse=True)
    return Coded(inverse.astype(np.int32), values.astype(np.float64))


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
        table = np.bincount(groups * n_values + coded.codes, minlength=n_groups * n_values).reshape(
            n_groups, n_values
        )
        present = table > 0
        first = np.argmax(present, axis=1)
        last = n_values - 1 - np.argmax(present[:, ::-1], axis=1)
        values = coded.values
        return GroupStats(
            table.sum(axis=1), table.astype(np.float64) @ values, values[first], values[last]
        )
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
