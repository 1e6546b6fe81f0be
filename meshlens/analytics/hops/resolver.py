"""The four-tier hop resolver of analytics-part-a §1.4, vectorised over many queries.

A query is (group, hop id): a hop to resolve in the context of its group, where a group is
one transmission (distance), the whole scope (topology) or one graph endpoint (the graph's
ambiguous edges). Context pubkeys come as (group, endpoint) rows. Every tier runs as array
work over all queries at once, so the Python cost is per call, not per hop occurrence.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from meshlens.analytics.hops.arrays import expand, first_of_runs
from meshlens.analytics.hops.roster import HopCandidates, Roster

I64 = npt.NDArray[np.int64]
I8 = npt.NDArray[np.int8]
F64 = npt.NDArray[np.float64]

# The method that picked a node, in tier order (§1.4 names in comments).
NONE = 0  # no candidate: the caller emits null
UNIQUE = 1  # unique_prefix
AFFINITY = 2  # neighbor_affinity
GEO = 3  # geo_proximity
GPS_COUNT = 4  # gps_preference
COUNT = 5  # observation_count_fallback

TIER_NAMES = ("none", "unique_prefix", "neighbor_affinity", "geo_proximity",
              "gps_preference", "observation_count_fallback")  # fmt: skip

# §1.4 tier 1 thresholds (affinityMinObservations, affinityConfidenceRatio).
AFFINITY_MIN_COUNT = 3
AFFINITY_RATIO = 3.0


@dataclass(frozen=True, slots=True)
class Adjacency:
    """Concrete neighbour edges in both directions, CSR by endpoint, scored at one time."""

    offset: I64  # per endpoint: first row (length endpoint_count + 1)
    neighbour: I64
    score: F64  # Score(now) x Confidence()
    count: I64

    def keys(self, endpoint_count: int) -> I64:
        """Sorted directed edge keys (from * endpoint_count + to), aligned with the rows."""
        owner = np.repeat(np.arange(self.offset.shape[0] - 1), np.diff(self.offset))
        return owner * endpoint_count + self.neighbour


@dataclass(frozen=True, slots=True)
class Context:
    """Context pubkeys as (group, endpoint) rows; duplicates are allowed."""

    group: I64
    endpoint: I64


@dataclass(frozen=True, slots=True)
class Resolution:
    """Per query: the chosen node index (-1 when none) and the tier that chose it."""

    node: I64
    tier: I8


def resolve(
    roster: Roster,
    cands: HopCandidates,
    adjacency: Adjacency | None,
    *,
    hop: I64,
    group: I64,
    context: Context,
    exclude: I64 | None = None,
    max_tier: int = COUNT,
) -> Resolution:
    """Resolve each (group, hop) query; `exclude[group]` drops that node from its candidates."""
    q_count = hop.shape[0]
    node = np.full(q_count, -1, np.int64)
    tier = np.zeros(q_count, np.int8)
    counts = cands.count[hop]
    row_q, within = expand(counts)
    row_c = cands.node[cands.offset[hop][row_q] + within]
    if exclude is not None:
        keep = row_c != exclude[group[row_q]]
        row_q, row_c = row_q[keep], row_c[keep]
        counts = np.bincount(row_q, minlength=q_count)
    first = np.cumsum(counts) - counts
    one = counts == 1
    node[one] = row_c[first[one]]
    tier[one] = UNIQUE
    ambiguous = counts >= 2
    keep = ambiguous[row_q]
    row_q, row_c = row_q[keep], row_c[keep]
    batch = _Batch(group, context, row_q, row_c, node, tier, ambiguous.copy())
    if adjacency is not None and max_tier >= AFFINITY and row_q.size:
        _affinity(roster, adjacency, batch)
    if max_tier >= GEO and batch.open_q.any():
        _geo(roster, batch)
    if max_tier >= GPS_COUNT and batch.open_q.any():
        _by_count(roster, batch, max_tier)
    return Resolution(node, tier)


@dataclass(frozen=True, slots=True)
class _Batch:
    """The ambiguous queries' candidate rows and the results the tiers fill in."""

    group: I64  # per query
    context: Context
    row_q: I64  # candidate rows of ambiguous queries: query index
    row_c: I64  # ... and candidate node
    node: I64  # per query, written by the tiers
    tier: I8
    open_q: npt.NDArray[np.bool_]  # per query: still to be decided

    def decide(self, q: I64, c: I64, tier: int | npt.NDArray[np.int8]) -> None:
        """Record the winners of a tier."""
        self.node[q] = c
        self.tier[q] = tier
        self.open_q[q] = False


