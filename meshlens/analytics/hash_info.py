"""Each node's advertised path hash size over the last 7 days (part-b §1.7, HEAD #1726).

An advert's path-length byte carries the hash size its originator floods with. From a
node's adverts of the last 7 days, leaving out zero-hop direct ones (no path, so no
size chosen), in time order: the size is the latest one; the node is "inconsistent"
when it flip-flops (at least 3 adverts, 2 sizes, 2 changes) and its last 3 adverts do
not yet agree. Shared by hash sizes (multi-byte capability) and hash collisions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from meshlens.analytics.segments import segments_of
from meshlens.store.snapshot import Snapshot
from meshlens.wire import PayloadType

WINDOW_MS = 7 * 86_400_000
MIN_ADVERTS = 3  # hashSizeMinObservations
SETTLED_RUN = 3  # the last this many adverts agreeing clears the flag

Bool = npt.NDArray[np.bool_]
I64 = npt.NDArray[np.int64]
U8 = npt.NDArray[np.uint8]


@dataclass(frozen=True, slots=True)
class HashInfo:
    """One row per node with a counted advert; `row` maps a public key to its row."""

    row: dict[str, int]
    size: I64  # the latest advert's hash size (1..4)
    sizes_seen: I64  # bit s set when size s was advertised
    inconsistent: Bool

    def sizes(self, i: int) -> list[int]:
        """The distinct sizes a node advertised, ascending."""
        bits = int(self.sizes_seen[i])
        return [s for s in range(1, 5) if bits >> s & 1]


def hash_sizes_of(path_byte: U8) -> I64:
    """Hash size (1..4) from path-length bytes: the top two bits plus one (protocol §0.2)."""
    return (path_byte.astype(np.int64) >> 6 & 3) + 1


def zero_hop_direct(snap: Snapshot) -> Bool:
    """Transmissions sent DIRECT or TRANSPORT_DIRECT with no hops in their stored frame."""
    route = snap.tx.route_type
    out: Bool = ((route == 2) | (route == 3)) & ((snap.tx.path_byte & 0x3F) == 0)
    return out


def hash_info(snap: Snapshot, now_ms: int) -> HashInfo:
    """The per-node hash size info at `now_ms`, computed once per snapshot and time."""
    return snap.memo(f"hash-info:{now_ms}", lambda: build_hash_info(snap, now_ms))


def build_hash_info(snap: Snapshot, now_ms: int) -> HashInfo:
    """§1.7 (HEAD): chronological, latest size, flip-flop flag with the settled rule."""
    tx = snap.tx
    counted = (
        (tx.payload_type == PayloadType.ADVERT)
        & (tx.from_key >= 0)
        & (tx.first_seen_ms >= now_ms - WINDOW_MS)
        & ~zero_hop_direct(snap)
    )
    rows = np.flatnonzero(counted)
    key = tx.from_key[rows]
    # Chronological per node; equal times keep store order (a stable sort).
    rows = rows[np.lexsort((rows, tx.first_seen_ms[rows], key))]
    key = tx.from_key[rows]
    size = hash_sizes_of(tx.path_byte[rows])
    nodes = segments_of(key)
    if len(nodes) == 0:
        empty = np.empty(0, np.int64)
        return HashInfo({}, empty, empty, np.empty(0, np.bool_))
    last = nodes.ends - 1
    seen = np.bitwise_or.reduceat(np.left_shift(1, size), nodes.starts)
    change = np.zeros(size.shape[0], np.int64)
    change[1:] = size[1:] != size[:-1]
    change[nodes.starts] = 0  # the first advert of a node changes nothing
    transitions = np.add.reduceat(change, nodes.starts)
    distinct = np.zeros(len(nodes), np.int64)
    for s in range(1, 5):
        distinct += seen >> s & 1
    settled = nodes.counts >= SETTLED_RUN
    tail = last[settled]
    settled[settled] = (size[tail] == size[tail - 1]) & (size[tail] == size[tail - 2])
    inconsistent = (nodes.counts >= MIN_ADVERTS) & (distinct >= 2) & (transitions >= 2) & ~settled
    pubkeys = [snap.strings[int(k)] for k in key[nodes.starts].tolist()]
    return HashInfo({pk: i for i, pk in enumerate(pubkeys)}, size[last], seen, inconsistent)
