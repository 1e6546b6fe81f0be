"""Context pubkeys (§1.4 buildHopContextPubkeys) and the two ways analytics resolve hops.

- `resolve_with_union`: one context for a whole scope (topology), so each distinct hop
  id is resolved exactly once;
- `resolve_per_transmission`: each transmission's own context (distance), resolved as
  one vectorised batch over its best path's hops.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from meshlens.analytics.hops.arrays import distinct, distinct_inverse, expand
from meshlens.analytics.hops.neighbours import neighbour_graph
from meshlens.analytics.hops.resolver import (
    NONE,
    UNIQUE,
    Context,
    Resolution,
    resolve,
    swaying,
)
from meshlens.analytics.hops.roster import hop_candidates, originator_nodes, roster_of
from meshlens.store.snapshot import Snapshot

I64 = npt.NDArray[np.int64]

_AMBIGUOUS = -2  # a hop code: several candidates


def best_paths(snap: Snapshot, tx_rows: I64) -> tuple[I64, I64, I64]:
    """For transmissions: their best observation, and its hops as (owner, hop id) rows.

    `owner` indexes `tx_rows`; hops come in path order, first relay first.
    """
    best = snap.tx.best_obs[tx_rows].astype(np.int64)
    plen = snap.obs.path_len[best].astype(np.int64)
    owner = np.repeat(np.arange(best.shape[0], dtype=np.int64), plen)
    # Hop i of the flat output sits at its path's offset minus the path's output start.
    shift = snap.obs.path_off[best].astype(np.int64) - (np.cumsum(plen) - plen)
    at = np.repeat(shift, plen)
    at += np.arange(at.shape[0], dtype=np.int64)
    return best, owner, snap.hops[at].astype(np.int64)


def context_rows(snap: Snapshot, tx_rows: I64, owner: I64, hop: I64) -> tuple[I64, I64]:
    """§1.4 context pubkeys of each transmission as (index into tx_rows, endpoint) rows."""
    roster = roster_of(snap)
    cands = hop_candidates(snap)
    origin = originator_nodes(snap)[tx_rows]
    observer = snap.obs.observer[snap.tx.best_obs[tx_rows]].astype(np.int64)
    obs_ep = roster.observer_endpoint.astype(np.int64)[observer] if observer.size else observer
    obs_ok = roster.observer_in_context[observer] & (obs_ep >= 0) if observer.size else observer > 0
    anchor = cands.unique()[hop]
    index = np.arange(tx_rows.shape[0], dtype=np.int64)
    groups = np.concatenate([index[origin >= 0], index[obs_ok], owner[anchor >= 0]])
    endpoints = np.concatenate([origin[origin >= 0], obs_ep[obs_ok], anchor[anchor >= 0]])
    return groups, endpoints


def resolve_with_union(snap: Snapshot, tx_rows: I64, hop_ids: I64, now_ms: int) -> I64:
    """Node index per hop id in `hop_ids` (-1: no candidate), with the scope's union context."""
    _, owner, hop = best_paths(snap, tx_rows)
    _, endpoints = context_rows(snap, tx_rows, owner, hop)
    union = distinct(endpoints)
    zeros = np.zeros(hop_ids.shape[0], np.int64)
    context = Context(np.zeros_like(union), union)
    return _resolve(snap, hop_ids, zeros, context, now_ms).node


def resolve_per_transmission(
    snap: Snapshot, tx_rows: I64, owner: I64, hop: I64, now_ms: int
) -> Resolution:
    """Resolve each (owner, hop) row of `best_paths(snap, tx_rows)` with its own context.

    Transmissions with the same context share one query per hop: contexts are
    summarised by a hash, so an ambiguous hop is resolved once per distinct
    (context, hop), not once per occurrence. Unique and unknown hops need no context,
    and context pubkeys that sway no tier are left out, so more contexts are equal.
    """
    node = _hop_codes(snap)[hop]
    tier = np.where(node >= 0, UNIQUE, NONE).astype(np.int8)
    found = _resolve_ambiguous(snap, tx_rows, owner, hop, code=node, now_ms=now_ms)
    if found is not None:
        rows, inverse, result = found
        node[rows] = result.node[inverse]
        tier[rows] = result.tier[inverse]
    return Resolution(node, tier)


def nodes_per_transmission(snap: Snapshot, tx_rows: I64, owner: I64, hop: I64, now_ms: int) -> I64:
    """The nodes `resolve_per_transmission` picks, without the tiers that picked them."""
    node = _hop_codes(snap)[hop]
    found = _resolve_ambiguous(snap, tx_rows, owner, hop, code=node, now_ms=now_ms)
    if found is not None:
        rows, inverse, result = found
        node[rows] = result.node[inverse]
    return node


def _hop_codes(snap: Snapshot) -> I64:
    """Per hop id: its one candidate, -1 for none, or `_AMBIGUOUS` for several."""
    cands = hop_candidates(snap)
    return np.where(cands.count >= 2, _AMBIGUOUS, cands.unique())


