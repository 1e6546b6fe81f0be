"""Distance (analytics-part-a §4): how long the links are, from the GPS of resolved hops.

Computed on the fly from the snapshot (no incremental index): each transmission's best
path is resolved with its own context in one vectorised batch, GPS-bearing nodes are
chained (sender first), and every consecutive pair up to 300 km is a hop record.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from meshlens.analytics.hops.arrays import distinct_inverse, first_of_runs
from meshlens.analytics.hops.context import best_paths, nodes_per_transmission
from meshlens.analytics.hops.roster import Roster, originator_nodes, roster_of
from meshlens.analytics.query import Query
from meshlens.analytics.scope import region_observers, transmissions_in_region
from meshlens.analytics.stats import histogram, round2, round_array, true_median
from meshlens.geo import EARTH_RADIUS_KM
from meshlens.records import JSONObject, JSONValue
from meshlens.store.snapshot import Snapshot
from meshlens.times import iso_seconds

I64 = npt.NDArray[np.int64]
Ints = npt.NDArray[np.signedinteger[Any]]
F64 = npt.NDArray[np.float64]

MAX_PAIR_KM = 300.0
TOP_HOPS = 20
TOP_PATHS = 20
HISTOGRAM_BINS = 25
CATEGORIES = ("R↔R", "C↔R", "C↔C")


@dataclass(frozen=True, slots=True)
class _Hops:
    """Hop records in transmission then path order, and the distinct links they use.

    The same few thousand links recur in every path, so what depends only on the link
    (its ends, length, type) is kept once per link and looked up through `link`.
    """

    owner: I64  # per record: index into the scope's transmission rows
    link: I64  # per record: index into the link arrays
    dist: F64  # per record, round2
    link_a: I64  # node index of the earlier node in the chain
    link_b: I64
    link_km: F64  # unrounded
    link_dist: F64  # round2
    link_category: npt.NDArray[np.int8]  # index into CATEGORIES
    link_count: I64  # records per link (0 for a link over 300 km)


def compute(snap: Snapshot, query: Query) -> JSONValue:
    """The distance response for one region (distance takes no time window, §4.1)."""
    roster = roster_of(snap)
    scope = snap.tx.best_obs >= 0
    observers = region_observers(snap, query)
    if observers is not None:
        scope &= transmissions_in_region(snap, observers)
    tx_rows = np.flatnonzero(scope).astype(np.int64)
    hops = _hop_records(snap, roster, tx_rows, query.now_ms)
    first_seen = snap.tx.first_seen_ms[tx_rows]
    stamp = _Stamps(first_seen)
    starts = np.flatnonzero(first_of_runs(hops.owner))  # each path's first record
    paths = _paths(snap, roster, hops, tx_rows, stamp, starts=starts)
    used = hops.link_count > 0
    return {
        "summary": {
            "totalHops": int(hops.dist.size),
            "totalPaths": paths[0],
            "avgDist": round2(float(hops.dist.mean())) if hops.dist.size else 0.0,
            "maxDist": round2(float(hops.link_dist[used].max())) if hops.dist.size else 0.0,
        },
        "topHops": _top_hops(snap, roster, hops, tx_rows=tx_rows, stamp=stamp),
        "topPaths": paths[1],
        "catStats": _categories(hops),
        "distHistogram": _histogram(hops),
        "distOverTime": _over_time(hops, first_seen, starts),
    }


def _hop_records(snap: Snapshot, roster: Roster, tx_rows: I64, now_ms: int) -> _Hops:
    """§4.2 steps 1-4: resolve, chain the GPS nodes (sender first), keep pairs <= 300 km."""
    _, owner, hop = best_paths(snap, tx_rows)
    node = nodes_per_transmission(snap, tx_rows, owner, hop, now_ms)
    # GPS nodes numbered densely keep the link keys in a small range (int32 up to 46k
    # GPS nodes: fewer bytes per pass); numbering them in node order keeps the links in
    # (a, b) order. Node -1 (none) has no GPS.
    placed = np.flatnonzero(roster.has_gps)
    wide = placed.shape[0] ** 2 >= 1 << 31
    gps_of: Ints = np.full(roster.node_count + 1, -1, np.int64 if wide else np.int32)
    gps_of[placed] = np.arange(placed.shape[0])
    n = max(placed.shape[0], 1)
    owner, pair = _chain_pairs(gps_of[originator_nodes(snap)[tx_rows]], owner, gps_of[node], n)
    links, link = distinct_inverse(pair)
    la, lb = placed[links // n], placed[links % n]
    link_km = _haversine_km(roster, la, lb)
    far = ~(link_km <= MAX_PAIR_KM)  # §4.2: tested before rounding (NaN is far)
    if far.any():
        keep = np.flatnonzero(~far[link])
        owner, link = owner[keep], link[keep]
    link_dist = round_array(link_km, 2)
    return _Hops(
        owner=owner,
        link=link,
        dist=link_dist[link],
        link_a=la,
        link_b=lb,
        link_km=link_km,
        link_dist=link_dist,
        # 2 repeaters: R↔R, 1: C↔R, 0: C↔C
        link_category=2 - (roster.repeater[la].astype(np.int8) + roster.repeater[lb]),
        link_count=np.bincount(link, minlength=links.shape[0]),
    )


def _chain_pairs(sender: Ints, owner: I64, node: Ints, n: int) -> tuple[I64, Ints]:
    """Consecutive pairs of each chain (sender, then GPS hops in order) as (owner, a * n + b).

    `sender` (per transmission) and `node` (per hop row) are GPS numbers below `n`, -1
    without GPS. Hop rows come grouped by transmission in path order, so a GPS hop's
    predecessor is the GPS hop before it in the same transmission, or else the sender
    if it has GPS.
    """
    placed = np.flatnonzero(node >= 0)
    owner, b = owner[placed], node[placed]
    a = np.empty_like(b)
    a[1:] = b[:-1]
    first = np.flatnonzero(first_of_runs(owner))  # each transmission's first GPS hop
    a[first] = sender[owner[first]]
    kept = np.flatnonzero(a >= 0)
    a *= n
    a += b
    return owner[kept], a[kept]


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
    snap: Snapshot, roster: Roster, hops: _Hops, *, tx_rows: I64, stamp: _Stamps
) -> list[JSONValue]:
    """§4.3 step 4: one entry per unordered pair, its longest record, SNR over all of them.

    Worked out per link: every record of a link has its length, so the pairs are ranked
    by their longest link, and a printed pair's longest record is the earliest of the
    records of its links that long.
    """
    if hops.owner.size == 0:
        return []
    n = max(roster.node_count, 1)
    used = np.flatnonzero(hops.link_count > 0)
    la, lb = hops.link_a[used], hops.link_b[used]
    lo = np.where(roster.rank[la] <= roster.rank[lb], la, lb)
    hi = np.where(lo == la, lb, la)
    pairs, pair_of = distinct_inverse(lo * n + hi)
    longest = np.full(pairs.shape[0], -np.inf)
    np.maximum.at(longest, pair_of, hops.link_dist[used])
    # Longest first; on equal length, the pair of smaller pubkeys (§1.9). Only the pairs
    # as long as the 20th or longer can be printed, so only those are sorted.
    top = np.arange(pairs.shape[0])
    if top.shape[0] > TOP_HOPS:
        cut = -np.partition(-longest, TOP_HOPS - 1)[TOP_HOPS - 1]
        top = np.flatnonzero(longest >= cut)
    top_lo, top_hi = pairs[top] // n, pairs[top] % n
    top = top[np.lexsort((roster.rank[top_hi], roster.rank[top_lo], -longest[top]))][:TOP_HOPS]
    pair_of_link = np.full(hops.link_count.shape[0], -1, np.int64)
    pair_of_link[used] = pair_of
    in_top = np.zeros(pairs.shape[0], np.bool_)
    in_top[top] = True
    link_in_top = np.zeros(hops.link_count.shape[0], np.bool_)
    link_in_top[used] = in_top[pair_of]
    members = np.flatnonzero(link_in_top[hops.link])  # the records of the printed pairs
    member_link = hops.link[members]
    member_pair = pair_of_link[member_link]
    at_longest = hops.link_dist[member_link] == longest[member_pair]
    # The SNR of each member record's transmission (its best observation's).
    member_snr = snap.obs.snr_db[snap.tx.best_obs[tx_rows[hops.owner[members]]]]
    member_snr = member_snr.astype(np.float64)
    out: list[JSONValue] = []
    for p in top.tolist():
        mine = np.flatnonzero(member_pair == p)
        lead = int(mine[np.flatnonzero(at_longest[mine])[0]])  # the pair's longest record
        link, owner = int(member_link[lead]), int(hops.owner[members[lead]])
        values = member_snr[mine]
        values = values[~np.isnan(values)]
        out.append({
            **_ends(roster, int(hops.link_a[link]), int(hops.link_b[link])),
            "dist": float(hops.link_dist[link]),
            "type": CATEGORIES[int(hops.link_category[link])],
            "bestSnr": float(values.max()) if values.size else None,
            "medianSnr": true_median(values) if values.size else None,
            "obsCount": int(mine.size),
            "hash": snap.content_hash(int(tx_rows[owner])),
            "timestamp": stamp.iso(owner),
        })  # fmt: skip
    return out


def _paths(
    snap: Snapshot, roster: Roster, hops: _Hops, tx_rows: I64, stamp: _Stamps, *, starts: I64
) -> tuple[int, list[JSONValue]]:
    """§4.2 step 5 and §4.3 step 5: path records (from their `starts`), and the 20 longest."""
    if hops.owner.size == 0:
        return 0, []
    sizes = np.diff(np.append(starts, hops.owner.shape[0]))
    # bincount adds in record order, as the reference sums a path: same float result.
    km = hops.link_km[hops.link]
    sums = np.asarray(np.bincount(hops.owner, weights=km), np.float64)[hops.owner[starts]]
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
                    {**_ends(roster, a, b), "dist": float(d)}
                    for a, b, d in zip(
                        hops.link_a[hops.link[s : s + n]].tolist(),
                        hops.link_b[hops.link[s : s + n]].tolist(),
                        hops.dist[s : s + n].tolist(),
                        strict=True,
                    )
                ],
            }
        )
    return int(starts.size), out


def _categories(hops: _Hops) -> JSONObject:
    """§4.3 step 2 for each link type (all three always present)."""
    category = hops.link_category[hops.link]
    return {name: _category(hops, category, i) for i, name in enumerate(CATEGORIES)}


def _category(hops: _Hops, category: npt.NDArray[np.int8], i: int) -> JSONObject:
    """Count, mean, upper median, min and max of one type, each rounded to 2 decimals.

    The mean adds the records themselves (the same sum as the reference's); the order
    statistics only need each link's length and record count.
    """
    counts = np.where(hops.link_category == i, hops.link_count, 0)
    total = int(counts.sum())
    if total == 0:
        return {"count": 0, "avg": 0, "median": 0, "min": 0, "max": 0}
    present = np.flatnonzero(counts)
    values, counts = hops.link_dist[present], counts[present]
    order = np.argsort(values, kind="stable")
    upto = np.cumsum(counts[order])
    median = values[order[int(np.searchsorted(upto, total // 2, side="right"))]]
    return {
        "count": total,
        "avg": round2(float(hops.dist[np.flatnonzero(category == i)].mean())),
        "median": round2(float(median)),
        "min": round2(float(values.min())),
        "max": round2(float(values.max())),
    }


def _histogram(hops: _Hops) -> JSONValue:
    """§4.3 step 6: 25 bins, x and w to one decimal; an empty list when there are no hops."""
    if hops.dist.size == 0:
        return []
    return histogram(
        hops.link_dist, HISTOGRAM_BINS, counts=hops.link_count, round_places=1, flat_width=1.0
    )


def _over_time(hops: _Hops, first_seen: I64, starts: I64) -> list[JSONValue]:
    """§4.3 step 3: mean hop length per hour of first_seen (`starts`: each path's first record).

    Hours are counted from the scope's earliest: hours before the first record's only
    add empty slots, which are not printed.
    """
    if hops.dist.size == 0:
        return []
    hour = first_seen // 3_600_000
    base = int(hour.min())
    slot = hour - base  # per transmission
    sums = np.bincount(slot[hops.owner], weights=hops.dist)
    sizes = np.diff(np.append(starts, hops.owner.shape[0]))
    per_path = np.bincount(slot[hops.owner[starts]], weights=sizes, minlength=sums.shape[0])
    counts = per_path.astype(np.int64)
    return [
        {
            "hour": iso_seconds((base + h) * 3_600_000)[:13],
            "avg": round2(sums[h] / counts[h]),
            "count": int(counts[h]),
        }
        for h in np.flatnonzero(counts).tolist()
    ]
