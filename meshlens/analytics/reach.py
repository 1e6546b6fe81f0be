"""Per-observer reach (analytics-part-a §2.3 steps 3, 12-15): how far each hop is from observers.

Keyed by (observer, hop id): the smallest and largest distance in hops and the count of
occurrences, computed with one sort over all hop occurrences of the scope's best paths.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from meshlens.analytics.hops.arrays import distinct, first_of_runs
from meshlens.records import JSONValue

I64 = npt.NDArray[np.int64]

MAX_RING = 15
MULTI_OBS_CAP = 50
BEST_PATH_CAP = 50


@dataclass(frozen=True, slots=True)
class Reach:
    """One row per (observer, hop id), sorted by observer then hop."""

    observer: I64
    hop: I64
    min_dist: I64
    max_dist: I64
    count: I64


def reach_of(observer: I64, hop: I64, dist: I64, n_hops: int) -> Reach:
    """Group hop occurrences (observer, hop, distance) into reach rows."""
    if hop.size == 0:
        e = np.empty(0, np.int64)
        return Reach(e, e, e, e, e)
    # dist < 256, so one sorted int64 key holds pair and distance: each pair's run then
    # starts at its smallest distance and ends at its largest. Sorting the keys alone
    # (no argsort, no gathers) costs a third of the argsort at staging scale.
    key = (observer * max(n_hops, 1) + hop) * 256 + dist
    key.sort()
    pair, sorted_dist = key >> 8, key & 255
    lead = first_of_runs(pair)
    starts = np.flatnonzero(lead)
    ends = np.append(starts[1:], pair.shape[0]) - 1
    return Reach(
        observer=pair[starts] // max(n_hops, 1),
        hop=pair[starts] % max(n_hops, 1),
        min_dist=sorted_dist[starts],
        max_dist=sorted_dist[ends],
        count=ends - starts + 1,
    )


@dataclass(frozen=True, slots=True)
class Labels:
    """How to print hops and observers: hex, resolved name and pubkey, observer id and name."""

    hop_hex: list[str]  # per hop id
    hop_rank: I64  # per hop id: order of its hex string
    hop_node: Callable[[int], tuple[str | None, str | None]]  # hop id -> (name, pubkey)
    observer_id: list[str]
    observer_name: list[str]
    hidden: Callable[[str | None], bool]  # a blacklisted pubkey (decision 3)


def per_observer_reach(reach: Reach, labels: Labels) -> dict[str, JSONValue]:
    """§2.3 step 12: rings 1..15 per observer, nodes by count desc (then hop) in each ring."""
    out: dict[str, JSONValue] = {}
    order = np.lexsort((labels.hop_rank[reach.hop], -reach.count, reach.min_dist, reach.observer))
    obs_s, hop_s = reach.observer[order], reach.hop[order]
    lo_s, hi_s, cnt_s = reach.min_dist[order], reach.max_dist[order], reach.count[order]
    for o in distinct(obs_s).tolist():
        oid = labels.observer_id[o]
        out[oid] = {"observer_name": labels.observer_name[o] or oid, "rings": []}
    rings_of: dict[int, list[JSONValue]] = {}
    current: tuple[int, int] = (-1, -1)
    nodes: list[JSONValue] = []
    entry_cache: dict[int, tuple[str, str | None, str | None]] = {}
    for o, h, lo, hi, n in zip(
        obs_s.tolist(), hop_s.tolist(), lo_s.tolist(), hi_s.tolist(), cnt_s.tolist(), strict=True
    ):
        if lo > MAX_RING:
            continue
        label = entry_cache.get(h)
        if label is None:
            name, pubkey = labels.hop_node(h)
            label = entry_cache[h] = (labels.hop_hex[h], name, pubkey)
        if labels.hidden(label[2]):
            continue
        if (o, lo) != current:
            current = (o, lo)
            nodes = []
            ring = rings_of.setdefault(o, [])
            ring.append({"hops": lo, "nodes": nodes})
        dist_range = None if lo == hi else f"{lo}-{hi}"
        nodes.append(
            {
                "hop": label[0],
                "name": label[1],
                "pubkey": label[2],
                "count": n,
                "distRange": dist_range,
            }
        )
    for o, rings in rings_of.items():
        entry = out[labels.observer_id[o]]
        assert isinstance(entry, dict)
        entry["rings"] = rings
    return out


def cross_observer(reach: Reach, labels: Labels) -> tuple[list[JSONValue], list[JSONValue]]:
    """§2.3 steps 13-15: multiObsNodes (hops seen by 2+ observers) and bestPathList."""
    oid = labels.observer_id
    # Per hop: its observers by minDist, then observer id (§1.9), as one sort.
    obs_rank = np.argsort(np.argsort(np.array(oid, dtype=object))) if oid else np.empty(0, int)
    order = np.lexsort((obs_rank[reach.observer], reach.min_dist, reach.hop))
    hop_s = reach.hop[order]
    lead = first_of_runs(hop_s)
    starts = np.flatnonzero(lead)
    sizes = np.diff(np.append(starts, hop_s.shape[0]))
    hops = hop_s[starts]
    visible = np.array([not labels.hidden(labels.hop_node(int(h))[1]) for h in hops], np.bool_)
    multi: list[JSONValue] = []
    pick = np.flatnonzero((sizes > 1) & visible)
    pick = pick[np.lexsort((labels.hop_rank[hops[pick]], -sizes[pick]))][:MULTI_OBS_CAP]
    for i in pick.tolist():
        rows = order[starts[i] : starts[i] + sizes[i]]
        h = int(hops[i])
        name, pubkey = labels.hop_node(h)
        observers: list[JSONValue] = [
            {
                "observer_id": oid[o],
                "observer_name": labels.observer_name[o],
                "minDist": d,
                "count": n,
            }
            for o, d, n in zip(
                reach.observer[rows].tolist(),
                reach.min_dist[rows].tolist(),
                reach.count[rows].tolist(),
                strict=True,
            )
        ]
        multi.append({"hop": labels.hop_hex[h], "name": name, "pubkey": pubkey,
                      "observers": observers})  # fmt: skip
    best: list[JSONValue] = []
    first = order[starts]
    pick = np.flatnonzero(visible)
    pick = pick[np.lexsort((labels.hop_rank[hops[pick]], reach.min_dist[first[pick]]))]
    for i in pick[:BEST_PATH_CAP].tolist():
        r = int(first[i])
        h = int(hops[i])
        name, pubkey = labels.hop_node(h)
        o = int(reach.observer[r])
        best.append(
            {
                "hop": labels.hop_hex[h],
                "name": name,
                "pubkey": pubkey,
                "minDist": int(reach.min_dist[r]),
                "observer_id": oid[o],
                "observer_name": labels.observer_name[o],
            }
        )
    return multi, best
