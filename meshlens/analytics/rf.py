"""RF: signal quality, packet sizes, payload types and traffic per hour (analytics-part-a §3).

Everything is per observation, using each observation's own SNR and RSSI. Two modes
(§3.2): without a region (or with one that matches no observer) the window tests each
transmission's first_seen and every observation of an included transmission counts;
with a region only that region's observers' observations count, each tested against the
window by its own time. Nothing is rounded (§1.7).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from meshlens.analytics.hours import HOUR_MS, dense_codes, hour_label, hours_of
from meshlens.analytics.query import Query
from meshlens.analytics.scope import observations_in_region, region_observers, within
from meshlens.analytics.stats import histogram
from meshlens.analytics.tally import GroupStats, Tally, code, cross_stats, group_stats
from meshlens.analytics.tx_hours import distinct_tx_hours
from meshlens.records import JSONObject, JSONValue
from meshlens.store.snapshot import Snapshot
from meshlens.wire import PayloadType

SNR_BINS = 20
RSSI_BINS = 20
SIZE_BINS = 25
SCATTER_POINTS = 500  # decision 5: at most this many, chosen deterministically
TYPE_CODES = 256  # payload_type is a uint8 column

Bool = npt.NDArray[np.bool_]
I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
F32 = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class Scope:
    """The rows one query covers."""

    obs_rows: I64 | None  # observations counted; None means every observation
    tx_seen: Bool  # transmissions counted once each (the distinct hashes)
    bare_tx: I64  # transmissions with no observation at all (mode G only, §3.2)


@dataclass(frozen=True, slots=True)
class _Obs:
    """The columns of the observations in scope, in store (arrival) order."""

    tx: I32
    ts_ms: I64
    snr: F32
    rssi: F32


@dataclass(frozen=True, slots=True)
class _Signal:
    """SNR statistics: of all samples, per payload type and per observation hour."""

    total: Tally
    types: I64  # the payload type of each per_type group
    per_type: GroupStats
    hours: I64  # the hour number of each per_hour group
    per_hour: GroupStats


def select(snap: Snapshot, query: Query) -> Scope:
    """Which observations and transmissions the query covers, per §3.2's two modes."""
    observers = region_observers(snap, query)
    if observers is not None:
        mask = observations_in_region(snap, observers)
        if query.has_window:
            mask &= within(snap.obs.ts_ms, query)
        rows = np.flatnonzero(mask)
        seen = np.zeros(len(snap.tx), np.bool_)
        seen[snap.obs.tx[rows]] = True
        return Scope(rows, seen, np.empty(0, np.int64))
    bare = snap.tx.obs_count == 0
    if not query.has_window:
        return Scope(None, np.ones(len(snap.tx), np.bool_), np.flatnonzero(bare))
    tx_in = within(snap.tx.first_seen_ms, query)
    rows = np.flatnonzero(tx_in[snap.obs.tx])
    return Scope(rows, tx_in, np.flatnonzero(tx_in & bare))


