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
from meshlens.analytics.segments import ranges, segments_of
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
    first = h.first_observed_s.tolist()
    tx = h.tx.tolist()
    kept: dict[str, list[int]] = {}
    for node in nodes:
        rows = sorted(node.hashes, key=lambda r: (-first[r], tx[r]))
        kept[node.pubkey] = rows[:EVIDENCE_HASHES]
    every = np.array([r for rows in kept.values() for r in rows], np.int64)
    sample_rows = ranges(h.start[every], h.count[every])
    s = engine.samples
    observer = s.observer[sample_rows]
    ids = np.array([o.id for o in snap.observers], object)
    names = np.array([o.name or o.id for o in snap.observers], object)
    calibrated = s.calibrated[sample_rows]
    # One comprehension over zipped columns for every sample of every kept advert;
    # each advert then takes its slice.
    entries: list[JSONValue] = [
        {
            "observerID": oid,
            "observerName": name,
            "rawSkewSec": raw,
            "correctedSkewSec": corrected,
            "observerOffsetSec": offset,
            "calibrated": cal,
        }
        for oid, name, raw, corrected, offset, cal in zip(
            ids[observer].tolist(),
            names[observer].tolist(),
            s.raw_s[sample_rows].astype(np.float64).tolist(),
            round_array(s.corrected_s[sample_rows], 1).tolist(),
            round_array(s.offset_s[sample_rows], 1).tolist(),
            calibrated.tolist(),
            strict=True,
        )
    ]
    medians = round_array(_evidence_medians(s.corrected_s[sample_rows], h.count[every]), 1)
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
        for r in rows:
            n = counts[k]
            hashes.append(
                {
                    "hash": snap.content_hash(tx[r]),
                    "observers": entries[at : at + n],
                    "medianCorrectedSkewSec": median_list[k],
                    "timestamp": first[r],
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


def _evidence_medians(corrected: npt.NDArray[np.float64], counts: I64) -> npt.NDArray[np.float64]:
    """Per advert, the median corrected skew without RTC resets (HEAD #1285); 0 if none left."""
    group = np.repeat(np.arange(counts.shape[0], dtype=np.int64), counts)
    sane = np.abs(corrected) <= sev.RTC_RESET_S
    values, group = corrected[sane], group[sane]
    order = np.lexsort((values, group))
    values, group = values[order], group[order]
    segs = segments_of(group)
    out = np.zeros(counts.shape[0], np.float64)
    if len(segs):
        out[group[segs.starts]] = segs.medians(values)
    return out
