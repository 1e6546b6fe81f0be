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

from meshlens.analytics.hops.arrays import (
    distinct,
    distinct_inverse,
    expand,
    first_of_runs,
    sorted_order,
)
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
# Below this many (hop, endpoint) keys a direct-address table beats binary search.
_DENSE_PROBES = 1 << 23


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
    eligible = np.ones(row_q.shape[0], np.bool_)
    if exclude is not None:
        eligible = row_c != exclude[group[row_q]]
    n_eligible = np.bincount(row_q[eligible], minlength=q_count)
    one = np.flatnonzero(eligible & (n_eligible[row_q] == 1))
    node[row_q[one]] = row_c[one]
    tier[row_q[one]] = UNIQUE
    keep = n_eligible[row_q] >= 2
    batch = _Batch.of(roster, group, context, row_q[keep], row_c[keep], row_k=within[keep],
                      eligible=eligible[keep], node=node, tier=tier)  # fmt: skip
    if batch.row_q.size == 0:
        return Resolution(node, tier)
    if adjacency is not None and max_tier >= AFFINITY:
        _affinity(roster, cands, adjacency, batch, hop)
    if max_tier >= GEO:
        batch = batch.still_open()
        if batch.row_q.size:
            _geo(roster, batch)
    if max_tier >= GPS_COUNT:
        batch = batch.still_open()
        if batch.row_q.size:
            _by_count(roster, batch, max_tier)
    return Resolution(node, tier)


@dataclass(frozen=True, slots=True)
class _Batch:
    """Candidate rows of ambiguous queries, in query order then pubkey order.

    That order lets every tier reduce over contiguous segments (one per query) instead
    of sorting: the first row reaching a segment's best value is the candidate with the
    smallest pubkey among the tied ones. Excluded candidates stay as ineligible rows.
    """

    group: I64  # per query
    row_q: I64
    row_c: I64
    row_k: I64  # the candidate's position in its hop's candidate list
    eligible: npt.NDArray[np.bool_]
    starts: I64  # first row of each segment (one segment per query)
    seg_of_row: I64
    ctx_group: I64  # context without repeats, sorted by group
    ctx_endpoint: I64
    ctx_start: I64  # per group: first context row (length groups + 1)
    node: I64  # per query, written by the tiers
    tier: I8

    @staticmethod
    def of(
        roster: Roster,
        group: I64,
        context: Context,
        row_q: I64,
        row_c: I64,
        *,
        row_k: I64,
        eligible: npt.NDArray[np.bool_],
        node: I64,
        tier: I8,
    ) -> _Batch:
        """Segment the rows by query and tidy the context."""
        starts = np.flatnonzero(first_of_runs(row_q))
        sizes = np.diff(np.append(starts, row_q.shape[0]))
        seg_of_row = np.repeat(np.arange(starts.shape[0], dtype=np.int64), sizes)
        e_count = max(roster.endpoint_count, 1)
        keys = distinct(context.group * e_count + context.endpoint)
        ctx_group, ctx_endpoint = keys // e_count, keys % e_count
        n_groups = int(max(group.max(initial=-1), ctx_group.max(initial=-1))) + 1
        ctx_start = np.searchsorted(ctx_group, np.arange(n_groups + 1))
        return _Batch(group, row_q, row_c, row_k, eligible, starts, seg_of_row, ctx_group,
                      ctx_endpoint, ctx_start, node, tier)  # fmt: skip

    def still_open(self) -> _Batch:
        """The rows of the queries no tier has decided yet."""
        open_seg = self.tier[self.seg_q] == NONE
        if open_seg.all():
            return self
        keep = open_seg[self.seg_of_row]
        sizes = np.diff(np.append(self.starts, self.row_q.shape[0]))[open_seg]
        starts = np.cumsum(sizes) - sizes
        seg_of_row = np.repeat(np.arange(sizes.shape[0], dtype=np.int64), sizes)
        return _Batch(self.group, self.row_q[keep], self.row_c[keep], self.row_k[keep],
                      self.eligible[keep], starts, seg_of_row, self.ctx_group,
                      self.ctx_endpoint, self.ctx_start, self.node, self.tier)  # fmt: skip

    @property
    def seg_q(self) -> I64:
        """The query of each segment."""
        return self.row_q[self.starts]

    def grid(self, values: F64, fill: float = -np.inf) -> F64:
        """Values laid out one segment per line, padded with `fill`.

        Segments are a few candidates each, and ufunc.reduceat pays per segment; one
        2-D argmax over a padded grid is several times faster.
        """
        pos = np.arange(self.row_q.shape[0], dtype=np.int64) - self.starts[self.seg_of_row]
        width = int(pos.max(initial=0)) + 1
        out = np.full((self.starts.shape[0], width), fill)
        out[self.seg_of_row, pos] = values
        return out

    def first_max(self, values: F64) -> tuple[F64, I64]:
        """Per segment: the largest value, and the first row that has it."""
        grid = self.grid(values)
        arg = grid.argmax(axis=1)  # the first maximum, as the tie-break wants
        return grid[np.arange(arg.shape[0]), arg], self.starts + arg

    def decide(self, seg: npt.NDArray[np.bool_], row: I64, tier: int | I8) -> None:
        """For chosen segments still open, record the candidate of `row` and the tier."""
        q = self.seg_q
        chosen = seg & (self.tier[q] == NONE)
        self.node[q[chosen]] = self.row_c[row[chosen]]
        self.tier[q[chosen]] = tier[chosen] if isinstance(tier, np.ndarray) else tier


