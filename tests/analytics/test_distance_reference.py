"""Distance's vectorised records against a literal Python reading of §4.2-4.3.

Random small meshes (colliding prefixes, nodes with and without GPS, some far apart, the
same links in both directions) go through `distance.compute`; the reference takes the
same hop resolution and builds every record, pair and path one by one.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from meshlens.analytics import distance
from meshlens.analytics.hops.context import best_paths, resolve_per_transmission
from meshlens.analytics.hops.roster import originator_nodes, roster_of
from meshlens.analytics.query import Query
from meshlens.analytics.stats import histogram, round2, round_array, true_median
from meshlens.store.snapshot import Snapshot
from meshlens.times import iso_seconds
from tests.analytics.meshes import HOUR, T0, Mesh

PREFIXES = ["a1", "a2", "b1", "b2", "c1", "c2", "d1", "e1"]
ROLES = ["repeater", "room", "companion"]
PLACES = [None, (47.0, -122.0), (47.1, -122.0), (47.0, -122.3), (47.5, -121.9), (50.0, -122.0)]

node_st = st.tuples(st.sampled_from(PREFIXES), st.sampled_from(ROLES), st.sampled_from(PLACES))
tx_st = st.tuples(
    st.lists(st.sampled_from([p[:2].upper() for p in PREFIXES] + ["FF"]), max_size=6),
    st.one_of(st.none(), st.integers(0, 7)),  # the sender: a node by position
    st.sampled_from([None, 2.5, 6.0, 9.25]),
    st.integers(0, 3),  # hour
)


def _reference(snap: Snapshot) -> dict[str, Any]:
    """§4.2-4.3 one record at a time, with the resolver's picks."""
    roster = roster_of(snap)
    rows = np.flatnonzero(snap.tx.best_obs >= 0).astype(np.int64)
    _, owner, hop = best_paths(snap, rows)
    node = resolve_per_transmission(snap, rows, owner, hop, T0).node.tolist()
    sender = originator_nodes(snap)[rows].tolist()
    gps = roster.has_gps.tolist()
    records: list[tuple[int, int, int, float]] = []  # owner, a, b, km
    for i in range(rows.size):
        chain = [sender[i]] if sender[i] >= 0 and gps[sender[i]] else []
        chain += [
            n for o, n in zip(owner.tolist(), node, strict=True) if o == i and n >= 0 and gps[n]
        ]
        for a, b in itertools.pairwise(chain):
            km = float(distance._haversine_km(roster, np.array([a]), np.array([b]))[0])
            if km <= 300.0:
                records.append((i, a, b, km))
    dist = [float(round_array(np.array([km]), 2)[0]) for *_, km in records]
    kind = [2 - int(roster.repeater[a]) - int(roster.repeater[b]) for _, a, b, _ in records]
    snr = snap.obs.snr_db[snap.tx.best_obs[rows]].astype(np.float64)

    def ends(a: int, b: int) -> dict[str, Any]:
        return {"fromName": roster.names[a], "fromPk": roster.keys[a],
                "toName": roster.names[b], "toPk": roster.keys[b]}  # fmt: skip

    pairs: dict[tuple[str, str], list[int]] = {}
    for r, (_, a, b, _) in enumerate(records):
        pairs.setdefault(tuple(sorted((roster.keys[a], roster.keys[b]))), []).append(r)  # type: ignore[arg-type]
    top = []
    for pk, members in pairs.items():
        win = max(members, key=lambda r: (dist[r], -r))
        values = [float(snr[records[r][0]]) for r in members if not np.isnan(snr[records[r][0]])]
        t = records[win][0]
        top.append((-dist[win], pk, {
            **ends(records[win][1], records[win][2]), "dist": float(dist[win]),
            "type": distance.CATEGORIES[kind[win]],
            "bestSnr": max(values) if values else None,
            "medianSnr": true_median(np.array(values)) if values else None,
            "obsCount": len(members), "hash": snap.content_hash(int(rows[t])),
            "timestamp": iso_seconds(int(snap.tx.first_seen_ms[rows[t]])),
        }))  # fmt: skip
    paths = []
    for i in sorted({r[0] for r in records}):
        mine = [r for r in range(len(records)) if records[r][0] == i]
        total = float(round_array(np.array([sum(records[r][3] for r in mine)]), 2)[0])
        paths.append((-total, int(snap.tx.hash[rows[i]]), {
            "hash": snap.content_hash(int(rows[i])), "totalDist": total, "hopCount": len(mine),
            "timestamp": iso_seconds(int(snap.tx.first_seen_ms[rows[i]])),
            "hops": [{**ends(records[r][1], records[r][2]), "dist": float(dist[r])} for r in mine],
        }))  # fmt: skip
    cats = {}
    for c, name in enumerate(distance.CATEGORIES):
        v = np.array([d for d, k in zip(dist, kind, strict=True) if k == c])
        cats[name] = (
            {"count": int(v.size), "avg": round2(float(v.mean())),
             "median": round2(float(np.sort(v)[v.size // 2])),
             "min": round2(float(v.min())), "max": round2(float(v.max()))}
            if v.size else {"count": 0, "avg": 0, "median": 0, "min": 0, "max": 0}
        )  # fmt: skip
    hours: dict[int, list[float]] = {}
    for (i, *_), d in zip(records, dist, strict=True):
        hours.setdefault(int(snap.tx.first_seen_ms[rows[i]]) // HOUR, []).append(d)
    all_d = np.array(dist)
    return {
        "summary": {
            "totalHops": len(records), "totalPaths": len(paths),
            "avgDist": round2(float(all_d.mean())) if records else 0.0,
            "maxDist": round2(float(all_d.max())) if records else 0.0,
        },
        "topHops": [e for *_, e in sorted(top, key=lambda t: (t[0], t[1]))[:20]],
        "topPaths": [e for *_, e in sorted(paths, key=lambda t: (t[0], t[1]))[:20]],
        "catStats": cats,
        "distHistogram": histogram(all_d, 25, round_places=1, flat_width=1.0) if records else [],
        "distOverTime": [
            {"hour": iso_seconds(h * HOUR)[:13], "avg": round2(sum(v) / len(v)), "count": len(v)}
            for h, v in sorted(hours.items())
        ],
    }  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(st.lists(node_st, min_size=1, max_size=8), st.lists(tx_st, min_size=1, max_size=12))
def test_distance_matches_a_record_by_record_reading(
    nodes: list[tuple[str, str, tuple[float, float] | None]],
    txs: list[tuple[list[str], int | None, float | None, int]],
) -> None:
    m = Mesh()
    keys = [m.node(p + f"{i:02x}", role=role, at=at) for i, (p, role, at) in enumerate(nodes)]
    m.observer("OBS")
    for path, sender, snr, hour in txs:
        origin = keys[sender] if sender is not None and sender < len(keys) else None
        m.tx([("OBS", path)], origin=origin, snr=snr, at_ms=T0 + hour * HOUR)
    snap = m.snapshot()
    assert distance.compute(snap, Query(now_ms=T0)) == _reference(snap)
