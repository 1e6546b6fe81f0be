"""The per-observer breakdown behind a node's latest adverts (§3.3 step 10).

For each node, its 10 adverts first heard most recently, each with every sample: the
observer, the raw and corrected skew, the observer's offset. Built for all nodes at
once, in numpy, as an `EvidenceTable`: columns small enough to send from a compute
child (a few MB at the staging profile, where the same evidence as JSON is 60 MB), from
which one node's dicts are made when that node is asked for.
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

I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]
F64 = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Evidence:
    """One node's `recentHashEvidence` and `calibrationSummary`."""

    hashes: list[JSONValue]
    summary: JSONObject


@dataclass(frozen=True, slots=True)
class EvidenceTable:
    """Every node's evidence as columns; `of(pubkey)` makes one node's `Evidence`.

    Rows are the kept adverts, node after node. Each sample of a row is the index of
    its `observers` entry: an entry is a function of (observer, raw skew) alone, since
    the offset, the corrected skew and `calibrated` all follow from the observer, and at
    the staging profile ~290k samples hold ~29k distinct entries.
    """

    # Per row, columns rather than Python lists: the server unpickles this holding the
    # GIL, and four lists of ~9,000 objects were a quarter of it (bench/result_unpickle.py).
    spans: dict[str, tuple[int, int]]  # public key -> (its first row, its row count)
    content: U64  # per row: the advert's content hash
    timestamp: I64  # per row: when it was first heard
    median: F64  # per row: the median corrected skew (RTC resets left out)
    calibrated: I64  # per row: its samples from calibrated observers
    sample_start: I64  # per row, then one past the last: its first sample
    entry: I32  # per sample: its entry
    who: I32  # per entry: the observer's index
    raw_s: F64
    corrected_s: F64  # rounded to 0.1 s
    offset_s: F64  # rounded to 0.1 s
    entry_calibrated: npt.NDArray[np.bool_]
    observer_ids: list[str]  # per observer index
    observer_names: list[str]

    def of(self, pubkey: str) -> Evidence:
        """One node's evidence (KeyError for a node without clock data)."""
        first, count = self.spans[pubkey]
        bounds = self.sample_start[first : first + count + 1].tolist()
        entries = self._entries(self.entry[bounds[0] : bounds[-1]]) if count else []
        rows = slice(first, first + count)
        contents = self.content[rows].tolist()
        medians = self.median[rows].tolist()
        stamps = self.timestamp[rows].tolist()
        hashes: list[JSONValue] = [
            {
                "hash": f"{contents[k]:016x}",
                "observers": entries[bounds[k] - bounds[0] : bounds[k + 1] - bounds[0]],
                "medianCorrectedSkewSec": medians[k],
                "timestamp": stamps[k],
            }
            for k in range(count)
        ]
        total = bounds[-1] - bounds[0]
        cal = int(self.calibrated[rows].sum())
        summary: JSONObject = {
            "totalSamples": total,
            "calibratedSamples": cal,
            "uncalibratedSamples": total - cal,
        }
        return Evidence(hashes, summary)

    def _entries(self, entry: I32) -> list[JSONValue]:
        """The `observers` entries of these samples; each distinct one made once and shared."""
        distinct, inverse = distinct_inverse(entry)
        ids, names = self.observer_ids, self.observer_names
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
                self.who[distinct].tolist(),
                self.raw_s[distinct].tolist(),
                self.corrected_s[distinct].tolist(),
                self.offset_s[distinct].tolist(),
                self.entry_calibrated[distinct].tolist(),
                strict=True,
            )
        ]
        return list(map(made.__getitem__, inverse.tolist()))


def evidence_table(snap: Snapshot, engine: Engine, nodes: Iterable[NodeSkew]) -> EvidenceTable:
    """The evidence of every node, as columns."""
    h = engine.hashes
    kept = _latest_hashes(h.first_observed_s, h.tx, list(nodes))
    spans: dict[str, tuple[int, int]] = {}
    at = 0
    for pubkey, rows in kept.items():
        spans[pubkey] = (at, len(rows))
        at += len(rows)
    every = np.array([r for rows in kept.values() for r in rows], np.int64)
    counts = h.count[every]
    sample_start = np.zeros(every.shape[0] + 1, np.int64)
    np.cumsum(counts, out=sample_start[1:])
    sample_rows = ranges(h.start[every], counts)
    s = engine.samples
    offset_of, calibrated_of = engine.calibration.by_observer(len(snap.observers))
    observer = s.observer[sample_rows]
    raw = s.raw_s[sample_rows]
    if observer.shape[0]:
        lo = int(raw.min())
        span = int(raw.max()) - lo + 1
        keys, entry = distinct_inverse(observer.astype(np.int64) * span + (raw - lo))
        who, raw_u = keys // span, keys % span + lo
    else:
        entry = who = raw_u = np.zeros(0, np.int64)
    offset = offset_of[who]
    medians = round_array(_evidence_medians(s.corrected_q[sample_rows], counts), 1)
    calibrated = calibrated_of[observer].astype(np.int64)
    per_row = np.add.reduceat(calibrated, sample_start[:-1]) if every.size else calibrated
    return EvidenceTable(
        spans=spans,
        content=snap.tx.hash[h.tx[every]].astype(np.uint64, copy=False),
        timestamp=h.first_observed_s[every].astype(np.int64, copy=False),
        median=medians,
        calibrated=per_row.astype(np.int64, copy=False),
        sample_start=sample_start,
        entry=entry.astype(np.int32),
        who=who.astype(np.int32),
        raw_s=raw_u.astype(np.float64),
        corrected_s=round_array(raw_u + offset, 1),
        offset_s=round_array(offset, 1),
        entry_calibrated=calibrated_of[who],
        observer_ids=[o.id for o in snap.observers],
        observer_names=[o.name or o.id for o in snap.observers],
    )


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