def _affinity(
    roster: Roster, cands: HopCandidates, adj: Adjacency, batch: _Batch, hop: I64
) -> None:
    """Tier 1: the candidate best tied by graph edges to the context, by a clear margin.

    A table lists, for every ambiguous hop, each (neighbour x, candidate) edge; each
    query then probes it once per context pubkey of its group. That touches only the
    edges that exist instead of every (candidate, context) pair.
    """
    e_count = roster.endpoint_count
    seg_q = batch.seg_q
    hops, hop_of_seg = distinct_inverse(hop[seg_q])
    # The table: (hop j, neighbour x) -> rows of (candidate position k, score, count).
    h_rows, k = expand(cands.count[hops])
    c = cands.node[cands.offset[hops][h_rows] + k]
    degree = np.diff(adj.offset)
    t_rows, nth = expand(degree[c])
    edge = adj.offset[c[t_rows]] + nth
    t_key = h_rows[t_rows] * e_count + adj.neighbour[edge]
    t_key, order = sorted_order(t_key)
    t_k, t_edge = k[t_rows][order], edge[order]
    lead = first_of_runs(t_key)
    key_start = np.flatnonzero(lead)
    distinct = t_key[key_start]
    key_size = np.diff(np.append(key_start, t_key.shape[0]))
    # The probes: every context pubkey of each query's group.
    g = batch.group[seg_q]
    span = batch.ctx_start[g + 1] - batch.ctx_start[g]
    seg, nth_ctx = expand(span)
    x = batch.ctx_endpoint[batch.ctx_start[g[seg]] + nth_ctx]
    probe = hop_of_seg[seg] * e_count + x
    span_keys = hops.shape[0] * e_count
    if span_keys <= _DENSE_PROBES:
        slot = np.full(span_keys, -1, np.int64)
        slot[distinct] = np.arange(distinct.shape[0])
        at = slot[probe]
        hit = at >= 0
    else:
        at = np.minimum(np.searchsorted(distinct, probe), max(distinct.shape[0] - 1, 0))
        hit = distinct[at] == probe if distinct.size else np.zeros(probe.shape[0], np.bool_)
    seg, at = seg[hit], at[hit]
    rows, nth_row = expand(key_size[at])
    seg, t = seg[rows], key_start[at[rows]] + nth_row
    row = batch.starts[seg] + t_k[t]  # the candidate's row in the batch
    s, n = adj.score[t_edge[t]], adj.count[t_edge[t]]
    ok = batch.eligible[row]
    row, s, n = row[ok], s[ok], n[ok]
    score = np.zeros(batch.row_q.shape[0])
    np.maximum.at(score, row, s)
    # Each candidate keeps its best edge's count (on equal scores, the larger count).
    count = np.zeros(batch.row_q.shape[0], np.int64)
    best_edge = s == score[row]
    np.maximum.at(count, row[best_edge], n[best_edge])
    grid = batch.grid(score, 0.0)
    arg = grid.argmax(axis=1)
    lines = np.arange(arg.shape[0])
    top, top_row = grid[lines, arg], batch.starts + arg
    grid[lines, arg] = 0.0
    second = grid.max(axis=1)
    wins = (top > 0) & (count[top_row] >= AFFINITY_MIN_COUNT)
    wins &= (second == 0) | (top >= AFFINITY_RATIO * second)
    batch.decide(wins, top_row, AFFINITY)


