"""The neighbour graph: which nodes were heard next to which (analytics-part-a §1.4).

Edges come from every observation in the snapshot:
- a zero-hop ADVERT links its originator and the observer;
- an ADVERT with a path links its originator and the node of path[0];
- any packet with a path links the observer and the node of path[last].
A hop side is concrete when its prefix has one candidate once the other end is removed;
otherwise the hop is resolved with the other end as context, accepting only a tier-1 or
tier-2 answer, and left out when that fails. Edges whose ends both have GPS and lie more
than 500 km apart are dropped.

Counting runs as grouping over integer columns (the per-observation work); Python only
touches each distinct (endpoint, hop) key. The graph is built per snapshot and memoised,
so the analytics of one round share it (docs/architecture.md says why not incremental).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from meshlens.analytics.hops.arrays import distinct_inverse, first_of_runs, sorted_order
from meshlens.analytics.hops.resolver import (
    GEO,
    Adjacency,
    Context,
    edge_score,
    resolve,
)
from meshlens.analytics.hops.roster import (
    HopCandidates,
    Roster,
    hop_candidates,
    key_nodes,
    roster_of,
)
from meshlens.geo import EARTH_RADIUS_KM
from meshlens.store.snapshot import Snapshot

I64 = npt.NDArray[np.int64]

MAX_EDGE_KM = 500.0


@dataclass(frozen=True, slots=True)
class NeighbourGraph:
    """Undirected concrete edges between endpoints (a < b), with their evidence."""

    a: I64
    b: I64
    count: I64  # observations that showed the two side by side
    last_ms: I64  # the latest of them
    observers: I64  # distinct observers that reported them
    unresolved: int  # (endpoint, hop) keys whose hop stayed ambiguous

    def __len__(self) -> int:
        return int(self.a.shape[0])

    def adjacency(self, now_ms: int, endpoint_count: int) -> Adjacency:
        """Both directions as CSR by endpoint, neighbours ascending, scored at `now_ms`."""
        score = edge_score(self.count, self.last_ms, self.observers, now_ms)
        frm = np.concatenate([self.a, self.b])
        to = np.concatenate([self.b, self.a])
        order = np.lexsort((to, frm))
        offset = np.zeros(endpoint_count + 1, np.int64)
        np.cumsum(np.bincount(frm, minlength=endpoint_count), out=offset[1:])
        return Adjacency(
            offset=offset,
            neighbour=to[order],
            score=np.concatenate([score, score])[order],
            count=np.concatenate([self.count, self.count])[order],
        )


def neighbour_graph(snap: Snapshot) -> NeighbourGraph:
    """The graph of a snapshot, built once per snapshot."""
    return snap.memo("hops.graph", lambda: _build(snap))


@dataclass(frozen=True, slots=True)
class _Evidence:
    """Grouped sightings: endpoint x heard next to hop (or endpoint y), by one observer."""

    x: I64
    hop: I64  # -1 when y is already known
    y: I64
    observer: I64
    count: I64
    last_ms: I64


def _build(snap: Snapshot) -> NeighbourGraph:
    roster = roster_of(snap)
    cands = hop_candidates(snap)
    zero, first, last = _evidence(snap, roster)
    first_y = _unique_excluding(cands, first.hop, first.x)
    last_y = _unique_excluding(cands, last.hop, last.x)
    concrete = [zero, _with_y(first, first_y), _with_y(last, last_y)]
    # A first pass over the edges known without guessing gives tier 1 something to use.
    # It is scored at the snapshot's latest time, so the memoised graph needs no "now".
    pass_one = _edges(roster, concrete, unresolved=0)
    latest = int(snap.tx.last_seen_ms.max(initial=0))
    adjacency = pass_one.adjacency(latest, roster.endpoint_count)
    guessed, unresolved = _guess(roster, cands, adjacency, [(first, first_y), (last, last_y)])
    return _edges(roster, [*concrete, *guessed], unresolved)


def _with_y(ev: _Evidence, y: I64) -> _Evidence:
    """The rows whose other end is known, with it filled in."""
    keep = np.flatnonzero(y >= 0)
    return _Evidence(ev.x[keep], ev.hop[keep], y[keep], ev.observer[keep], ev.count[keep],
                     ev.last_ms[keep])  # fmt: skip


def _evidence(snap: Snapshot, roster: Roster) -> tuple[_Evidence, _Evidence, _Evidence]:
    """The store's link evidence (kept up to date at append) in graph endpoints.

    Chunks are read back to back without regrouping: a key that repeats across chunks
    only adds rows, and every step after this groups by key anyway.
    """
    zero, first, last = snap.links.rows()
    obs_ep = roster.observer_endpoint.astype(np.int64)
    keys, key_of = distinct_inverse(np.concatenate([zero.x, first.x]))
    originators = key_nodes(snap, keys)[key_of]  # an originator must be a node

    def endpoint(observers: I64) -> I64:
        return obs_ep[observers] if observers.size else observers

    x, y = originators[: zero.x.shape[0]], endpoint(zero.observer)
    ok = (x >= 0) & (y >= 0) & (x != y)
    zero_ev = _Evidence(x[ok], zero.hop[ok], y[ok], zero.observer[ok], zero.count[ok],
                        zero.last_ms[ok])  # fmt: skip
    x = originators[zero.x.shape[0] :]
    ok = np.flatnonzero(x >= 0)
    first_ev = _Evidence(x[ok], first.hop[ok], np.full(ok.shape[0], -1, np.int64),
                         first.observer[ok], first.count[ok], first.last_ms[ok])  # fmt: skip
    x = endpoint(last.x)
    ok = x >= 0
    last_ev = _Evidence(x[ok], last.hop[ok], np.full(int(ok.sum()), -1, np.int64),
                        last.observer[ok], last.count[ok], last.last_ms[ok])  # fmt: skip
    return zero_ev, first_ev, last_ev


def _unique_excluding(cands: HopCandidates, hop: I64, x: I64) -> I64:
    """Per row: the one candidate of `hop` other than `x`, else -1."""
    count = cands.count[hop]
    off = cands.offset[hop]
    out = np.full(hop.shape[0], -1, np.int64)
    one = count == 1
    out[one] = cands.node[off[one]]
    out[one & (out == x)] = -1
    two = np.flatnonzero(count == 2)
    a, b = cands.node[off[two]], cands.node[off[two] + 1]
    out[two] = np.where(a == x[two], b, np.where(b == x[two], a, -1))
    return out


def _guess(
    roster: Roster, cands: HopCandidates, adjacency: Adjacency, parts: list[tuple[_Evidence, I64]]
) -> tuple[list[_Evidence], int]:
    """Resolve the still ambiguous (x, hop) keys with x as context, tiers 1-2 only.

    The keys of all parts go through one resolver call; each part's keys stay apart,
    so the count of unresolved keys is the sum of the parts'.
    """
    # Ambiguous hops numbered densely: a key range small enough to group by marking.
    ambiguous = np.flatnonzero(cands.count >= 2)
    span = max(ambiguous.shape[0], 1)
    line_of_hop = np.full(cands.count.shape[0], -1, np.int64)
    line_of_hop[ambiguous] = np.arange(ambiguous.shape[0])
    e_count = max(roster.endpoint_count, 1)
    rows = [np.flatnonzero((y < 0) & (line_of_hop[ev.hop] >= 0)) for ev, y in parts]
    tagged = [
        (i * e_count + ev.x[r]) * span + line_of_hop[ev.hop[r]]
        for i, ((ev, _), r) in enumerate(zip(parts, rows, strict=True))
    ]
    key = np.concatenate(tagged)
    keys, inverse = distinct_inverse(key)
    x, hop = (keys // span) % e_count, ambiguous[keys % span]
    groups = np.arange(keys.shape[0], dtype=np.int64)
    result = resolve(
        roster, cands, adjacency, hop=hop, group=groups,
        context=Context(groups, x, tidy=True), exclude=x, max_tier=GEO,
    )  # fmt: skip
    guessed = result.node[inverse]
    found: list[_Evidence] = []
    done = 0
    for (ev, _), r in zip(parts, rows, strict=True):
        mine = guessed[done : done + r.shape[0]]
        done += r.shape[0]
        keep = np.flatnonzero(mine >= 0)
        picked = r[keep]
        found.append(_Evidence(ev.x[picked], ev.hop[picked], mine[keep], ev.observer[picked],
                               ev.count[picked], ev.last_ms[picked]))  # fmt: skip
    return found, int((result.node < 0).sum())


def _edges(roster: Roster, parts: list[_Evidence], unresolved: int) -> NeighbourGraph:
    """Merge evidence into undirected edges; drop self-loops and implausible long ones."""
    x = np.concatenate([p.x for p in parts])
    y = np.concatenate([p.y for p in parts])
    observer = np.concatenate([p.observer for p in parts])
    count = np.concatenate([p.count for p in parts])
    last = np.concatenate([p.last_ms for p in parts])
    keep = np.flatnonzero(x != y)
    x, y, observer, count, last = x[keep], y[keep], observer[keep], count[keep], last[keep]
    e_count = max(roster.endpoint_count, 1)
    pair = np.minimum(x, y) * e_count + np.maximum(x, y)
    n_obs = int(observer.max(initial=0)) + 1
    # One int64 sort key (pair, observer) when it fits; lexsort otherwise.
    fits = pair.size == 0 or int(pair.max()) < (1 << 62) // n_obs
    if fits:
        key, order = sorted_order(pair * n_obs + observer)
        pair, observer = key // n_obs, key % n_obs
    else:
        order = np.lexsort((observer, pair))
        pair, observer = pair[order], observer[order]
    count, last = count[order], last[order]
    lead = first_of_runs(pair)
    starts = np.flatnonzero(lead)
    new_observer = np.ones(pair.shape[0], np.bool_)
    new_observer[1:] = lead[1:] | (observer[1:] != observer[:-1])
    if starts.size == 0:
        empty = np.empty(0, np.int64)
        return NeighbourGraph(empty, empty, empty, empty, empty, unresolved)
    keys = pair[starts]
    a, b = keys // e_count, keys % e_count
    # Dropping a pair drops all its rows, so the test runs once per edge, after grouping.
    near = np.flatnonzero(~_too_far(roster, a, b))
    return NeighbourGraph(
        a=a[near],
        b=b[near],
        count=np.add.reduceat(count, starts)[near],
        last_ms=np.maximum.reduceat(last, starts)[near],
        observers=np.add.reduceat(new_observer.astype(np.int64), starts)[near],
        unresolved=unresolved,
    )


def _too_far(roster: Roster, a: I64, b: I64) -> npt.NDArray[np.bool_]:
    """Both ends are nodes with GPS more than 500 km apart."""
    n = roster.node_count
    both = (a < n) & (b < n)
    sa, sb = np.where(both, a, 0), np.where(both, b, 0)
    both &= roster.has_gps[sa] & roster.has_gps[sb] if n else both
    far = np.zeros(a.shape[0], np.bool_)
    if both.any():
        la, oa = np.radians(roster.lat[sa[both]]), np.radians(roster.lon[sa[both]])
        lb, ob = np.radians(roster.lat[sb[both]]), np.radians(roster.lon[sb[both]])
        h = np.sin((lb - la) / 2) ** 2 + np.cos(la) * np.cos(lb) * np.sin((ob - oa) / 2) ** 2
        km = 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.minimum(h, 1.0)))
        far[both] = km > MAX_EDGE_KM
    return far
