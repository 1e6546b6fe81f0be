"""Multi-byte hash capability of every node: confirmed, suspected or unknown (part-b §1.6).

Confirmed: the node's own adverts (last 7 days, or the hash sizes pass) used 2 or 3
byte hashes. Suspected: a multi-byte packet's path holds a hop equal to the node's
2-, 4- or 6-character key prefix, so some node with that prefix relayed it. Unknown:
neither. TRACE packets are left out of the path evidence (#714): their stored hops are
the route of the trace, not the hash size the header announces.
"""

from __future__ import annotations

import numpy as np

from meshlens.analytics.hash_info import hash_info
from meshlens.analytics.instants import iso_seconds_many
from meshlens.records import JSONValue
from meshlens.store.hops import hop_key
from meshlens.store.snapshot import Snapshot

STATUS_RANK = {"confirmed": 0, "suspected": 1, "unknown": 2}
PREFIX_CHARS = (4, 6)  # 1-byte hops never make a suspect (see path_suspects)


def capability(snap: Snapshot, now_ms: int, adopters: dict[str, int]) -> list[JSONValue]:
    """One entry per known node, confirmed first, then suspected, then unknown; by name."""
    info = hash_info(snap, now_ms)
    suspects = snap.memo("multibyte.suspects", lambda: path_suspects(snap))
    rows: list[tuple[int, str, str, JSONValue]] = []
    last_seen = iso_seconds_many([node.last_seen_ms for node in snap.nodes])
    for node, seen_at in zip(snap.nodes, last_seen, strict=True):
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
            "lastSeen": seen_at,
        }
        rows.append((STATUS_RANK[status], node.name.lower(), pk, entry))
    rows.sort(key=lambda r: r[:3])
    return [r[3] for r in rows]


def path_suspects(snap: Snapshot) -> dict[str, int]:
    """Lower-case 4- and 6-character key prefixes seen as a hop of a multi-byte path -> size.

    The reference walks, per prefix, the packets whose path holds it and takes the size
    of the first multi-byte one. A hop's width is its packet's hash size (TRACE aside),
    so a 2-byte hop only ever sits in a 2-byte packet: the answer is the hop's width
    whenever a non-TRACE path holds it, and 1-byte hops never make a suspect.
    """
    wanted: dict[int, tuple[str, int]] = {}
    for node in snap.nodes:
        pk = node.public_key.lower()
        for width in (2, 3):
            prefix = pk[: 2 * width]
            try:
                raw = bytes.fromhex(prefix)
            except ValueError:
                continue
            hop = snap.hop_hex.id_of(hop_key(raw)) if len(raw) == width else None
            if hop is not None:
                wanted[hop] = (prefix, width)
    for hop in _only_in_trace(snap, frozenset(wanted)):
        del wanted[hop]
    return dict(wanted.values())


def _only_in_trace(snap: Snapshot, hops: frozenset[int]) -> frozenset[int]:
    """Those of `hops` that occur only in TRACE route paths (#714: they prove no hash size).

    The store marks, per hop id, whether a TRACE path and whether any other path held it
    (`Snapshot.hop_in_trace` / `hop_in_other`). `hops` are 2- and 3-byte hop ids, and a
    hop id's width is that of every path holding it, so "any other path" is "another 2-
    or 3-byte path".
    """
    if not hops:
        return frozenset()
    ids = np.array(sorted(hops), np.int64)
    only = snap.hop_in_trace[ids] & ~snap.hop_in_other[ids]
    return frozenset(ids[only].tolist())
