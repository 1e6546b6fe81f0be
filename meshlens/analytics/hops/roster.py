"""The nodes a hop can name: the prefix map and per-hop candidates (analytics-part-a §1.3-1.4).

Everything here is derived from one snapshot and memoised on it, so the analytics of one
compute round share it. Node indexes are positions in `snap.nodes`; graph endpoints use
the same numbers for nodes and append observers whose id is not a node's key.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from meshlens.analytics.hops.arrays import distinct_inverse
from meshlens.store.snapshot import Snapshot

I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
Bool = npt.NDArray[np.bool_]

# §1.4: every prefix of 2..8 hex characters (odd lengths too) is a key, plus the full key.
_PREFIX_LENGTHS = range(2, 9)
_HEX = frozenset("0123456789abcdef")
ADVERT = 4  # payload type


def can_appear_in_path(role: str) -> bool:
    """§1.3 canAppearInPath: repeaters and room servers relay; companions and sensors do not."""
    r = role.lower()
    return "repeater" in r or "room_server" in r or r == "room"


def is_repeater(role: str) -> bool:
    """§1.3: the repeater set of distance link types (rooms are not repeaters there)."""
    return "repeater" in role.lower()


@dataclass(frozen=True, slots=True)
class Roster:
    """The node table as arrays, the prefix map, and the graph's endpoint numbering."""

    keys: tuple[str, ...]  # lower-case pubkey per node index
    names: tuple[str, ...]
    lat: F64  # NaN without GPS
    lon: F64
    lat_rad: F64
    lon_rad: F64
    has_gps: Bool
    advert_count: I64
    path_capable: Bool  # a hop candidate: relaying role and not a repeat:off observer
    repeater: Bool
    rank: I64  # position of the key in sorted order: the tie-break "smallest pubkey"
    prefixes: dict[str, tuple[int, ...]]  # lower-case prefix or full key -> candidates
    endpoint_of: dict[str, int]  # lower-case key or observer id -> endpoint id
    observer_endpoint: I32  # per observer index: endpoint id, -1 for an empty id
    observer_in_context: Bool  # §1.4 (b): an id of at least 4 hex characters

    @property
    def node_count(self) -> int:
        """Number of nodes (endpoint ids below this are nodes)."""
        return len(self.keys)

    @property
    def endpoint_count(self) -> int:
        """Number of graph endpoints: nodes, then observers that are not nodes."""
        return len(self.endpoint_of)

    def candidates(self, hop: str) -> tuple[int, ...]:
        """Node indexes whose key starts with `hop` (2-8 hex characters, or a full key)."""
        return self.prefixes.get(hop.lower(), ())


def roster_of(snap: Snapshot) -> Roster:
    """The roster of a snapshot, built once per snapshot."""
    return snap.memo("hops.roster", lambda: _build_roster(snap))


def _build_roster(snap: Snapshot) -> Roster:
    nodes = snap.nodes
    n = len(nodes)
    keys = tuple(node.public_key.lower() for node in nodes)
    lat = np.full(n, np.nan)
    lon = np.full(n, np.nan)
    has_gps = np.zeros(n, np.bool_)
    for i, node in enumerate(nodes):
        if node.has_gps:
            lat[i], lon[i], has_gps[i] = node.lat, node.lon, True
    # HEAD #1290: an observer reporting repeat:off never relays, so it names no hop.
    silent = {o.id.lower() for o in snap.observers if not o.can_relay}
    capable = np.array(
        [can_appear_in_path(node.role) and keys[i] not in silent for i, node in enumerate(nodes)],
        np.bool_,
    )
    order = sorted(range(n), key=keys.__getitem__)
    rank = np.empty(n, np.int64)
    rank[order] = np.arange(n)
    prefixes: dict[str, list[int]] = {}
    for i in order:  # sorted, so every candidate tuple is in pubkey order
        if not capable[i]:
            continue
        key = keys[i]
        for length in _PREFIX_LENGTHS:
            prefixes.setdefault(key[:length], []).append(i)
        if len(key) > max(_PREFIX_LENGTHS):
            prefixes.setdefault(key, []).append(i)
    endpoint_of = {key: i for i, key in enumerate(keys)}
    observer_endpoint = np.full(len(snap.observers), -1, np.int32)
    in_context = np.zeros(len(snap.observers), np.bool_)
    for j, observer in enumerate(snap.observers):
        oid = observer.id.lower()
        if not oid:
            continue
        observer_endpoint[j] = endpoint_of.setdefault(oid, len(endpoint_of))
        in_context[j] = len(oid) >= 4 and set(oid) <= _HEX
    return Roster(
        keys=keys,
        names=tuple(node.name for node in nodes),
        lat=lat,
        lon=lon,
        lat_rad=np.radians(lat),
        lon_rad=np.radians(lon),
        has_gps=has_gps,
        advert_count=np.array([node.advert_count for node in nodes], np.int64),
        path_capable=capable,
        repeater=np.array([is_repeater(node.role) for node in nodes], np.bool_),
        rank=rank,
        prefixes={k: tuple(v) for k, v in prefixes.items()},
        endpoint_of=endpoint_of,
        observer_endpoint=observer_endpoint,
        observer_in_context=in_context,
    )