def _resolve_ambiguous(
    snap: Snapshot, tx_rows: I64, owner: I64, hop: I64, *, code: I64, now_ms: int
) -> tuple[I64, I64, Resolution] | None:
    """Rows whose hop `code` is ambiguous, each one's distinct (context, hop) query, answers."""
    cands = hop_candidates(snap)
    ambiguous = np.flatnonzero(code == _AMBIGUOUS)
    if ambiguous.size == 0:
        return None
    roster = roster_of(snap)
    graph = neighbour_graph(snap)
    adjacency = graph.adjacency(now_ms, roster.endpoint_count) if len(graph) else None
    sig_of, context = _contexts(snap, tx_rows, owner, hop, swaying(roster, adjacency))
    # Ambiguous hops numbered densely keep the (context, hop) keys in a small range.
    ambiguous_ids = np.flatnonzero(cands.count >= 2)
    n_lines = ambiguous_ids.shape[0]
    # int32 keys while they fit: half the bytes to move through the grouping.
    n_sets = int(sig_of.max()) + 1
    fits = n_sets * n_lines < 1 << 31
    line_of_hop: npt.NDArray[np.signedinteger[Any]]
    line_of_hop = np.zeros(cands.count.shape[0], np.int32 if fits else np.int64)
    line_of_hop[ambiguous_ids] = np.arange(n_lines)
    key = line_of_hop[hop[ambiguous]]
    key *= n_sets
    key += sig_of[owner[ambiguous]].astype(key.dtype, copy=False)
    keys, inverse = distinct_inverse(key)
    keys = keys.astype(np.int64)
    result = resolve(roster, cands, adjacency, hop=ambiguous_ids[keys // n_sets],
                     group=keys % n_sets, context=context)  # fmt: skip
    return ambiguous, inverse, result


def _contexts(
    snap: Snapshot, tx_rows: I64, owner: I64, hop: I64, kept: npt.NDArray[np.bool_]
) -> tuple[I64, Context]:
    """Number the distinct contexts of the transmissions; return each one's and the contexts.

    A context holds the `kept` endpoints among the originator, the observer and the
    unique-prefix candidate of each hop that has one. It is compared by a hash of its
    members: the wrapping sum of each member's splitmix64 value, summed per transmission
    from one running sum over its hop rows. A repeated member is summed twice, so a
    repeat can split one set into two numbers; both resolve alike, since each number's
    context is its first transmission's rows, which the resolver de-duplicates.
    """
    roster = roster_of(snap)
    n = tx_rows.shape[0]
    best = snap.tx.best_obs[tx_rows]
    origin = originator_nodes(snap)[tx_rows]
    observer = snap.obs.observer[best]
    obs_ep = roster.observer_endpoint.astype(np.int64)[observer]
    obs_ep[~roster.observer_in_context[observer]] = -1
    # Per endpoint its hash (0 if not kept), and 0 at index -1 (no member).
    kept = np.append(kept, False)
    mixed = np.where(kept, _mix(np.arange(kept.shape[0], dtype=np.int64)), np.uint64(0))
    unique = hop_candidates(snap).unique()
    running = np.zeros(owner.shape[0] + 1, np.uint64)
    np.cumsum(mixed[unique][hop], out=running[1:])
    bounds = np.zeros(n + 1, np.int64)
    np.cumsum(snap.obs.path_len[best], out=bounds[1:])  # the rows are best_paths'
    signature = running[bounds[1:]]
    signature -= running[bounds[:-1]]
    signature += mixed[origin]
    signature += mixed[obs_ep]
    _, sig_of = distinct_inverse(signature)
    first = np.empty(int(sig_of.max(initial=-1)) + 1, np.int64)
    first[sig_of[::-1]] = np.arange(n - 1, -1, -1)  # the earliest transmission of each set
    # Sets numbered in order of first appearance: transmissions close together then use
    # close numbers, which keeps the (context, hop) grouping's table reads near each other.
    order = np.argsort(first)
    renumber = np.empty_like(order)
    renumber[order] = np.arange(order.shape[0])
    sig_of, first = renumber[sig_of], first[order]
    # The first transmission's rows stand for each set: originator, observer, anchors.
    start = bounds[first]
    group, nth = expand(bounds[first + 1] - start)
    anchor = unique[hop[start[group] + nth]]
    keep = np.flatnonzero(kept[anchor])
    o, e = origin[first], obs_ep[first]
    has_o, has_e = np.flatnonzero(kept[o]), np.flatnonzero(kept[e])
    return sig_of, Context(
        np.concatenate([has_o, has_e, group[keep]]),
        np.concatenate([o[has_o], e[has_e], anchor[keep]]),
    )


def _mix(values: I64) -> npt.NDArray[np.uint64]:
    """splitmix64 finaliser: spreads endpoint ids over 64 bits for the set hash."""
    z = values.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def _resolve(snap: Snapshot, hop: I64, group: I64, context: Context, now_ms: int) -> Resolution:
    roster = roster_of(snap)
    graph = neighbour_graph(snap)
    adjacency = graph.adjacency(now_ms, roster.endpoint_count) if len(graph) else None
    return resolve(roster, hop_candidates(snap), adjacency, hop=hop, group=group, context=context)
