"""Advert clock samples, observer calibration and per-hash skew (analytics-part-b §3.2).

A sample is one observation of an advert whose timestamp is plausible: the advertiser's
clock (`advert_ts`) against the time the observer heard it. Observers are calibrated
against each other on adverts heard more than once; each sample's skew is then
corrected by its observer's offset, and summarised per advert (content hash).
Everything here is sorting and segment reductions over the columns.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from meshlens.analytics.hops.arrays import sorted_order
from meshlens.analytics.segments import Segments, medians_by_key, segments_of, sorted_medians
from meshlens.store.snapshot import Snapshot
from meshlens.wire import PayloadType

# §3.1: advert timestamps outside 2020-01-01 .. 2100-01-01 are not a clock reading.
ADVERT_TS_MIN = 1_577_836_800
ADVERT_TS_MAX = 4_102_444_800
# Fewer than one descent per this many keys: mostly in order (as in hops.arrays).
_MOSTLY_SORTED = 8

Bool = npt.NDArray[np.bool_]
I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Samples:
    """One row per sample, grouped by transmission; within one, by observed time, then arrival."""

    tx: I32  # transmission row
    observer: I32  # observer index
    observed_s: I64  # observation time, unix seconds
    raw_s: I64  # advert_ts - observed_s: positive means the node's clock is ahead
    # raw_s plus the observer's offset (0 when it has none), in quarter seconds: offsets
    # are medians of half seconds, so a corrected skew is an exact number of quarters.
    corrected_q: I64

    def __len__(self) -> int:
        return int(self.tx.shape[0])


@dataclass(frozen=True, slots=True)
class Calibration:
    """Observers heard on multi-observation adverts: their offset and how many samples made it."""

    observer: I32  # observer index, ascending
    offset_s: F64  # median deviation from the per-advert median time; positive = ahead
    samples: I64

    def by_observer(self, observers: int) -> tuple[F64, Bool]:
        """Per observer index: its offset (0 without one) and whether it has one."""
        offset = np.zeros(observers, np.float64)
        calibrated = np.zeros(observers, np.bool_)
        offset[self.observer] = self.offset_s
        calibrated[self.observer] = True
        return offset, calibrated


@dataclass(frozen=True, slots=True)
class HashSkew:
    """One row per advert transmission with samples, ascending transmission row."""

    tx: I32
    start: I64  # first row in Samples
    count: I64  # samples of this transmission
    median_s: F64  # true median of the corrected skews (unrounded)
    mean_s: F64
    last_s: F64  # corrected skew of the latest observation (ties: last to arrive)
    calibrated: Bool  # any sample calibrated
    advert_ts: I64
    first_observed_s: I64
    last_observed_s: I64

    def __len__(self) -> int:
        return int(self.tx.shape[0])


@dataclass(frozen=True, slots=True)
class Engine:
    """The engine state one snapshot gives: samples, observer offsets, per-hash skew."""

    samples: Samples
    calibration: Calibration
    hashes: HashSkew


def engine_of(snap: Snapshot) -> Engine:
    """The engine state of a snapshot, computed once and shared by every analytic using it."""
    return snap.memo("clockskew.engine", lambda: build_engine(snap))


def build_engine(snap: Snapshot) -> Engine:
    """Collect samples, calibrate observers and summarise each advert (§3.2)."""
    tx = snap.tx
    plausible = (
        (tx.payload_type == PayloadType.ADVERT)
        & (tx.advert_ts >= ADVERT_TS_MIN)
        & (tx.advert_ts <= ADVERT_TS_MAX)
    )
    rows = np.flatnonzero(plausible[snap.obs.tx])
    tx_of = snap.obs.tx[rows]
    observed = np.floor_divide(snap.obs.ts_ms[rows], 1000)
    # Stable: observations heard in the same second keep their arrival order.
    order = _by_tx_then_time(tx_of, observed)
    tx_of, observed = tx_of[order], observed[order]
    observer = snap.obs.observer[rows[order]]
    groups = segments_of(tx_of)
    calibration = calibrate(groups, observer, observed)
    offset_of, calibrated_of = calibration.by_observer(len(snap.observers))
    # One advert timestamp per transmission, repeated: cheaper than a gather per sample.
    raw = groups.spread(tx.advert_ts[tx_of[groups.starts]]) - observed
    samples = Samples(
        tx=tx_of,
        observer=observer,
        observed_s=observed,
        raw_s=raw,
        corrected_q=4 * raw + np.rint(offset_of * 4).astype(np.int64)[observer],
    )
    return Engine(samples, calibration, _per_hash(snap, samples, groups, calibrated_of))


def _by_tx_then_time(tx_of: I32, observed: I64) -> I64:
    """The stable order by (transmission, observed second): np.lexsort((observed, tx_of)).

    Both fit one int64 key at any real size (a transmission row and a span of seconds).
    Observations arrive roughly by transmission, so the key column is mostly in order
    already, and a stable argsort (a merge sort, which runs through ordered stretches) is
    faster on it than sorting the key packed with positions (`sorted_order`), which wins
    on shuffled columns.
    """
    if observed.shape[0] == 0:
        return np.empty(0, np.int64)
    lo = int(observed.min())
    span = int(observed.max()) - lo + 1
    if int(tx_of.max()) + 1 > (1 << 62) // span:
        return np.lexsort((observed, tx_of)).astype(np.int64)
    key = tx_of.astype(np.int64) * span + (observed - lo)
    if int(np.count_nonzero(key[1:] < key[:-1])) * _MOSTLY_SORTED < key.shape[0]:
        return np.argsort(key, kind="stable").astype(np.int64, copy=False)
    return sorted_order(key)[1]


def calibrate(groups: Segments, observer: I32, observed: I64) -> Calibration:
    """§3.2.2: each observer's median deviation from the median time of each multi-sample advert.

    Only adverts with two or more samples count (the same observer twice counts twice);
    an observer seen only on single-sample adverts gets no offset.
    """
    # Work in half seconds: a median of whole seconds is a multiple of 0.5, so every
    # deviation is an exact integer, and so is twice each observer's median of them.
    lo = groups.starts + (groups.counts - 1) // 2
    hi = groups.starts + groups.counts // 2
    median2 = (observed[lo] + observed[hi]) if len(groups) else np.empty(0, np.int64)
    deviation2 = 2 * observed - groups.spread(median2)
    singles = groups.starts[groups.counts == 1]
    if singles.shape[0]:
        # Nearly every advert is heard twice or more: rather than cut the columns down to
        # those, file the few single samples under one extra key and drop it after.
        spare = int(observer.max()) + 1
        observer = observer.copy()
        observer[singles] = spare
        who, twice, samples = medians_by_key(observer, deviation2)
        kept = who != spare
        who, twice, samples = who[kept], twice[kept], samples[kept]
    else:
        who, twice, samples = medians_by_key(observer, deviation2)
    return Calibration(
        observer=who.astype(np.int32),
        offset_s=twice / 4.0,
        samples=samples,
    )


def _per_hash(snap: Snapshot, samples: Samples, groups: Segments, calibrated_of: Bool) -> HashSkew:
    """§3.2.3: per advert, the median, mean and latest of its corrected skews.

    Corrected skews are exact integers of quarter seconds, so the medians come from one
    integer sort and the sums are exact.
    """
    quarters = samples.corrected_q
    low, high = sorted_medians(groups, quarters)
    last = groups.ends - 1
    if len(groups) == 0:
        tx_rows = np.empty(0, np.int32)
        sums = np.empty(0, np.int64)
        calibrated = np.empty(0, np.bool_)
    else:
        tx_rows = samples.tx[groups.starts]
        sums = np.add.reduceat(quarters, groups.starts)
        calibrated = np.logical_or.reduceat(calibrated_of[samples.observer], groups.starts)
    return HashSkew(
        tx=tx_rows,
        start=groups.starts,
        count=groups.counts,
        median_s=(low / 4.0 + high / 4.0) / 2.0,
        mean_s=sums / 4.0 / np.maximum(groups.counts, 1),
        last_s=quarters[last] / 4.0,
        calibrated=calibrated,
        advert_ts=snap.tx.advert_ts[tx_rows],
        first_observed_s=samples.observed_s[groups.starts],
        last_observed_s=samples.observed_s[last],
    )
