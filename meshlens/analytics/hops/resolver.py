"""The four-tier hop resolver of analytics-part-a §1.4, vectorised over many queries.

A query is (group, hop id): a hop to resolve in the context of its group, where a group is
one transmission (distance), the whole scope (topology) or one graph endpoint (the graph's
ambiguous edges). Context pubkeys come as (group, endpoint) rows. Every tier runs as array
work over all queries at once, so the Python cost is per call, not per hop occurrence.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

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
Bool2 = npt.NDArray[np.bool_]

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
    """Context pubkeys as (group, endpoint) rows; duplicates are allowed.

    `tidy` promises rows already sorted by (group, endpoint) without repeats, so the
    resolver need not sort them again.
    """

    group: I64
    endpoint: I64
    tidy: bool = False


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
    hops, hop_of_q = distinct_inverse(hop)
    table = _candidate_table(cands, hops)
    cand = table[hop_of_q]
    eligible = cand >= 0
    if exclude is not None:
        eligible &= cand != exclude[group][:, None]
        n_eligible = _across(np.add, eligible.astype(np.int64))
    else:
        n_eligible = cands.count[hops][hop_of_q]
    one = np.flatnonzero(n_eligible == 1)
    node[one] = cand[one, eligible[one].argmax(axis=1)]
    tier[one] = UNIQUE
    open_ = np.flatnonzero(n_eligible >= 2)
    if open_.shape[0] == q_count:  # all open (as for distance): no copy of the grid
        block = _Block(open_, hop_of_q, group, cand, eligible)
    else:
        block = _Block.of(open_, hop_of_q, group, cand, eligible)
    if block.query.size == 0:
        return Resolution(node, tier)
    ctx = _Contexts.of(roster, context, int(group.max(initial=-1)) + 1)
    if adjacency is not None and max_tier >= AFFINITY:
        block = _affinity(roster, adjacency, table, block, ctx).decide(node, tier, AFFINITY)
    if max_tier >= GEO and block.query.size:
        block = _geo(roster, block, ctx).decide(node, tier, GEO)
    if max_tier >= GPS_COUNT and block.query.size:
        _by_count(roster, block, max_tier).decide(node, tier, GPS_COUNT)
    return Resolution(node, tier)


def swaying(roster: Roster, adjacency: Adjacency | None) -> npt.NDArray[np.bool_]:
    """Per endpoint: whether it can change an answer as a context pubkey.

    Tier 1 reads only endpoints with a graph edge, tier 2 only path-capable GPS nodes,
    tiers 3-4 no context: leaving every other endpoint out of a context (with no
    exclusions) changes no answer.
    """
    out = np.zeros(roster.endpoint_count, np.bool_)
    out[: roster.node_count] = roster.path_capable & roster.has_gps
    if adjacency is not None:
        out |= np.diff(adjacency.offset) > 0
    return out


def _across(ufunc: np.ufunc, grid: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """`ufunc` reduced along each line, column by column.

    Lines are a few cells wide, and numpy's reduction along such a short axis runs a
    slow inner loop per line; one vectorised call per column is several times faster.
    """
    out = grid[:, 0].copy()
    for j in range(1, grid.shape[1]):
        ufunc(out, grid[:, j], out=out)
    return out


def _candidate_table(cands: HopCandidates, hops: I64) -> I64:
    """Candidates of each of `hops`, one line per hop in pubkey order, padded with -1."""
    counts = cands.count[hops]
    line, k = expand(counts)
    table = np.full((hops.shape[0], max(int(counts.max(initial=0)), 1)), -1, np.int64)
    table[line, k] = cands.node[cands.offset[hops][line] + k]
    return table


@dataclass(frozen=True, slots=True)
class _Block:
    """Open queries with their candidates as one dense (query x position) grid.

    Candidates sit in pubkey order along each line, so the first cell reaching a line's
    best value is the candidate with the smallest pubkey among the tied ones: every tier
    is one argmax per line. Padding and excluded candidates are ineligible cells.
    """

    query: I64  # the open queries
    hop_line: I64  # per query: its hop's line in the candidate table
    group: I64
    cand: I64  # (query, position) -> node index, -1 for padding
    eligible: npt.NDArray[np.bool_]

    @staticmethod
    def of(query: I64, hop_of_q: I64, group: I64, cand: I64, eligible: Bool2) -> _Block:
        """The block of the queries `query`."""
        return _Block(query, hop_of_q[query], group[query], cand[query], eligible[query])

    def safe_cand(self) -> I64:
        """Candidates with padding mapped to node 0 (masked by `eligible` wherever used)."""
        return np.maximum(self.cand, 0)


@dataclass(frozen=True, slots=True)
class _Verdict:
    """A tier's answer for a block: which lines it decides, with which position."""

    block: _Block
    chosen: npt.NDArray[np.bool_]
    position: I64
    tier: I8 | None = None  # per line, when the tier varies (tiers 3-4)

    def decide(self, node: I64, tier: I8, default: int) -> _Block:
        """Record the decided lines and return the block of those still open."""
        b, lines = self.block, np.flatnonzero(self.chosen)
        q = b.query[lines]
        node[q] = b.cand.ravel()[lines * b.cand.shape[1] + self.position[lines]]
        tier[q] = default if self.tier is None else self.tier[lines]
        rest = np.flatnonzero(~self.chosen)
        return _Block(b.query[rest], b.hop_line[rest], b.group[rest], b.cand[rest],
                      b.eligible[rest])  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Contexts:
    """Context pubkeys without repeats, grouped: group g's are endpoint[start[g]:start[g+1]]."""

    group: I64
    endpoint: I64
    start: I64

    @staticmethod
    def of(roster: Roster, context: Context, n_groups: int) -> _Contexts:
        """Sort and de-duplicate the (group, endpoint) rows (unless they are tidy)."""
        group, endpoint = context.group, context.endpoint
        if not context.tidy:
            e_count = max(roster.endpoint_count, 1)
            keys = distinct(group * e_count + endpoint)
            group, endpoint = keys // e_count, keys % e_count
        n = max(n_groups, int(group.max(initial=-1)) + 1)
        return _Contexts(group, endpoint, np.searchsorted(group, np.arange(n + 1)))


