"""Hash collisions: repeaters that share a 1-, 2- or 3-byte key prefix (part-b §2).

A path names each hop by the first bytes of its public key. Two repeaters with the same
prefix at the size they flood with are indistinguishable on a path; close together
(`local`, under 50 km) they misroute traffic, far apart (`distant`, 200 km or more)
they rarely meet. Per size: the collisions, stats of how full the prefix space is, and
the 256-cell grids the dashboard draws (1-byte cells, and 2-byte cells per first byte).
"""

from __future__ import annotations

import itertools
from collections import defaultdict

import numpy as np

from meshlens.analytics.hash_info import hash_info
from meshlens.analytics.query import Query
from meshlens.analytics.scope import region_observers, transmissions_in_region
from meshlens.geo import haversine_km
from meshlens.records import JSONObject, JSONValue, Node
from meshlens.store.snapshot import Snapshot

LOCAL_KM = 50.0  # closer than this: local
REGIONAL_KM = 200.0  # closer than this: regional; else distant
CLASS_RANK = {"local": 0, "regional": 1, "distant": 2, "incomplete": 3, "unknown": 4}
SPACE = {1: 256, 2: 65_536, 3: 16_777_216}
CELLS = tuple(f"{i:02X}" for i in range(256))


def compute(snap: Snapshot, query: Query) -> JSONObject:
    """The /api/analytics/hash-collisions body."""
    info = hash_info(snap, query.now_ms)
    # A region that matches no observer (or All) filters nothing (§2.2 step 2, decision 9).
    nodes: list[Node] = list(snap.nodes)
    if region_observers(snap, query) is not None:
        keys = _region_keys(snap, query)
        nodes = [n for n in nodes if n.public_key in keys]
    rows: list[JSONObject] = []
    for node in nodes:
        row: JSONObject = {
            "public_key": node.public_key,
            "name": node.name,
            "role": node.role,
            "lat": node.lat if node.lat is not None else 0.0,
            "lon": node.lon if node.lon is not None else 0.0,
            "hash_size": 0,
            "hash_size_inconsistent": False,
        }
        i = info.row.get(node.public_key)
        if i is not None:
            row["hash_size"] = int(info.size[i])
            row["hash_size_inconsistent"] = bool(info.inconsistent[i])
            seen = info.sizes(i)
            if len(seen) > 1:
                row["hash_sizes_seen"] = list(seen)
        rows.append(row)
    inconsistent: list[JSONValue] = [
        r for r in rows if r["hash_size_inconsistent"] and r["role"] in ("repeater", "room_server")
    ]
    return {
        "inconsistent_nodes": inconsistent,
        "by_size": {str(size): _by_size(rows, size) for size in (1, 2, 3)},
    }


def _region_keys(snap: Snapshot, query: Query) -> frozenset[str]:
    """§2.2 step 2: advert originators and observers of every transmission a region heard.

    Observer ids are compared lower-cased (they are upper-case public keys), so an
    observer that is also a node counts; the reference compared them verbatim.
    """

    def build() -> frozenset[str]:
        observers = region_observers(snap, query)
        if observers is None:
            return frozenset()
        heard = transmissions_in_region(snap, observers)
        keys = {snap.strings[int(k)] for k in np.unique(snap.tx.from_key[heard]) if k >= 0}
        watchers = np.unique(snap.obs.observer[heard[snap.obs.tx]])
        keys |= {snap.observers[int(o)].id.lower() for o in watchers if snap.observers[int(o)].id}
        return frozenset(keys)

    return snap.memo(f"hash-collisions.region:{query.cache_key()}", build)


