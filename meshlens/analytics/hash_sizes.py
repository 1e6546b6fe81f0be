"""Hash sizes: which path hash sizes the mesh uses, and who can do multi-byte (part-b §1).

A frame's path-length byte says how many bytes each hop hash has (1, 2 or 3). Relayed
packets (at least one hop on their best path) are counted by size, overall and per
hour; the hops themselves are tallied; each advert originator's latest size is kept.
The capability list (`multibyte.py`) says for every node whether multi-byte support is
confirmed by its adverts, suspected from paths, or unknown.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from meshlens.analytics.hash_info import hash_sizes_of, zero_hop_direct
from meshlens.analytics.home_regions import home_regions
from meshlens.analytics.hours import dense_codes, hour_label, hours_of
from meshlens.analytics.multibyte import capability
from meshlens.analytics.query import Query
from meshlens.analytics.scope import region_observers, transmissions_in_region
from meshlens.analytics.segments import ranges, segments_of
from meshlens.records import JSONObject, JSONValue
from meshlens.store.snapshot import Snapshot
from meshlens.times import iso_millis
from meshlens.wire import PayloadType

TOP_HOPS = 50
SIZES = ("1", "2", "3")

Bool = npt.NDArray[np.bool_]
I64 = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Originator:
    """An advert originator as the pass saw it."""

    pubkey: str
    hash_size: int  # latest non-zero-hop advert's size; 0 when only zero-hop adverts
    packets: int
    last_seen_ms: int  # first_seen of its last advert in store order


@dataclass(frozen=True, slots=True)
class SizePass:
    """The main pass's body and the multi-byte originators behind `multiByteNodes`."""

    body: JSONObject
    multi_byte: list[Originator]


def compute(snap: Snapshot, query: Query) -> JSONObject:
    """The /api/analytics/hash-sizes body (§1.5)."""
    result = size_pass(snap, query)
    # Adopters come from the unfiltered pass, so a region never hides a confirmed node.
    unfiltered = (
        snap.memo("hash-sizes.unfiltered", lambda: size_pass(snap, Query(now_ms=query.now_ms)))
        if query.region
        else result
    )
    adopters = {o.pubkey: o.hash_size for o in unfiltered.multi_byte if o.hash_size >= 2}
    return {**result.body, "multiByteCapability": capability(snap, query.now_ms, adopters)}


def size_pass(snap: Snapshot, query: Query) -> SizePass:
    """§1.3: the main pass over the transmissions a query covers."""
    tx = snap.tx
    size = hash_sizes_of(tx.path_byte)
    advert = (tx.payload_type == PayloadType.ADVERT) & (tx.from_key >= 0)
    homes = home_regions(snap)
    included = size <= 3  # size bits 11 are not a valid hash size: ignored everywhere
    observers = region_observers(snap, query)
    if observers is not None:
        heard = transmissions_in_region(snap, observers)
        homed = _homed_in(snap, homes, query.region)
        included &= heard | (advert & homed[np.maximum(tx.from_key, 0)])
    originators = _originators(snap, np.flatnonzero(included & advert), size)
    best = tx.best_obs
    hops_on_best = np.where(best >= 0, snap.obs.path_len[np.maximum(best, 0)], 0)
    relayed = np.flatnonzero(included & (hops_on_best > 0))
    by_size = np.bincount(size[relayed], minlength=4)
    roles: dict[str, str] = {n.public_key: n.role for n in snap.nodes}

    def at_home(pk: str) -> bool:
        home = homes.get(pk)
        return not query.region or home is None or home in query.region

    kept = [o for o in originators if at_home(o.pubkey)]
    by_repeaters: dict[str, int] = dict.fromkeys(SIZES, 0)
    for o in kept:
        if "repeater" in roles.get(o.pubkey, "").lower():
            key = str(o.hash_size)
            by_repeaters[key] = by_repeaters.get(key, 0) + 1
    multi = sorted((o for o in kept if o.hash_size > 1), key=lambda o: (-o.packets, o.pubkey))
    body: JSONObject = {
        "total": int(relayed.size),
        "distribution": {s: int(by_size[int(s)]) for s in SIZES},
        "distributionByRepeaters": dict(by_repeaters.items()),
        "hourly": _hourly(hours_of(tx.first_seen_ms[relayed]), size[relayed]),
        "topHops": _top_hops(snap, best[relayed].astype(np.int64)),
        "multiByteNodes": [_multi_byte_node(snap, o, roles) for o in multi],
        "attributionMethod": "repeater" if query.region and homes else "observer",
    }
    return SizePass(body, multi)


