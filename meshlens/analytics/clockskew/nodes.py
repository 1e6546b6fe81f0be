"""One clock-skew view per node, from its own adverts only (§3.3, decision 7).

A node's points are its adverts' per-hash median skews (rounded to 0.1 s, as the
reference feeds them on) at each advert's latest observation time. The recent window
decides the severity; RTC resets (|skew| > 24 h) are left out of it (HEAD #1285). The
reference also mixes in adverts a repeater merely relayed; meshlens attributes an
advert to its signer only (`tx.from_key`), so a repeater never inherits a relayed
node's bad clock.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass

import numpy as np

from meshlens.analytics.clockskew import severity as sev
from meshlens.analytics.clockskew.drift import drift_per_day
from meshlens.analytics.clockskew.recent import BadSample, median, recent_window, recent_windows
from meshlens.analytics.clockskew.samples import I32, I64, Engine, engine_of
from meshlens.analytics.segments import Segments, segments_of
from meshlens.analytics.stats import round_array
from meshlens.store.snapshot import Snapshot

MIN_DRIFT_POINTS = 5
MAX_DRIFT_PER_DAY_S = 86_400.0  # beyond this the "drift" is a reset, not a slope


@dataclass(frozen=True, slots=True)
class NodeSkew:
    """A node's clock as its own adverts show it (unrounded; views round)."""

    pubkey: str
    mean_s: float
    median_s: float
    last_s: float
    recent_s: float
    drift_per_day_s: float
    severity: str
    sample_count: int
    calibrated: bool
    last_advert_ts: int
    last_observed_s: int
    good_fraction: float
    recent_bad: int
    recent_count: int
    bad_samples: tuple[BadSample, ...]
    hashes: tuple[int, ...]  # rows of Engine.hashes, by (latest observation, tx row)
    ts: tuple[int, ...]  # each advert's latest observation time, ascending
    skews: tuple[float, ...]  # each advert's median skew, rounded to 0.1 s


@dataclass(frozen=True, slots=True)
class Posture:
    """What roles reads of a node's clock: recent and latest skew, and the severity."""

    recent_s: float
    last_s: float
    severity: str


def node_skews(snap: Snapshot) -> dict[str, NodeSkew]:
    """Every node with clock data, by public key (ascending); computed once per snapshot."""
    return snap.memo("clockskew.nodes", lambda: build_node_skews(snap, engine_of(snap)))


def node_postures(snap: Snapshot) -> dict[str, Posture]:
    """Every node's posture, by public key: `node_skews` without drift and detail.

    Roles needs only this; taken from the full views when this snapshot has them
    already (one compute round), else judged alone, which skips the Theil-Sen slopes
    and the per-node records.
    """

    def build() -> dict[str, Posture]:
        full: dict[str, NodeSkew] | None = snap.derived.get("clockskew.nodes")
        if full is not None:
            return {pk: Posture(n.recent_s, n.last_s, n.severity) for pk, n in full.items()}
        return _postures(snap, engine_of(snap))

    return snap.memo("clockskew.postures", build)


def _postures(snap: Snapshot, engine: Engine) -> dict[str, Posture]:
    """Every signer's posture, judged for all nodes at once (`recent_windows`)."""
    h = engine.hashes
    signer, rows, per_node = _by_signer(snap, engine)
    if len(per_node) == 0:
        return {}
    ts = h.last_observed_s[rows]
    ends = per_node.ends
    # The latest advert by observation time; among ties the first. ts ascends within a
    # node, so the ties with its newest are the segment's last `tied` rows.
    tied = np.add.reduceat((ts == per_node.spread(ts[ends - 1])).astype(np.int64), per_node.starts)
    last = h.last_s[rows[ends - tied]].tolist()
    recent, severity = recent_windows(ts, round_array(h.median_s[rows], 1), per_node)
    keys = signer[rows[per_node.starts]].tolist()
    return {
        snap.strings[key]: Posture(r, la, sv)
        for key, r, la, sv in zip(keys, recent, last, severity, strict=True)
    }