@dataclass(frozen=True, slots=True)
class HopCandidates:
    """Candidates of every interned hop id, as CSR arrays over `snap.hop_hex`."""

    offset: I64  # per hop id: start in `node`
    count: I64  # per hop id: number of candidates
    node: I64  # candidate node indexes, each hop's in pubkey order
    merge_node: I64  # §2.3 step 6: the single candidate of the hop cut to 8 chars, else -1

    def unique(self) -> I64:
        """Per hop id: its one candidate, or -1 (none or several)."""
        out = np.full(self.count.shape[0], -1, np.int64)
        one = self.count == 1
        out[one] = self.node[self.offset[one]]
        return out


def hop_candidates(snap: Snapshot) -> HopCandidates:
    """Candidates of each distinct hop of the snapshot, looked up once per hop id."""
    return snap.memo("hops.candidates", lambda: _build_candidates(snap))


def _build_candidates(snap: Snapshot) -> HopCandidates:
    roster = roster_of(snap)
    prefixes = roster.prefixes
    hops = [h.lower() for h in snap.hop_hex]
    found = [prefixes.get(h, ()) for h in hops]
    count = np.fromiter(map(len, found), np.int64, len(found))
    offset = np.cumsum(count) - count
    node = np.fromiter((i for c in found for i in c), np.int64, int(count.sum()))
    merge = np.full(len(hops), -1, np.int64)
    for hop_id, hop in enumerate(hops):
        cands = found[hop_id] if len(hop) <= 8 else prefixes.get(hop[:8], ())
        if len(cands) == 1:
            merge[hop_id] = cands[0]
    return HopCandidates(offset=offset, count=count, node=node, merge_node=merge)


def originator_nodes(snap: Snapshot) -> I64:
    """Per transmission: the node index of an advert's originator (by exact key), else -1."""
    return snap.memo("hops.originators", lambda: _originators(snap))


def _originators(snap: Snapshot) -> I64:
    tx = snap.tx
    out = np.full(len(tx), -1, np.int64)
    adverts = np.flatnonzero((tx.payload_type == ADVERT) & (tx.from_key >= 0))
    if adverts.size == 0:
        return out
    keys, inverse = distinct_inverse(tx.from_key[adverts])
    out[adverts] = key_nodes(snap, keys)[inverse]
    return out


def key_nodes(snap: Snapshot, string_ids: npt.NDArray[np.integer]) -> I64:
    """The node index of each interned pubkey string (by exact key), else -1.

    Adverts and the graph's evidence name mostly the same originators, so each string
    is looked up once per snapshot.
    """
    roster = roster_of(snap)
    known: dict[int, int] = snap.memo("hops.key_nodes", dict)
    ids = string_ids.tolist()
    for k in ids:
        if k not in known:
            node = roster.endpoint_of.get(snap.strings[k].lower(), -1)
            known[k] = node if node < roster.node_count else -1  # an observer is no node
    return np.fromiter(map(known.__getitem__, ids), np.int64, len(ids))