def _homed_in(snap: Snapshot, homes: dict[str, str], region: frozenset[str]) -> Bool:
    """Per string id: the pubkey's home region is one of `region`."""
    out = np.zeros(max(len(snap.strings), 1), np.bool_)
    for pk, home in homes.items():
        if home in region:
            i = snap.strings.id_of(pk)
            if i is not None:
                out[i] = True
    return out


def _originators(snap: Snapshot, rows: I64, size: I64) -> list[Originator]:
    """Per advert originator, in store order: packets, last non-zero-hop size, last seen."""
    key = snap.tx.from_key[rows]
    order = np.lexsort((rows, key))
    rows, key = rows[order], key[order]
    groups = segments_of(key)
    sized = ~zero_hop_direct(snap)[rows]
    # Last non-zero-hop advert per node: the largest position among the sized ones.
    position = np.where(sized, np.arange(rows.shape[0]), -1)
    last_sized = np.maximum.reduceat(position, groups.starts) if len(groups) else position
    sizes = np.where(last_sized >= 0, size[rows[np.maximum(last_sized, 0)]], 0)
    last_rows = rows[groups.ends - 1]
    return [
        Originator(snap.strings[k], s, n, t)
        for k, s, n, t in zip(
            key[groups.starts].tolist(),
            sizes.tolist(),
            groups.counts.tolist(),
            snap.tx.first_seen_ms[last_rows].tolist(),
            strict=True,
        )
    ]


def _multi_byte_node(snap: Snapshot, o: Originator, roles: dict[str, str]) -> JSONObject:
    node = snap.node(o.pubkey)
    # The node table's name (latest non-empty); the reference keeps the first advert's.
    name = node.name if node is not None and node.name else o.pubkey[:8]
    return {
        "name": name,
        "hashSize": o.hash_size,
        "packets": o.packets,
        "lastSeen": iso_millis(o.last_seen_ms),
        "pubkey": o.pubkey,
        "role": roles.get(o.pubkey, ""),
    }


def _hourly(hours: I64, size: I64) -> list[JSONValue]:
    """Relayed packets per first_seen hour and size, ascending by hour."""
    codes, keys = dense_codes(hours)
    table = np.bincount(codes * 4 + size, minlength=keys.size * 4).reshape(-1, 4)
    present = np.flatnonzero(table.sum(axis=1))
    return [
        {"hour": hour_label(int(keys[c])), **{s: int(table[c, int(s)]) for s in SIZES}}
        for c in present
    ]


def _top_hops(snap: Snapshot, best_obs: I64) -> list[JSONValue]:
    """The 50 hops seen most on best paths (count desc, then hex), named by first candidate."""
    hop_rows = ranges(snap.obs.path_off[best_obs], snap.obs.path_len[best_obs])
    counts = np.bincount(snap.hops[hop_rows], minlength=len(snap.hop_hex))
    present = np.flatnonzero(counts)
    if present.size > TOP_HOPS:
        # Everything tied with the 50th count is a candidate; hex decides among them.
        cut = np.partition(counts[present], present.size - TOP_HOPS)[present.size - TOP_HOPS]
        present = present[counts[present] >= cut]
    top = sorted((-int(counts[h]), snap.hop_hex[int(h)]) for h in present)[:TOP_HOPS]
    first = _first_candidates(snap, {len(hex_) for _, hex_ in top})
    out: list[JSONValue] = []
    for neg, hex_ in top:
        node = first.get(hex_.lower())
        out.append(
            {
                "hex": hex_,
                "size": (len(hex_) + 1) // 2,
                "count": -neg,
                "name": node[1] if node else None,
                "pubkey": node[0] if node else None,
            }
        )
    return out


def _first_candidates(snap: Snapshot, lengths: set[int]) -> dict[str, tuple[str, str]]:
    """Lower-case prefix -> (pubkey, name) of the first node that can relay (§0.1 prefix map)."""
    out: dict[str, tuple[str, str]] = {}
    usable = {n for n in lengths if 2 <= n <= 8}
    for node in snap.nodes:
        role = node.role.lower()
        if not ("repeater" in role or "room_server" in role or role == "room"):
            continue
        pk = node.public_key.lower()
        for n in usable:
            out.setdefault(pk[:n], (node.public_key, node.name))
        out.setdefault(pk, (node.public_key, node.name))
    return out