def _by_size(rows: list[JSONObject], size: int) -> JSONObject:
    """Collisions, stats and the grid of one prefix size."""
    repeaters = [r for r in rows if r["hash_size"] == size and r["role"] == "repeater"]
    by_prefix: dict[str, list[JSONObject]] = defaultdict(list)
    for r in repeaters:
        pk = str(r["public_key"])
        if len(pk) >= 2 * size:
            by_prefix[pk[: 2 * size].upper()].append(r)
    ranked = [_collision(p, size, group) for p, group in by_prefix.items() if len(group) > 1]
    ranked.sort(key=lambda c: c[0])
    collisions: list[JSONValue] = [c[1] for c in ranked]
    out: JSONObject = {
        "stats": {
            "total_nodes": len(rows),
            "nodes_for_byte": len(repeaters),
            "using_this_size": sum(1 for r in rows if r["hash_size"] == size),
            "unique_prefixes": len(by_prefix),
            "collision_count": len(collisions),
            "space_size": SPACE[size],
            "pct_used": len(by_prefix) / SPACE[size] * 100,
        },
        "collisions": collisions,
    }
    if size == 1:
        out["one_byte_cells"] = _one_byte_cells(rows, by_prefix)
    elif size == 2:
        out["two_byte_cells"] = _two_byte_cells(repeaters)
    return out


def _collision(
    prefix: str, size: int, group: list[JSONObject]
) -> tuple[tuple[int, int, str], JSONObject]:
    """One shared prefix: how far apart its repeaters are, the class that gives, its rank."""
    points = [(_coord(r["lat"]), _coord(r["lon"])) for r in group]
    located = [p for p in points if p[0] != 0 or p[1] != 0]
    max_km = 0.0
    if len(located) >= 2:
        max_km = max(
            haversine_km(a[0], a[1], b[0], b[1]) for a, b in itertools.combinations(located, 2)
        )
        label = distance_class(max_km)
    else:
        label = "incomplete"
    nodes: list[JSONValue] = list(group)
    body: JSONObject = {
        "prefix": prefix,
        "byte_size": size,
        "appearances": len(group),
        "nodes": nodes,
        "max_dist_km": max_km,
        "classification": label,
        "with_coords": len(located),
    }
    # Class, then most appearances, then prefix (decision 1).
    return (CLASS_RANK[label], -len(group), prefix), body


def _coord(value: JSONValue) -> float:
    return float(value) if isinstance(value, int | float) else 0.0


def distance_class(max_km: float) -> str:
    """local under 50 km, regional under 200 km, else distant (each edge is the farther class)."""
    if max_km < LOCAL_KM:
        return "local"
    if max_km < REGIONAL_KM:
        return "regional"
    return "distant"


def _one_byte_cells(rows: list[JSONObject], by_prefix: dict[str, list[JSONObject]]) -> JSONObject:
    """All 256 first bytes; HEAD #1218 also lists 2- and 3-byte repeaters by first byte."""
    cells: dict[str, list[JSONValue]] = {c: list(by_prefix.get(c, [])) for c in CELLS}
    for r in rows:
        pk = str(r["public_key"])
        if r["role"] == "repeater" and r["hash_size"] in (2, 3) and len(pk) >= 2:
            cell = cells.get(pk[:2].upper())
            if cell is not None:
                cell.append(r)
    return dict(cells.items())


def _two_byte_cells(repeaters: list[JSONObject]) -> JSONObject:
    """All 256 first bytes, each with its 2-byte repeaters grouped by 2-byte prefix."""
    groups: dict[str, list[JSONValue]] = {c: [] for c in CELLS}
    maps: dict[str, dict[str, list[JSONValue]]] = {c: {} for c in CELLS}
    for r in repeaters:
        pk = str(r["public_key"])
        if len(pk) < 4 or pk[:2].upper() not in groups:
            continue
        groups[pk[:2].upper()].append(r)
        maps[pk[:2].upper()].setdefault(pk[:4].upper(), []).append(r)
    out: JSONObject = {}
    for c in CELLS:
        shared = [len(v) for v in maps[c].values() if len(v) > 1]
        out[c] = {
            "group_nodes": groups[c],
            "two_byte_map": dict(maps[c].items()),
            "max_collision": max(shared, default=0),
            "collision_count": len(shared),
        }
    return out
