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

from meshlens.records import Node
from meshlens.store.snapshot import Snapshot

HOUR_MS = 3_600_000
INFRA_ROLES = frozenset({"repeater", "room"})
ADVERT = 4
FLOOD = 1
MAX_CELLS = 64 << 20  # hops x transmissions of the dense table; past it, sort instead


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
    pairs = _distinct_pairs(hop_dense, tx_dense, owned.size, tx_ids.size)
    first_seen = tx.first_seen_ms[tx_ids]
    hour = first_seen > now_ms - HOUR_MS
    day = first_seen > now_ms - 24 * HOUR_MS
    flood = tx.route_type[tx_ids] == FLOOD
    per_node: dict[int, list[int]] = {}
    for dense, hop_id in enumerate(owned.tolist()):
        for node_i in owners[hop_id]:
            per_node.setdefault(node_i, []).append(dense)
    out: dict[str, RelayInfo] = {}
    for node_i, dense_hops in per_node.items():
        seen = np.unique(np.concatenate([pairs[d] for d in dense_hops]))
        if not seen.size:
            continue
        last = int(last_hop[dense_hops].max())
        out[nodes[node_i].public_key] = RelayInfo(
            count_1h=int(np.count_nonzero(hour[seen])),
            count_24h=int(np.count_nonzero(day[seen])),
            unscoped_24h=int(np.count_nonzero(day[seen] & flood[seen])),
            last_relayed_ms=last if last >= 0 else None,
        )
    return out


def _distinct_pairs(
    hop_dense: np.ndarray[tuple[int], np.dtype[np.int64]],
    tx_dense: np.ndarray[tuple[int], np.dtype[np.int64]],
    n_hops: int,
    n_tx: int,
) -> list[np.ndarray[tuple[int], np.dtype[np.int64]]]:
    """For each owned hop, the distinct dense transmission indexes it appears in."""
    if n_hops * n_tx <= MAX_CELLS:
        table = np.zeros((n_hops, n_tx), np.bool_)
        table[hop_dense, tx_dense] = True
        return [np.flatnonzero(table[h]) for h in range(n_hops)]
    keys = np.unique(hop_dense * n_tx + tx_dense)
    hop_of = keys // n_tx
    bounds = np.searchsorted(hop_of, np.arange(n_hops + 1))
    return [keys[bounds[h] : bounds[h + 1]] % n_tx for h in range(n_hops)]
