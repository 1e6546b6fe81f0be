"""The per-observer breakdown behind a node's latest adverts (§3.3 step 10).

For each node, its 10 adverts first heard most recently, each with every sample: the
observer, the raw and corrected skew, the observer's offset. Built for all nodes at
once: the samples of every kept advert are gathered with one index array, rounded in
numpy, and only the dicts themselves are made in Python.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from meshlens.analytics.clockskew import severity as sev
from meshlens.analytics.clockskew.nodes import NodeSkew
from meshlens.analytics.clockskew.samples import Engine
from meshlens.analytics.hops.arrays import distinct_inverse
from meshlens.analytics.segments import ranges, segments_of, sort_pairs
from meshlens.analytics.stats import round_array
from meshlens.records import JSONObject, JSONValue
from meshlens.store.snapshot import Snapshot

EVIDENCE_HASHES = 10

I64 = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Evidence:
    """One node's `recentHashEvidence` and `calibrationSummary`."""

    hashes: list[JSONValue]
    summary: JSONObject


def evidence_of(snap: Snapshot, engine: Engine, nodes: Iterable[NodeSkew]) -> dict[str, Evidence]:
    """The evidence of every node, by public key."""
    h = engine.hashes
    kept = _latest_hashes(h.first_observed_s, h.tx, list(nodes))
    every = np.array([r for rows in kept.values() for r in rows], np.int64)
    content = [f"{v:016x}" for v in snap.tx.hash[h.tx[every]].tolist()]
    first = h.first_observed_s[every].tolist()
    sample_rows = ranges(h.start[every], h.count[every])
    s = engine.samples
    offset_of, calibrated_of = engine.calibration.by_observer(len(snap.observers))
    observer = s.observer[sample_rows]
    calibrated = calibrated_of[observer]
    entries = _entries(snap, offset_of, calibrated_of, observer, s.raw_s[sample_rows])
    medians = round_array(_evidence_medians(s.corrected_q[sample_rows], h.count[every]), 1)
    calibrated_per_hash = np.add.reduceat(calibrated, np.cumsum(h.count[every]) - h.count[every])
    counts = h.count[every].tolist()
    median_list = medians.tolist()
    cal_list = calibrated_per_hash.tolist() if every.size else []
    out: dict[str, Evidence] = {}
    at = 0  # next position in `entries`
    k = 0  # next position in `every`
    for pubkey, rows in kept.items():
        hashes: list[JSONValue] = []
        total = cal = 0
        for _ in rows:
            n = counts[k]
            hashes.append(
                {
                    "hash": content[k],
                    "observers": entries[at : at + n],
                    "medianCorrectedSkewSec": median_list[k],
                    "timestamp": first[k],
                }
            )
            total += n
            cal += cal_list[k]
            at += n
            k += 1
        summary: JSONObject = {
            "totalSamples": total,
            "calibratedSamples": cal,
            "uncalibratedSamples": total - cal,
        }
        out[pubkey] = Evidence(hashes, summary)
    return out


def _latest_hashes(
    first: I64, tx: npt.NDArray[np.int32], nodes: list[NodeSkew]
) -> dict[str, list[int]]:
    """Per node, its EVIDENCE_HASHES hash rows first heard most recently (ties: lower tx).

    One sort over every node's rows instead of a keyed sort per node.
    """
    sizes = np.fromiter((len(n.hashes) for n in nodes), np.int64, len(nodes))
    rows = np.fromiter((r for n in nodes for r in n.hashes), np.int64, int(sizes.sum()))
    owner = np.repeat(np.arange(len(nodes), dtype=np.int64), sizes)
    rows = rows[np.lexsort((tx[rows], -first[rows], owner))]
    keep = np.minimum(sizes, EVIDENCE_HASHES)
    picked = rows[ranges(np.cumsum(sizes) - sizes, keep)].tolist()
    out: dict[str, list[int]] = {}
    at = 0
    for node, n in zip(nodes, keep.tolist(), strict=True):
        out[node.pubkey] = picked[at : at + n]
        at += n
    return out


def _entries(
    snap: Snapshot,
    offset_of: npt.NDArray[np.float64],
    calibrated_of: npt.NDArray[np.bool_],
    observer: npt.NDArray[np.int32],
    raw: I64,
) -> list[JSONValue]:
    """One `observers` entry per sample, each distinct entry made once and shared.

    An entry is a function of (observer, raw skew) alone: the offset, the corrected
    skew and `calibrated` all follow from the observer. At the staging profile the
    ~290k samples of the kept adverts hold ~29k distinct pairs, so most dicts are
    reused (the JSON encoder writes a shared dict like any other).
    """
    if observer.shape[0] == 0:
        return []
    lo = int(raw.min())
    span = int(raw.max()) - lo + 1
    key = observer.astype(np.int64) * span + (raw - lo)
    keys, inverse = distinct_inverse(key)
    who = keys // span
    raw_u = keys % span + lo
    offset = offset_of[who]
    ids = [o.id for o in snap.observers]
    names = [o.name or o.id for o in snap.observers]
    made: list[JSONValue] = [
        {
            "observerID": ids[o],
            "observerName": names[o],
            "rawSkewSec": r,
            "correctedSkewSec": corrected,
            "observerOffsetSec": off,
            "calibrated": cal,
        }
        for o, r, corrected, off, cal in zip(
            who.tolist(),
            raw_u.astype(np.float64).tolist(),
            round_array(raw_u + offset, 1).tolist(),
            round_array(offset, 1).tolist(),
            calibrated_of[who].tolist(),
            strict=True,
        )
    ]
    return list(map(made.__getitem__, inverse.tolist()))


def _evidence_medians(quarters: I64, counts: I64) -> npt.NDArray[np.float64]:
    """Per advert, the median corrected skew without RTC resets (HEAD #1285); 0 if none left.

    `quarters` are the corrected skews in quarter seconds (samples.py), sorted as integers.
    """
    group = np.repeat(np.arange(counts.shape[0], dtype=np.int64), counts)
    sane = np.abs(quarters) <= 4 * sev.RTC_RESET_S
    group, quarters = sort_pairs(group[sane], quarters[sane])
    segs = segments_of(group)
    out = np.zeros(counts.shape[0], np.float64)
    if len(segs):
        out[group[segs.starts]] = segs.medians(quarters / 4.0)
    return out