def _affinity(roster: Roster, adj: Adjacency, batch: _Batch) -> None:
    """Tier 1: the candidate best tied by graph edges to the context, by a clear margin."""
    group, context, row_q, row_c = batch.group, batch.context, batch.row_q, batch.row_c
    e_count = roster.endpoint_count
    ctx_keys = np.unique(context.group * e_count + context.endpoint)
    degree = np.diff(adj.offset)
    ctx_len = np.bincount(context.group, minlength=int(group.max()) + 1 if group.size else 0)
    # Walk whichever side is smaller: each candidate's edges, or its group's context.
    by_edges = int(degree[row_c].sum()) <= int(ctx_len[group[row_q]].sum())
    if by_edges:
        pos, sub = expand(degree[row_c])
        edge = adj.offset[row_c][pos] + sub
        hit_q, hit_c = row_q[pos], row_c[pos]
        probe = group[hit_q] * e_count + adj.neighbour[edge]
        at = np.minimum(np.searchsorted(ctx_keys, probe), max(ctx_keys.shape[0] - 1, 0))
        found = ctx_keys[at] == probe if ctx_keys.size else np.zeros(probe.shape[0], np.bool_)
        hit_q, hit_c, edge = hit_q[found], hit_c[found], edge[found]
    else:
        starts = np.searchsorted(ctx_keys, group * e_count)
        ends = np.searchsorted(ctx_keys, (group + 1) * e_count)
        pos, sub = expand((ends - starts)[row_q])
        x = ctx_keys[starts[row_q][pos] + sub] % e_count
        hit_q, hit_c = row_q[pos], row_c[pos]
        edge_keys = adj.keys(e_count)
        probe = hit_c * e_count + x
        at = np.minimum(np.searchsorted(edge_keys, probe), max(edge_keys.shape[0] - 1, 0))
        found = edge_keys[at] == probe if edge_keys.size else np.zeros(probe.shape[0], np.bool_)
        hit_q, hit_c, edge = hit_q[found], hit_c[found], at[found]
    score = adj.score[edge]
    live = score > 0
    if not live.any():
        return
    hit_q, hit_c, score, count = hit_q[live], hit_c[live], score[live], adj.count[edge[live]]
    # Each candidate keeps its best edge (and that edge's count); ties by the larger count.
    order = np.lexsort((-count, -score, hit_c, hit_q))
    best = order[first_of_runs(hit_q[order] * roster.node_count + hit_c[order])]
    q, c, s, n = hit_q[best], hit_c[best], score[best], count[best]
    # Rank the scored candidates of each query: score desc, then smallest pubkey.
    order = np.lexsort((roster.rank[c], -s, q))
    q, c, s, n = q[order], c[order], s[order], n[order]
    lead = first_of_runs(q)
    top = np.flatnonzero(lead)
    has_second = np.zeros(top.shape[0], np.bool_)
    nxt = top + 1
    inside = nxt < q.shape[0]
    has_second[inside] = q[nxt[inside]] == q[top[inside]]
    second = np.where(has_second, s[np.minimum(nxt, q.shape[0] - 1)], 0.0)
    wins = (n[top] >= AFFINITY_MIN_COUNT) & (~has_second | (s[top] >= AFFINITY_RATIO * second))
    batch.decide(q[top[wins]], c[top[wins]], AFFINITY)


def _geo(roster: Roster, batch: _Batch) -> None:
    """Tier 2: the GPS candidate nearest the centroid of the path-capable GPS context nodes."""
    group, context, row_q, row_c = batch.group, batch.context, batch.row_q, batch.row_c
    e = context.endpoint
    n_nodes = roster.node_count
    is_node = e < n_nodes
    safe = np.where(is_node, e, 0)
    placed = is_node & roster.path_capable[safe] & roster.has_gps[safe]
    if not placed.any():
        return
    pairs = np.unique(context.group[placed] * n_nodes + e[placed])
    g, members = pairs // n_nodes, pairs % n_nodes
    size = int(max(g.max(), group.max())) + 1
    k = np.bincount(g, minlength=size)
    with np.errstate(invalid="ignore", divide="ignore"):
        c_lat = np.bincount(g, weights=roster.lat[members], minlength=size) / k
        c_lon = np.bincount(g, weights=roster.lon[members], minlength=size) / k
    keep = batch.open_q[row_q] & (k[group[row_q]] > 0) & roster.has_gps[row_c]
    q, c = row_q[keep], row_c[keep]
    if q.size == 0:
        return
    lat0, lon0 = c_lat[group[q]], c_lon[group[q]]
    lat1, lon1 = roster.lat[c], roster.lon[c]
    d_lat = np.radians(lat1 - lat0)
    d_lon = np.radians(lon1 - lon0) * np.cos(np.radians((lat0 + lat1) / 2))
    dist = np.sqrt(d_lat * d_lat + d_lon * d_lon)
    order = np.lexsort((roster.rank[c], dist, q))
    lead = order[first_of_runs(q[order])]
    batch.decide(q[lead], c[lead], GEO)


def _by_count(roster: Roster, batch: _Batch, max_tier: int) -> None:
    """Tiers 3 and 4: most adverts, GPS candidates first; ties to the smallest pubkey."""
    keep = batch.open_q[batch.row_q]
    q, c = batch.row_q[keep], batch.row_c[keep]
    gps = roster.has_gps[c]
    # A query with any GPS candidate takes tier 3 and never looks at the others.
    has_gps = np.zeros(batch.open_q.shape[0], np.bool_)
    has_gps[q[gps]] = True
    if max_tier < COUNT:
        sel = has_gps[q]
        q, c, gps = q[sel], c[sel], gps[sel]
    order = np.lexsort((roster.rank[c], -roster.advert_count[c], ~gps, q))
    lead = order[first_of_runs(q[order])]
    won = q[lead]
    batch.decide(won, c[lead], np.where(has_gps[won], GPS_COUNT, COUNT).astype(np.int8))


def edge_score(count: I64, last_ms: I64, observers: I64, now_ms: int) -> F64:
    """§1.4: min(1, count/100) x 7-day half-life decay x min(1, max(1, observers)/3)."""
    hours = np.maximum((now_ms - last_ms) / 3_600_000.0, 0.0)
    decay = np.exp(-math.log(2) / 168.0 * hours)
    confidence = np.minimum(1.0, np.maximum(1, observers) / 3.0)
    return np.minimum(1.0, count / 100.0) * decay * confidence