def compute(snap: Snapshot, query: Query) -> JSONObject:
    """The /api/analytics/rf body for one query shape."""
    scope = select(snap, query)
    obs = _columns(snap, scope.obs_rows)
    # A non-finite value (an observer can send "Infinity") counts as missing: the
    # reference's JSON encoder fails on the mean it would make.
    has_snr = np.isfinite(obs.snr)
    has_rssi = np.isfinite(obs.rssi)
    hours = hours_of(obs.ts_ms)
    # The extremes of the observation times, and so of their hours (floor is monotonic).
    lo_ms, hi_ms = (int(obs.ts_ms.min()), int(obs.ts_ms.max())) if hours.size else (0, -1)
    signal = _signal(snap, obs, hours, (lo_ms // HOUR_MS, hi_ms // HOUR_MS + 1), has_snr)
    snr_all = signal.total
    rssi = code(obs.rssi if has_rssi.all() else obs.rssi[has_rssi]).tally()
    raw_len = snap.tx.raw_len
    sizes = raw_len[scope.tx_seen & (raw_len > 0)].astype(np.int64)
    # Keys in Go's order for a map (sorted), so encoded bytes match the reference's.
    return {
        "avgPacketSize": int(sizes.sum()) // sizes.size if sizes.size else 0,
        "maxPacketSize": int(sizes.max()) if sizes.size else 0,
        "minPacketSize": int(sizes.min()) if sizes.size else 0,
        "packetSizes": histogram(sizes.astype(np.float64), SIZE_BINS),
        "packetsPerHour": _packets_per_hour(snap, obs, hours, scope.bare_tx),
        "payloadTypes": _payload_types(snap, scope.tx_seen),
        "rssi": rssi.summary(),
        "rssiValues": rssi.histogram(RSSI_BINS),
        "scatterData": _scatter(obs, has_snr & has_rssi),
        "signalOverTime": _signal_over_time(signal.hours, signal.per_hour),
        "snr": snr_all.summary(),
        "snrByType": _snr_by_type(signal.types, signal.per_type),
        "snrValues": snr_all.histogram(SNR_BINS),
        "timeSpanHours": _time_span_hours((lo_ms, hi_ms), snap.tx.first_seen_ms[scope.bare_tx]),
        "totalAllPackets": int(obs.tx.size + scope.bare_tx.size),
        "totalPackets": snr_all.n,
        "totalTransmissions": int(np.count_nonzero(scope.tx_seen)),
    }


def payload_type_name(payload_type: int) -> str:
    """§1.1 payload type names with HEAD's GRP_DATA/MULTIPART/RAW_CUSTOM; else UNK(n)."""
    try:
        return PayloadType(payload_type).name
    except ValueError:
        return f"UNK({payload_type})"


def _columns(snap: Snapshot, rows: I64 | None) -> _Obs:
    o = snap.obs
    if rows is None:
        return _Obs(o.tx, o.ts_ms, o.snr_db, o.rssi_dbm)
    return _Obs(o.tx[rows], o.ts_ms[rows], o.snr_db[rows], o.rssi_dbm[rows])


def _packets_per_hour(snap: Snapshot, obs: _Obs, hours: I64, bare_tx: I64) -> list[JSONValue]:
    """Distinct transmissions per hour, bucketed by observation time (§3.2).

    A transmission heard in two hours counts in both. A transmission with no observation
    counts once in the hour of its first_seen.
    """
    first_hour = hours_of(snap.tx.first_seen_ms)
    pair_hours = distinct_tx_hours(obs.tx, hours, first_hour)
    all_hours = np.concatenate([pair_hours, first_hour[bare_tx]])
    codes, keys = dense_codes(all_hours)
    counts = np.bincount(codes, minlength=keys.size)
    return [
        {"hour": hour_label(int(keys[c])), "count": int(counts[c])} for c in np.flatnonzero(counts)
    ]


def _payload_types(snap: Snapshot, tx_seen: Bool) -> list[JSONValue]:
    """Distinct transmissions per payload type, by count desc then type (decision 1)."""
    counts = np.bincount(snap.tx.payload_type[tx_seen], minlength=TYPE_CODES)
    present = np.flatnonzero(counts)
    order = np.lexsort((present, -counts[present]))
    return [
        {"type": int(t), "name": payload_type_name(int(t)), "count": int(counts[t])}
        for t in present[order]
    ]


def _signal(
    snap: Snapshot, obs: _Obs, hours: I64, hour_span: tuple[int, int], has_snr: Bool
) -> _Signal:
    """SNR statistics of all samples, per payload type and per observation hour.

    `hour_span` holds every observation's hour: range(*hour_span).
    """
    every = bool(has_snr.all())
    snr = code(obs.snr if every else obs.snr[has_snr])
    sample_tx, sample_hours = (obs.tx, hours) if every else (obs.tx[has_snr], hours[has_snr])
    payload_type = snap.tx.payload_type
    types = np.flatnonzero(np.bincount(payload_type, minlength=TYPE_CODES))
    type_code = np.zeros(TYPE_CODES, np.uint8)
    type_code[types] = np.arange(types.size)
    tx_type = type_code[payload_type]
    both = cross_stats(sample_hours, hour_span, (tx_type, sample_tx), snr)
    if both is not None:
        return _Signal(both.total, types, both.inner, np.arange(*hour_span), both.outer)
    # Hours over decades (a hostile clock) or too many distinct values: one grouping at a time.
    hour_codes, hour_keys = dense_codes(sample_hours)
    per_type = group_stats(tx_type[sample_tx].astype(np.int64), types.size, snr)
    per_hour = group_stats(hour_codes, hour_keys.size, snr)
    return _Signal(snr.tally(), types, per_type, hour_keys, per_hour)


def _snr_by_type(types: I64, per_type: GroupStats) -> list[JSONValue]:
    """SNR samples per payload type name: count, mean, min, max; by count desc, name."""
    counts = per_type.counts
    rows = sorted(
        (-int(counts[t]), payload_type_name(int(types[t])), int(t)) for t in np.flatnonzero(counts)
    )
    return [
        {
            "name": name,
            "count": -neg,
            "avg": float(per_type.sums[t]) / -neg,
            "min": float(per_type.mins[t]),
            "max": float(per_type.maxs[t]),
        }
        for neg, name, t in rows
    ]


def _signal_over_time(hours: I64, per_hour: GroupStats) -> list[JSONValue]:
    """SNR samples per observation hour and their mean, by hour."""
    counts = per_hour.counts
    return [
        {
            "hour": hour_label(int(hours[c])),
            "count": int(counts[c]),
            "avgSnr": float(per_hour.sums[c]) / int(counts[c]),
        }
        for c in np.flatnonzero(counts)
    ]


def _scatter(obs: _Obs, both: Bool) -> list[JSONValue]:
    """At most 500 (snr, rssi) points, evenly spaced over the arrival order (decision 5).

    Of N points with both values, point i of the sample is the one at index
    floor(i * N / 500): the same input always gives the same points, exactly
    min(N, 500) of them, spread over the whole period instead of the reference's
    every (N // 500)-th point, which keeps 500 to 999.
    """
    idx = np.flatnonzero(both)
    if idx.size > SCATTER_POINTS:
        idx = idx[np.arange(SCATTER_POINTS, dtype=np.int64) * idx.size // SCATTER_POINTS]
    snr = obs.snr[idx].tolist()
    rssi = obs.rssi[idx].tolist()
    return [{"snr": s, "rssi": r} for s, r in zip(snr, rssi, strict=True)]


def _time_span_hours(obs_ms: tuple[int, int], bare_ms: I64) -> float:
    """Hours from the earliest to the latest time in scope (0 when one or none).

    `obs_ms` are the earliest and latest observation times (lo > hi when there are none).
    """
    bounds = [obs_ms] if obs_ms[0] <= obs_ms[1] else []
    if bare_ms.size:
        bounds.append((int(bare_ms.min()), int(bare_ms.max())))
    if not bounds:
        return 0.0
    lo, hi = min(b[0] for b in bounds), max(b[1] for b in bounds)
    return (hi - lo) / HOUR_MS if hi != lo else 0.0
