"""Relay activity of repeaters and rooms (api-resources §4.2), from the recent sightings.

A node relayed a transmission when a hop of one of its sightings is a prefix of the
node's public key: the raw 1-byte hop under its first byte (which over-counts when nodes
share a first byte, as the reference accepts) or a wider hop under a longer prefix.
Counts are of distinct non-advert transmissions first seen in the last hour or day.
Pure: runs off the event loop on an immutable snapshot.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from meshlens.records import Node
from meshlens.store.snapshot import Snapshot

HOUR_MS = 3_600_000
INFRA_ROLES = frozenset({"repeater", "room"})
ADVERT = 4
FLOOD = 1


@dataclass(frozen=True, slots=True)
class RelayInfo:
    """One node's relay counts and the time of its last relay (None: none in the window)."""

    count_1h: int = 0
    count_24h: int = 0
    unscoped_24h: int = 0
    last_relayed_ms: int | None = None


def _hop_owners(snap: Snapshot, nodes: list[Node]) -> dict[int, list[int]]:
    """Hop id -> indexes into `nodes` whose public key starts with that hop."""
    by_prefix: dict[str, list[int]] = {}
    for i, node in enumerate(nodes):
        upper = node.public_key.upper()
        for width in (2, 4, 6, 8, 16):
            by_prefix.setdefault(upper[:width], []).append(i)
    owners: dict[int, list[int]] = {}
    for hop_id, text in enumerate(snap.hop_hex):
        found = by_prefix.get(text)
        if found:
            owners[hop_id] = found
    return owners


def relay_stats(
    snap: Snapshot, first_row: int, now_ms: int, window_h: float
) -> dict[str, RelayInfo]:
    """Relay counts of every repeater and room, from observation rows `first_row` on."""
    nodes = [n for n in snap.nodes if n.role in INFRA_ROLES]
    window_start = now_ms - int(max(24.0, window_h) * HOUR_MS)
    obs, tx = snap.obs, snap.tx
    n_obs = len(obs)
    if not nodes or first_row >= n_obs:
        return {}
    owners = _hop_owners(snap, nodes)
    if not owners:
        return {}
    lookup = np.full(len(snap.hop_hex), -1, np.int64)  # hop id -> dense owned-hop index
    owned = np.fromiter(owners, np.int64, len(owners))
    lookup[owned] = np.arange(owned.size)
    start = int(obs.path_off[first_row])
    lengths = obs.path_len[first_row:].astype(np.int64)
    hops = snap.hops[start : start + int(lengths.sum())]
    obs_of = np.repeat(np.arange(first_row, n_obs, dtype=np.int64), lengths)
    tx_of = obs.tx[obs_of]
    keep = (
        (lookup[hops] >= 0)
        & (tx.payload_type[tx_of] != ADVERT)
        & (tx.first_seen_ms[tx_of] > window_start)
    )
    hop_dense = lookup[hops[keep]]
    tx_of = tx_of[keep].astype(np.int64)
    ts = obs.ts_ms[obs_of[keep]]
    if not tx_of.size:
        return {}
    tx_ids, tx_dense = np.unique(tx_of, return_inverse=True)
    last_hop = np.full(owned.size, -1, np.int64)
    np.maximum.at(last_hop, hop_dense, ts)
    # Every owner of a hop relayed what the hop carried: (owned hop, transmission) pairs,
    # fanned out to (node, transmission) pairs through the owners, counted once per node.
    n_tx = int(tx_ids.size)
    pairs = _distinct(hop_dense * n_tx + tx_dense)
    owner_count = np.fromiter((len(owners[h]) for h in owned.tolist()), np.int64, owned.size)
    owner_start = np.cumsum(owner_count) - owner_count
    owner_list = np.fromiter(
        (i for h in owned.tolist() for i in owners[h]), np.int64, int(owner_count.sum())
    )
    pair_hop = pairs // n_tx
    fan = owner_count[pair_hop]
    group = np.repeat(np.cumsum(fan) - fan, fan)
    within = np.arange(int(fan.sum()), dtype=np.int64) - group
    node_of = owner_list[np.repeat(owner_start[pair_hop], fan) + within]
    node_tx = _distinct(node_of * n_tx + np.repeat(pairs % n_tx, fan))
    node_of, seen = node_tx // n_tx, node_tx % n_tx
    first_seen = tx.first_seen_ms[tx_ids]
    hour = (first_seen > now_ms - HOUR_MS)[seen]
    day = (first_seen > now_ms - 24 * HOUR_MS)[seen]
    flood = (tx.route_type[tx_ids] == FLOOD)[seen]
    n_nodes = len(nodes)
    counted = np.bincount(node_of, minlength=n_nodes)
    per_hour = np.bincount(node_of[hour], minlength=n_nodes)
    per_day = np.bincount(node_of[day], minlength=n_nodes)
    unscoped = np.bincount(node_of[day & flood], minlength=n_nodes)
    last_node = np.full(n_nodes, -1, np.int64)
    np.maximum.at(last_node, owner_list, np.repeat(last_hop, owner_count))
    out: dict[str, RelayInfo] = {}
    for i in np.flatnonzero(counted).tolist():
        last = int(last_node[i])
        out[nodes[i].public_key] = RelayInfo(
            count_1h=int(per_hour[i]),
            count_24h=int(per_day[i]),
            unscoped_24h=int(unscoped[i]),
            last_relayed_ms=last if last >= 0 else None,
        )
    return out


def _distinct(values: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """The distinct values, ascending (a sort: numpy's hashed unique is slower on these)."""
    ordered = np.sort(values)
    if not ordered.size:
        return ordered
    keep = np.empty(ordered.shape[0], np.bool_)
    keep[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return ordered[keep]