def _by_signer(snap: Snapshot, engine: Engine) -> tuple[I32, I64, Segments]:
    """Each advert's signer, and the adverts with one by (signer, latest observation, tx)."""
    h = engine.hashes
    signer = snap.tx.from_key[h.tx]
    rows = np.flatnonzero(signer >= 0)
    rows = rows[np.lexsort((h.tx[rows], h.last_observed_s[rows], signer[rows]))]
    return signer, rows, segments_of(signer[rows])


@dataclass(frozen=True, slots=True)
class _Series:
    """One node's adverts in time order, as plain lists (the per-node work is Python)."""

    pubkey: str
    ts: list[int]
    skew: list[float]
    tx: list[int]
    advert: list[int]
    hashes: list[int]
    last_s: float  # corrected skew of the latest advert's latest observation
    last_advert_ts: int
    sample_count: int
    calibrated: bool


def _series(snap: Snapshot, engine: Engine) -> list[_Series]:
    """Each signer's adverts, by (latest observation, tx row); signers by string id."""
    h = engine.hashes
    signer, rows, per_node = _by_signer(snap, engine)
    ts = h.last_observed_s[rows].tolist()
    skew = round_array(h.median_s[rows], 1).tolist()
    last = h.last_s[rows].tolist()
    advert = h.advert_ts[rows].tolist()
    tx = h.tx[rows].tolist()
    hash_rows = rows.tolist()
    keys = signer[rows[per_node.starts]].tolist() if len(per_node) else []
    samples = per_node.sums(h.count[rows].astype(np.float64)).astype(np.int64).tolist()
    calibrated = (per_node.sums(h.calibrated[rows].astype(np.float64)) > 0).tolist()
    out: list[_Series] = []
    for k, (a, n) in enumerate(
        zip(per_node.starts.tolist(), per_node.counts.tolist(), strict=True)
    ):
        b = a + n
        node_ts = ts[a:b]
        # The latest advert by observation time; among ties the first (lowest row).
        j = a + bisect_left(node_ts, node_ts[-1])
        out.append(
            _Series(
                pubkey=snap.strings[keys[k]],
                ts=node_ts,
                skew=skew[a:b],
                tx=tx[a:b],
                advert=advert[a:b],
                hashes=hash_rows[a:b],
                last_s=last[j],
                last_advert_ts=advert[j],
                sample_count=samples[k],
                calibrated=calibrated[k],
            )
        )
    return out


def build_node_skews(snap: Snapshot, engine: Engine) -> dict[str, NodeSkew]:
    """Group each advert's skew under its signer and judge each node's clock."""
    out: dict[str, NodeSkew] = {}
    for node in _series(snap, engine):
        out[node.pubkey] = _judge(
            node.pubkey,
            node.ts,
            node.skew,
            last_s=node.last_s,
            last_advert_ts=node.last_advert_ts,
            tx=node.tx,
            advert=node.advert,
            sample_count=node.sample_count,
            calibrated=node.calibrated,
            hashes=tuple(node.hashes),
        )
    return dict(sorted(out.items()))


def _judge(
    pubkey: str,
    ts: list[int],
    skew: list[float],
    *,
    last_s: float,
    last_advert_ts: int,
    tx: list[int],
    advert: list[int],
    sample_count: int,
    calibrated: bool,
    hashes: tuple[int, ...],
) -> NodeSkew:
    """§3.3 steps 5-8 with HEAD's three-way split of the recent window."""
    n = len(ts)
    recent_s, severity, fraction, bad, counted = recent_window(ts, skew, tx, advert)
    drift = 0.0
    if severity not in (sev.NO_CLOCK, sev.BIMODAL_CLOCK) and n >= MIN_DRIFT_POINTS:
        drift = drift_per_day(ts, skew)
        if abs(drift) > MAX_DRIFT_PER_DAY_S:
            drift = 0.0
    return NodeSkew(
        pubkey=pubkey,
        mean_s=sum(skew) / n,
        median_s=median(skew),
        last_s=last_s,
        recent_s=recent_s,
        drift_per_day_s=drift,
        severity=severity,
        sample_count=sample_count,
        calibrated=calibrated,
        last_advert_ts=last_advert_ts,
        last_observed_s=ts[-1],
        good_fraction=fraction,
        recent_bad=len(bad),
        recent_count=counted,
        bad_samples=tuple(bad),
        hashes=hashes,
        ts=tuple(ts),
        skews=tuple(skew),
    )