def _geo(roster: Roster, batch: _Batch) -> None:
    """Tier 2: the GPS candidate nearest the centroid of the path-capable GPS context nodes."""
    n_nodes = roster.node_count
    e = batch.ctx_endpoint
    safe = np.where(e < n_nodes, e, 0)
    placed = (e < n_nodes) & roster.path_capable[safe] & roster.has_gps[safe]
    if not placed.any():
        return
    g, members = batch.ctx_group[placed], e[placed]
    size = batch.ctx_start.shape[0]
    k = np.bincount(g, minlength=size)
    with np.errstate(invalid="ignore", divide="ignore"):
        c_lat = np.bincount(g, weights=roster.lat[members], minlength=size) / k
        c_lon = np.bincount(g, weights=roster.lon[members], minlength=size) / k
    rg = batch.group[batch.row_q]
    c = batch.row_c
    # Radians of differences equal differences of radians; converting once per node and
    # once per group keeps trigonometry off the per-candidate rows (but one cosine).
    lat0, lon0 = np.radians(c_lat)[rg], np.radians(c_lon)[rg]
    lat1, lon1 = roster.lat_rad[c], roster.lon_rad[c]
    d_lat = lat1 - lat0
    d_lon = (lon1 - lon0) * np.cos((lat0 + lat1) / 2)
    dist = d_lat * d_lat + d_lon * d_lon  # squared: same order, no square root
    # No GPS on the candidate, no centroid for the group, or excluded: never the nearest.
    near = np.where(np.isnan(dist) | ~batch.eligible, -np.inf, -dist)
    best, best_row = batch.first_max(near)
    batch.decide(best > -np.inf, best_row, GEO)


def _by_count(roster: Roster, batch: _Batch, max_tier: int) -> None:
    """Tiers 3 and 4: most adverts, GPS candidates first; ties to the smallest pubkey."""
    gps = roster.has_gps[batch.row_c] & batch.eligible
    seg_gps = batch.grid(gps.astype(np.float64), 0.0).max(axis=1) > 0
    usable = batch.eligible & (gps | ~seg_gps[batch.seg_of_row])
    value = np.where(usable, roster.advert_count[batch.row_c].astype(np.float64), -1.0)
    _, row = batch.first_max(value)
    chosen = seg_gps if max_tier < COUNT else np.ones(seg_gps.shape[0], np.bool_)
    batch.decide(chosen, row, np.where(seg_gps, GPS_COUNT, COUNT).astype(np.int8))


def edge_score(count: I64, last_ms: I64, observers: I64, now_ms: int) -> F64:
    """§1.4: min(1, count/100) x 7-day half-life decay x min(1, max(1, observers)/3)."""
    hours = np.maximum((now_ms - last_ms) / 3_600_000.0, 0.0)
    decay = np.exp(-math.log(2) / 168.0 * hours)
    confidence = np.minimum(1.0, np.maximum(1, observers) / 3.0)
    return np.minimum(1.0, count / 100.0) * decay * confidence
