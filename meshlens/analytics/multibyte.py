"""Multi-byte hash capability of every node: confirmed, suspected or unknown (part-b §1.6).

Confirmed: the node's own adverts (last 7 days, or the hash sizes pass) used 2 or 3
byte hashes. Suspected: a multi-byte packet's path holds a hop equal to the node's
2-, 4- or 6-character key prefix, so some node with that prefix relayed it. Unknown:
neither. TRACE packets are left out of the path evidence (#714): their stored hops are
the route of the trace, not the hash size the header announces.
"""

from __future__ import annotations

import numpy as np

from meshlens.analytics.hash_info import hash_info, hash_sizes_of
from meshlens.analytics.segments import ranges
from meshlens.records import JSONValue
from meshlens.store.snapshot import Snapshot
from meshlens.times import iso_seconds
from meshlens.wire import PayloadType

STATUS_RANK = {"confirmed": 0, "suspected": 1, "unknown": 2}
PREFIX_CHARS = (2, 4, 6)


def capability(snap: Snapshot, now_ms: int, adopters: dict[str, int]) -> list[JSONValue]:
    """One entry per known node, confirmed first, then suspected, then unknown; by name."""
    info = hash_info(snap, now_ms)
    suspects = snap.memo("multibyte.suspects", lambda: path_suspects(snap))
    rows: list[tuple[int, str, str, JSONValue]] = []
    for node in snap.nodes:
        pk = node.public_key
        i = info.row.get(pk)
        seen = info.sizes(i) if i is not None else []
        confirmed = max([1, *seen])
        suspected = max((suspects.get(pk.lower()[:n], 0) for n in PREFIX_CHARS), default=0)
        if confirmed >= 2:
            status, evidence, max_size = "confirmed", "advert", confirmed
        elif adopters.get(pk, 0) >= 2:
            status, evidence, max_size = "confirmed", "advert", adopters[pk]
        elif suspected >= 2:
            status, evidence, max_size = "suspected", "path", suspected
        else:
            status, evidence, max_size = "unknown", "", 1
        if max_size == 1 and seen:
            max_size = max(seen)
        entry: JSONValue = {
            "pubkey": pk,
            "name": node.name,
            "role": node.role,
            "status": status,
            "evidence": evidence,
            "maxHashSize": max_size,
            "lastSeen": iso_seconds(node.last_seen_ms),
        }
        rows.append((STATUS_RANK[status], node.name.lower(), pk, entry))
    rows.sort(key=lambda r: r[:3])
    return [r[3] for r in rows]


def path_suspects(snap: Snapshot) -> dict[str, int]:
    """Lower-case hop hex -> hash size of the first multi-byte packet whose path holds it.

    "First" is in store order, as the reference walks its per-hop index; non-TRACE only.
    """
    tx = snap.tx
    size = hash_sizes_of(tx.path_byte)
    multi = (size >= 2) & (tx.payload_type != PayloadType.TRACE)
    obs_rows = np.flatnonzero(multi[snap.obs.tx])
    if obs_rows.size == 0:
        return {}
    lengths = snap.obs.path_len[obs_rows]
    hop_rows = ranges(snap.obs.path_off[obs_rows], lengths)
    hop = snap.hops[hop_rows].astype(np.int64)
    owner = np.repeat(snap.obs.tx[obs_rows], lengths.astype(np.int64)).astype(np.int64)
    # The first transmission per distinct hop: smallest owner row.
    first = np.full(len(snap.hop_hex), np.iinfo(np.int64).max, np.int64)
    np.minimum.at(first, hop, owner)
    found = np.flatnonzero(first != np.iinfo(np.int64).max)
    return {snap.hop_hex[int(h)].lower(): int(size[first[h]]) for h in found.tolist()}
