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
from meshlens.analytics.segments import ranges
from meshlens.records import JSONValue
from meshlens.store.hops import hop_key
from meshlens.store.snapshot import Snapshot
from meshlens.times import iso_seconds
from meshlens.wire import PayloadType

STATUS_RANK = {"confirmed": 0, "suspected": 1, "unknown": 2}
CHUNK_OBS = 65_536  # observations scanned per step when proving a hop is not TRACE-only
PREFIX_CHARS = (4, 6)  # 1-byte hops never make a suspect (see path_suspects)


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
    """Those of `hops` that occur only in TRACE route paths (#714: they prove no hash size)."""
    is_trace = snap.tx.payload_type[snap.obs.tx] == PayloadType.TRACE
    trace = np.flatnonzero(is_trace)
    if trace.size == 0 or not hops:
        return frozenset()
    in_trace = np.unique(snap.hops[ranges(snap.obs.path_off[trace], snap.obs.path_len[trace])])
    pending = hops & frozenset(in_trace.tolist())
    if not pending:
        return frozenset()
    # Look for them in other 2- and 3-byte paths, a chunk at a time: common hops turn
    # up in the first chunk, so the whole column is rarely read.
    other = np.flatnonzero(~is_trace & (snap.obs.hop_width >= 2) & (snap.obs.hop_width <= 3))
    marks = np.zeros(len(snap.hop_hex), np.bool_)
    ids = np.array(sorted(pending), np.int64)
    for start in range(0, other.size, CHUNK_OBS):
        rows = other[start : start + CHUNK_OBS]
        marks[snap.hops[ranges(snap.obs.path_off[rows], snap.obs.path_len[rows])]] = True
        if marks[ids].all():
            return frozenset()
    return frozenset(ids[~marks[ids]].tolist())
