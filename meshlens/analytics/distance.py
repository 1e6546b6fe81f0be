"""Distance (analytics-part-a §4): how long the links are, from the GPS of resolved hops.

Computed on the fly from the snapshot (no incremental index): each transmission's best
path is resolved with its own context in one vectorised batch, GPS-bearing nodes are
chained (sender first), and every consecutive pair up to 300 km is a hop record.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from meshlens.analytics.hops.arrays import distinct_inverse, first_of_runs
from meshlens.analytics.hops.context import best_paths, resolve_per_transmission
from meshlens.analytics.hops.roster import Roster, originator_nodes, roster_of
from meshlens.analytics.query import Query
from meshlens.analytics.scope import region_observers, transmissions_in_region
from meshlens.analytics.stats import histogram, round2, round_array, true_median
from meshlens.geo import EARTH_RADIUS_KM
from meshlens.records import JSONObject, JSONValue
from meshlens.store.snapshot import Snapshot
from meshlens.times import iso_seconds

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]

MAX_PAIR_KM = 300.0
TOP_HOPS = 20
TOP_PATHS = 20
HISTOGRAM_BINS = 25
CATEGORIES = ("R↔R", "C↔R", "C↔C")


@dataclass(frozen=True, slots=True)
class _Hops:
    """Hop records in transmission then path order."""

    owner: I64  # index into the scope's transmission rows
    a: I64  # node index of the earlier node in the chain
    b: I64
    km: F64  # unrounded
    dist: F64  # round2
    category: I64  # index into CATEGORIES


def compute(snap: Snapshot, query: Query) -> JSONValue:
    """The distance response for one region (distance takes no time window, §4.1)."""
    roster = roster_of(snap)
    scope = snap.tx.best_obs >= 0
    observers = region_observers(snap, query)
    if observers is not None:
        scope &= transmissions_in_region(snap, observers)
    tx_rows = np.flatnonzero(scope).astype(np.int64)
    hops = _hop_records(snap, roster, tx_rows, query.now_ms)
    snr = snap.obs.snr_db[snap.tx.best_obs[tx_rows]].astype(np.float64)
    first_seen = snap.tx.first_seen_ms[tx_rows]
    stamp = _Stamps(first_seen)
    paths = _paths(snap, roster, hops, tx_rows, stamp)
    return {
        "summary": {
            "totalHops": int(hops.dist.size),
            "totalPaths": paths[0],
            "avgDist": round2(float(hops.dist.mean())) if hops.dist.size else 0.0,
            "maxDist": round2(float(hops.dist.max())) if hops.dist.size else 0.0,
        },
        "topHops": _top_hops(snap, roster, hops, tx_rows=tx_rows, snr=snr, stamp=stamp),
        "topPaths": paths[1],
        "catStats": {
            name: _category(hops.dist[hops.category == i]) for i, name in enumerate(CATEGORIES)
        },
        "distHistogram": _histogram(hops.dist),
        "distOverTime": _over_time(hops, first_seen),
    }


def _hop_records(snap: Snapshot, roster: Roster, tx_rows: I64, now_ms: int) -> _Hops:
    """§4.2 steps 1-4: resolve, chain the GPS nodes (sender first), keep pairs <= 300 km."""
    _, owner, hop = best_paths(snap, tx_rows)
    node = resolve_per_transmission(snap, tx_rows, owner, hop, now_ms).node
    chain_owner, chain_node = _chain(roster, originator_nodes(snap)[tx_rows], owner, node)
    same = chain_owner[1:] == chain_owner[:-1]
    pair_owner = chain_owner[1:][same]
    a, b = chain_node[:-1][same], chain_node[1:][same]
    # The same few thousand links recur in every path: measure each distinct one once.
    links, inverse = distinct_inverse(a * max(roster.node_count, 1) + b)
    la, lb = links // max(roster.node_count, 1), links % max(roster.node_count, 1)
    link_km = _haversine_km(roster, la, lb)
    link_category = 2 - (roster.repeater[la].astype(np.int64) + roster.repeater[lb])
    km = link_km[inverse]
    keep = km <= MAX_PAIR_KM  # §4.2: strictly greater is dropped, tested before rounding
    inverse = inverse[keep]
    return _Hops(
        owner=pair_owner[keep],
        a=a[keep],
        b=b[keep],
        km=km[keep],
        dist=round_array(link_km, 2)[inverse],
        category=link_category[inverse],  # 2 repeaters: R↔R, 1: C↔R, 0: C↔C
    )


def _first_seen(values: I64) -> npt.NDArray[np.bool_]:
    """True at the first occurrence of each value (order kept)."""
    order = np.argsort(values, kind="stable")
    lead = first_of_runs(values[order])
    out = np.zeros(values.shape[0], np.bool_)
    out[order[lead]] = True
    return out


def _chain(roster: Roster, sender: I64, owner: I64, node: I64) -> tuple[I64, I64]:
    """GPS-bearing nodes in chain order: each transmission's sender, then its hops in order.

    Hop rows come grouped by transmission, so the sender slots in by counting, not sorting.
    """
    placed = node >= 0
    placed[placed] = roster.has_gps[node[placed]]
    owner, node = owner[placed], node[placed]
    has_sender = sender >= 0
    has_sender[has_sender] = roster.has_gps[sender[has_sender]]
    senders_upto = np.cumsum(has_sender)  # senders of transmissions <= o
    per_tx = np.bincount(owner, minlength=sender.shape[0])
    hops_before = np.cumsum(per_tx) - per_tx
    s_owner = np.flatnonzero(has_sender)
    out_owner = np.empty(owner.shape[0] + s_owner.shape[0], np.int64)
    out_node = np.empty_like(out_owner)
    hop_pos = np.arange(owner.shape[0]) + senders_upto[owner] if owner.size else owner
    s_pos = hops_before[s_owner] + senders_upto[s_owner] - 1
    out_owner[hop_pos], out_node[hop_pos] = owner, node
    out_owner[s_pos], out_node[s_pos] = s_owner, sender[s_owner]
    return out_owner, out_node


def _haversine_km(roster: Roster, a: I64, b: I64) -> F64:
    lat, lon, cos_lat = _radians(roster)
    la, lb = lat[a], lat[b]
    h = np.sin((lb - la) / 2) ** 2 + cos_lat[a] * cos_lat[b] * np.sin((lon[b] - lon[a]) / 2) ** 2
    return np.asarray(2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.minimum(h, 1.0))), np.float64)


def _radians(roster: Roster) -> tuple[F64, F64, F64]:
    return roster.lat_rad, roster.lon_rad, np.cos(roster.lat_rad)


class _Stamps:
    """Transmission first-seen times as the reference prints them, formatted on demand."""

    def __init__(self, first_seen_ms: I64) -> None:
        self._ms = first_seen_ms

    def iso(self, owner: int) -> str:
        """RFC3339 second precision (the reference's first_seen text)."""
        return iso_seconds(int(self._ms[owner]))


def _ends(roster: Roster, a: int, b: int) -> JSONObject:
    return {"fromName": roster.names[a], "fromPk": roster.keys[a],
            "toName": roster.names[b], "toPk": roster.keys[b]}  # fmt: skip


def _top_hops(
    snap: Snapshot, roster: Roster, hops: _Hops, *, tx_rows: I64, snr: F64, stamp: _Stamps
) -> list[JSONValue]:
    """§4.3 step 4: one entry per unordered pair, its longest record, SNR over all of them.

    Only the 20 longest pairs are printed, so only the longest records are sorted: take
    the top K records (every record tied with the K-th too), and widen K until they hold
    20 distinct pairs.
    """
    n = hops.dist.size
    if n == 0:
        return []
    lo = np.where(roster.rank[hops.a] <= roster.rank[hops.b], hops.a, hops.b)
    hi = np.where(lo == hops.a, hops.b, hops.a)
    pair = lo * roster.node_count + hi
    k = min(n, 256)
    while True:
        cut = -np.partition(-hops.dist, k - 1)[k - 1]
        top = np.flatnonzero(hops.dist >= cut)
        top = top[np.lexsort((top, -hops.dist[top]))]  # longest first, then record order
        first = np.flatnonzero(_first_seen(pair[top]))
        if first.size >= TOP_HOPS or k == n:
            break
        k = min(n, k * 4)
    winners = top[np.sort(first)]
    # Longest first; on equal length, the pair of smaller pubkeys (§1.9).
    winners = winners[np.lexsort((roster.rank[hi[winners]], roster.rank[lo[winners]],
                                  -hops.dist[winners]))][:TOP_HOPS]  # fmt: skip
    chosen = np.flatnonzero(np.isin(pair, pair[winners]))
    out: list[JSONValue] = []
    for r in winners.tolist():
        members = chosen[pair[chosen] == pair[r]]
        values = snr[hops.owner[members]]
        values = values[~np.isnan(values)]
        owner = int(hops.owner[r])
        out.append({
            **_ends(roster, int(hops.a[r]), int(hops.b[r])),
            "dist": float(hops.dist[r]),
            "type": CATEGORIES[int(hops.category[r])],
            "bestSnr": float(values.max()) if values.size else None,
            "medianSnr": true_median(values) if values.size else None,
            "obsCount": int(members.size),
            "hash": snap.content_hash(int(tx_rows[owner])),
            "timestamp": stamp.iso(owner),
        })  # fmt: skip
    return out


def _paths(
    snap: Snapshot, roster: Roster, hops: _Hops, tx_rows: I64, stamp: _Stamps
) -> tuple[int, list[JSONValue]]:
    """§4.2 step 5 and §4.3 step 5: path records, and the 20 longest."""
    if hops.owner.size == 0:
        return 0, []
    lead = first_of_runs(hops.owner)
    starts = np.flatnonzero(lead)
    sizes = np.diff(np.append(starts, hops.owner.shape[0]))
    # bincount adds in record order, as the reference sums a path: same float result.
    sums = np.asarray(np.bincount(hops.owner, weights=hops.km), np.float64)[hops.owner[starts]]
    totals = round_array(sums, 2)
    # Only the 20 longest are printed: sort just the paths tied with the 20th or longer.
    k = min(TOP_PATHS, totals.shape[0])
    cut = -np.partition(-totals, k - 1)[k - 1]
    near = np.flatnonzero(totals >= cut)
    hashes = snap.tx.hash[tx_rows[hops.owner[starts[near]]]]
    pick = near[np.lexsort((hashes, -totals[near]))][:TOP_PATHS]
    out: list[JSONValue] = []
    for i in pick.tolist():
        s, n = int(starts[i]), int(sizes[i])
        owner = int(hops.owner[s])
        out.append(
            {
                "hash": snap.content_hash(int(tx_rows[owner])),
                "totalDist": float(totals[i]),
                "hopCount": n,
                "timestamp": stamp.iso(owner),
                "hops": [
                    {**_ends(roster, int(hops.a[r]), int(hops.b[r])), "dist": float(hops.dist[r])}
                    for r in range(s, s + n)
                ],
            }
        )
    return int(starts.size), out


def _category(dist: F64) -> JSONObject:
    """§4.3 step 2: count, mean, upper median, min and max, each rounded to 2 decimals."""
    if dist.size == 0:
        return {"count": 0, "avg": 0, "median": 0, "min": 0, "max": 0}
    return {
        "count": int(dist.size),
        "avg": round2(float(dist.mean())),
        "median": round2(float(np.partition(dist, dist.size // 2)[dist.size // 2])),
        "min": round2(float(dist.min())),
        "max": round2(float(dist.max())),
    }


def _histogram(dist: F64) -> JSONValue:
    """§4.3 step 6: 25 bins, x and w to one decimal; an empty list when there are no hops."""
    if dist.size == 0:
        return []
    return histogram(dist, HISTOGRAM_BINS, round_places=1, flat_width=1.0)


def _over_time(hops: _Hops, first_seen: I64) -> list[JSONValue]:
    """§4.3 step 3: mean hop length per hour of first_seen."""
    if hops.dist.size == 0:
        return []
    hour = first_seen[hops.owner] // 3_600_000
    base = int(hour.min())
    slot = hour - base
    counts = np.bincount(slot)
    sums = np.bincount(slot, weights=hops.dist)
    return [
        {
            "hour": iso_seconds((base + h) * 3_600_000)[:13],
            "avg": round2(sums[h] / counts[h]),
            "count": int(counts[h]),
        }
        for h in np.flatnonzero(counts).tolist()
    ]