def _affinity(
    roster: Roster, adj: Adjacency, table: I64, block: _Block, ctx: _Contexts
) -> _Verdict:
    """Tier 1: the candidate best tied by graph edges to the context, by a clear margin.

    A table lists, for every hop line, each (neighbour x, candidate) edge; each query then
    probes it once per context pubkey of its group. That touches only the edges that
    exist instead of every (candidate, context) pair.
    """
    e_count = roster.endpoint_count
    width = table.shape[1]
    # The table: (hop line, neighbour x) -> edges of (candidate cell, score, count).
    cell = np.flatnonzero(table.ravel() >= 0)
    c = table.ravel()[cell]
    t_rows, nth = expand(np.diff(adj.offset)[c])
    edge = adj.offset[c[t_rows]] + nth
    t_key, order = sorted_order((cell[t_rows] // width) * e_count + adj.neighbour[edge])
    t_pos, t_edge = cell[t_rows][order] % width, edge[order]
    key_start = np.flatnonzero(first_of_runs(t_key))
    distinct_keys = t_key[key_start]
    key_size = np.diff(np.append(key_start, t_key.shape[0]))
    # The probes: every context pubkey of each query's group.
    g = block.group
    line, nth_ctx = expand(ctx.start[g + 1] - ctx.start[g])
    probe = block.hop_line[line] * e_count + ctx.endpoint[ctx.start[g[line]] + nth_ctx]
    span_keys = table.shape[0] * e_count
    if span_keys <= _DENSE_PROBES:
        slot = np.full(span_keys, -1, np.int64)
        slot[distinct_keys] = np.arange(distinct_keys.shape[0])
        at = slot[probe]
        hit = np.flatnonzero(at >= 0)
    else:
        at = np.minimum(np.searchsorted(distinct_keys, probe), max(distinct_keys.shape[0] - 1, 0))
        found = distinct_keys[at] == probe if distinct_keys.size else np.zeros(probe.shape[0], bool)
        hit = np.flatnonzero(found)
    line, at = line[hit], at[hit]
    rows, nth_row = expand(key_size[at])
    line, t = line[rows], key_start[at[rows]] + nth_row
    cell = line * width + t_pos[t]
    ok = np.flatnonzero(block.eligible.ravel()[cell])
    t, cell = t[ok], cell[ok]
    s, n = adj.score[t_edge[t]], adj.count[t_edge[t]]
    # Only lines with an edge can win: score those alone, on a compact grid.
    lines = block.query.shape[0]
    hit_lines, compact = distinct_inverse(cell // width)
    cell = compact * width + cell % width
    score = np.zeros(hit_lines.shape[0] * width)
    np.maximum.at(score, cell, s)
    # Each candidate keeps its best edge's count (on equal scores, the larger count).
    count = np.zeros(score.shape[0], np.int64)
    best_edge = s == score[cell]
    np.maximum.at(count, cell[best_edge], n[best_edge])
    grid = score.reshape(hit_lines.shape[0], width)
    arg = grid.argmax(axis=1)
    top_cell = np.arange(hit_lines.shape[0]) * width + arg
    top = score[top_cell]
    top_count = count[top_cell]
    score[top_cell] = 0.0
    second = _across(np.maximum, grid)
    wins = np.zeros(lines, np.bool_)
    wins[hit_lines] = (top > 0) & (top_count >= AFFINITY_MIN_COUNT)
    wins[hit_lines] &= (second == 0) | (top >= AFFINITY_RATIO * second)
    position = np.zeros(lines, np.int64)
    position[hit_lines] = arg
    return _Verdict(block, wins, position)


def _geo(roster: Roster, block: _Block, ctx: _Contexts) -> _Verdict:
    """Tier 2: the GPS candidate nearest the centroid of the path-capable GPS context nodes."""
    e = ctx.endpoint
    placed_endpoint = np.zeros(max(roster.endpoint_count, 1), np.bool_)
    placed_endpoint[: roster.node_count] = roster.path_capable & roster.has_gps
    placed = np.flatnonzero(placed_endpoint[e])
    lines = block.query.shape[0]
    if placed.size == 0:
        return _Verdict(block, np.zeros(lines, np.bool_), np.zeros(lines, np.int64))
    g, members = ctx.group[placed], e[placed]
    size = ctx.start.shape[0]
    k = np.bincount(g, minlength=size)
    with np.errstate(invalid="ignore", divide="ignore"):
        c_lat = np.bincount(g, weights=roster.lat[members], minlength=size) / k
        c_lon = np.bincount(g, weights=roster.lon[members], minlength=size) / k
    # Radians of differences equal differences of radians; converting once per node and
    # once per group keeps trigonometry off the per-candidate cells (but one cosine).
    # Only eligible GPS candidates of lines with a centroid are measured; every other
    # cell is never the nearest.
    gps = np.append(roster.has_gps, False)  # padding (-1) has none
    line_lat, line_lon = np.radians(c_lat)[block.group], np.radians(c_lon)[block.group]
    cells = gps[block.cand]
    cells &= block.eligible
    cells &= ~np.isnan(line_lat)[:, None]
    cell = np.flatnonzero(cells.ravel())
    line, c = cell // cells.shape[1], block.cand.ravel()[cell]
    lat0, lon0 = line_lat[line], line_lon[line]
    lat1, lon1 = roster.lat_rad[c], roster.lon_rad[c]
    d_lat = lat1 - lat0
    d_lon = (lon1 - lon0) * np.cos((lat0 + lat1) / 2)
    near = np.full(cells.shape, -np.inf)
    near.ravel()[cell] = -(d_lat * d_lat + d_lon * d_lon)  # squared: same order, no root
    arg = near.argmax(axis=1)
    return _Verdict(block, near[np.arange(lines), arg] > -np.inf, arg)


def _by_count(roster: Roster, block: _Block, max_tier: int) -> _Verdict:
    """Tiers 3 and 4: most adverts, GPS candidates first; ties to the smallest pubkey."""
    c = block.safe_cand()
    gps = roster.has_gps[c] & block.eligible
    line_gps = _across(np.logical_or, gps)
    usable = block.eligible & (gps | ~line_gps[:, None])
    value = np.where(usable, roster.advert_count[c], -1)
    arg = value.argmax(axis=1)
    chosen = line_gps if max_tier < COUNT else np.ones(line_gps.shape[0], np.bool_)
    return _Verdict(block, chosen, arg, np.where(line_gps, GPS_COUNT, COUNT).astype(np.int8))


def edge_score(count: I64, last_ms: I64, observers: I64, now_ms: int) -> F64:
    """§1.4: min(1, count/100) x 7-day half-life decay x min(1, max(1, observers)/3)."""
    hours = np.maximum((now_ms - last_ms) / 3_600_000.0, 0.0)
    decay = np.exp(-math.log(2) / 168.0 * hours)
    confidence = np.minimum(1.0, np.maximum(1, observers) / 3.0)
    return np.minimum(1.0, count / 100.0) * decay * confidence
