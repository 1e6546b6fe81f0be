"""GET /api/nodes, /api/nodes/{pubkey} and /api/nodes/network-status (api-resources §4-§6)."""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

from meshlens.analytics.hash_info import HashInfo
from meshlens.api.resources import params as p
from meshlens.api.resources import selection as sel
from meshlens.api.resources.clock_text import seconds_text as iso_seconds
from meshlens.api.resources.context import Answer, Resources
from meshlens.api.resources.node_table import NodeTable
from meshlens.api.resources.relays import INFRA_ROLES, RelayInfo
from meshlens.api.resources.render import newest_first as obs_newest_first
from meshlens.api.resources.render import observation_json, tx_json
from meshlens.api.resources.visibility import in_area
from meshlens.errors import AmbiguousError, NotFoundError
from meshlens.records import JSONObject, JSONValue, Node
from meshlens.store.snapshot import Snapshot

HOUR_MS = 3_600_000
DEFAULT_LIMIT = 50
RECENT_ADVERTS = 20
LAST_HEARD_H = {"1h": 1, "6h": 6, "24h": 24, "7d": 168, "30d": 720}
SORTS = ("lastSeen", "name", "packetCount")
AMBIGUOUS = "Ambiguous prefix: multiple nodes match. Use a longer prefix."
_HEX = re.compile(r"^[0-9a-fA-F]{8,63}$")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")

Relays = Mapping[str, RelayInfo]
Mask = npt.NDArray[np.bool_]
Extras = tuple[Relays, HashInfo | None]


def relay_active(node: Node, relays: Relays, now_ms: int, relay_active_h: float) -> bool:
    """An infrastructure node that relayed within the last `relay_active_h` hours."""
    if node.role not in INFRA_ROLES:
        return False
    info = relays.get(node.public_key)
    last = None if info is None else info.last_relayed_ms
    return last is not None and now_ms - last <= relay_active_h * HOUR_MS


def node_json(node: Node, extras: Extras, now_ms: int, relay_active_h: float) -> JSONObject:
    """§4.2 node object, with hash sizes (part-b §1.7) and relay fields for infrastructure."""
    relays, hashes = extras
    last_seen = iso_seconds(node.last_seen_ms)
    # Cached per (node, extras, relay_active) by NodeCache.row: nothing else may vary here.
    out: JSONObject = {
        "public_key": node.public_key,
        "name": node.name,
        "role": node.role or None,
        "lat": node.lat,
        "lon": node.lon,
        "last_seen": last_seen,
        "first_seen": iso_seconds(node.first_seen_ms),
        "advert_count": node.advert_count,
        "last_heard": last_seen,
        "battery_mv": node.battery_mv,
        "temperature_c": node.temperature_c,
        "foreign": node.foreign,
        "hash_size": None,
        "hash_size_inconsistent": False,
        "default_scope": node.default_scope,
    }
    row = None if hashes is None else hashes.row.get(node.public_key)
    if hashes is not None and row is not None:
        out["hash_size"] = int(hashes.size[row])
        out["hash_size_inconsistent"] = bool(hashes.inconsistent[row])
        seen = hashes.sizes(row)
        if len(seen) > 1:
            out["hash_sizes_seen"] = list[JSONValue](seen)
    if node.role in INFRA_ROLES:
        info = relays.get(node.public_key, RelayInfo())
        last = info.last_relayed_ms
        out |= {
            "relay_active": relay_active(node, relays, now_ms, relay_active_h),
            "relay_count_1h": info.count_1h,
            "relay_count_24h": info.count_24h,
            "unscoped_relay_count_24h": info.unscoped_24h,
        }
        if last is not None:
            out["last_relayed"] = iso_seconds(last)
        # Usefulness axes are not built yet: 0, and no grade (§4.2 cold start).
        out |= dict.fromkeys(("traffic_share_score", "bridge_score", "coverage_score",
                              "redundancy_score", "usefulness_score"), 0.0)  # fmt: skip
    return out


def _advertised_in_region(res: Resources, snap: Snapshot, region: frozenset[str]) -> set[str]:
    """Public keys with an advert heard by an observer of `region`."""
    heard = sel.heard_by(snap, sel.region_observers(snap, region), res.index)
    ids = np.unique(snap.tx.from_key[heard & (snap.tx.payload_type == sel.ADVERT)])
    return {snap.strings[int(i)] for i in ids if i >= 0}


def _filtered(res: Resources, snap: Snapshot, table: NodeTable, q: Mapping[str, str]) -> Mask:
    """Every filter of §4.1 and §0.3, all applied before paging (the §4.3 fix)."""
    vis = res.visibility
    role = q.get("role") or None
    search = (q.get("search") or "").translate(_ASCII_LOWER)
    before = p.instant(q, "before")
    heard = p.choice(q, "lastHeard", tuple(LAST_HEARD_H))
    heard_after = None if heard is None else res.clock.now_ms() - LAST_HEARD_H[heard] * HOUR_MS
    region = p.region(q)
    keys = _advertised_in_region(res, snap, region) if region else None
    area = vis.area(q["area"]) if q.get("area") else None
    nodes, n = table.nodes, len(table.nodes)
    mask = table.shown.copy()
    if role is not None:
        mask &= table.role == role
    if search:
        names = table.lower_names(lambda name: name.translate(_ASCII_LOWER))
        mask &= np.fromiter((search in name for name in names), np.bool_, n)
    if before is not None:
        mask &= table.first_seen_ms <= before
    if heard_after is not None:
        mask &= table.last_seen_ms > heard_after
    if keys is not None:
        mask &= np.fromiter((x.public_key in keys for x in nodes), np.bool_, n)
    if area is not None:
        mask &= np.fromiter((in_area(area, x) for x in nodes), np.bool_, n)
    return mask


def list_nodes(res: Resources, q: Mapping[str, str], extras: Extras) -> Answer:
    """GET /api/nodes."""
    snap = res.pins.snapshot(q)
    page = p.page(q, default=DEFAULT_LIMIT, cap=res.settings.list_limits.nodes_max)
    sort = p.choice(q, "sortBy", SORTS) or "lastSeen"
    table = res.node_cache.table(snap.nodes, res.visibility)
    mask = _filtered(res, snap, table, q)
    order = table.order(sort)
    kept = order[mask[order]]
    now = res.clock.now_ms()
    active_h = res.settings.health_thresholds.relay_active_hours
    relays = extras[0]
    rows: list[JSONValue] = []
    for i in kept[page.offset : page.offset + page.limit].tolist():
        node = table.nodes[i]
        active = relay_active(node, relays, now, active_h)
        rows.append(res.node_cache.row(
            node, extras, active, lambda: node_json(node, extras, now, active_h)  # noqa: B023
        ))  # fmt: skip
    body: JSONObject = {
        "nodes": rows,
        "total": int(kept.shape[0]),
        "counts": table.counts,
        "asOf": snap.generation,
    }
    return Answer(body, page.headers())


def find_node(res: Resources, snap: Snapshot, key: str) -> Node:
    """§5 lookup: exact key, else a unique 8-63 hex prefix; hidden nodes do not exist."""
    vis = res.visibility
    wanted = key.strip().lower()
    if wanted in vis.node_blacklist:
        raise NotFoundError("node", key)
    node = snap.node(wanted)
    if node is None and _HEX.match(wanted):
        matches = [n for n in snap.nodes if n.public_key.startswith(wanted)]
        if len(matches) > 1:
            raise AmbiguousError(AMBIGUOUS)
        node = matches[0] if matches else None
    if node is None or vis.node_hidden(node):
        raise NotFoundError("node", key)
    return node


def _recent_adverts(res: Resources, snap: Snapshot, node: Node) -> list[JSONValue]:
    """Up to 20 of the node's own transmissions, newest id first, with their sightings."""
    sid = snap.strings.id_of(node.public_key)
    if sid is None:
        return []
    rows = np.flatnonzero(snap.tx.from_key == sid)[::-1][:RECENT_ADVERTS].astype(np.int64)
    out: list[JSONValue] = []
    for row, observed in zip(rows.tolist(), res.index.rows_of(snap, rows), strict=True):
        item = tx_json(snap, row, res.decoded.get(snap, row))
        del item["_parsedPath"]
        if item["observer_iata"] is None and item["observer_id"] is not None:
            item["observer_iata"] = ""  # §5: "" on this (database-row) path
        sightings = []
        for o in obs_newest_first(snap, observed):
            entry = observation_json(snap, o)
            del entry["direction"]
            entry["transmission_id"] = item["id"]
            entry["observer_iata"] = entry["observer_iata"] or ""
            sightings.append(entry)
        item["observations"] = list[JSONValue](sightings)
        out.append(item)
    return out


def node_detail(res: Resources, key: str, extras: Extras) -> Answer:
    """GET /api/nodes/{pubkey}."""
    snap = res.store.snapshot()
    node = find_node(res, snap, key)
    now = res.clock.now_ms()
    thresholds = res.settings.health_thresholds
    out = node_json(node, extras, now, thresholds.relay_active_hours)
    if node.role in INFRA_ROLES:
        out["relay_window_hours"] = thresholds.relay_active_hours
    sid = snap.strings.id_of(node.public_key)
    flood = 0
    if sid is not None:
        tx = snap.tx
        flood = int(np.count_nonzero(
            (tx.from_key == sid) & (tx.payload_type == sel.ADVERT) & (tx.route_type == 1)
            & (tx.first_seen_ms > now - 168 * HOUR_MS)
        ))  # fmt: skip
    out["flood_advert_count_7d"] = flood
    return Answer({"node": out, "recentAdverts": _recent_adverts(res, snap, node)})


def network_status(res: Resources) -> Answer:
    """GET /api/nodes/network-status: every node row, by age against the thresholds (§6)."""
    snap = res.store.snapshot()
    now = res.clock.now_ms()
    t = res.settings.health_thresholds
    counts = {"active": 0, "degraded": 0, "silent": 0}
    roles: dict[str, int] = {}
    for node in snap.nodes:
        role = node.role or "unknown"
        roles[role] = roles.get(role, 0) + 1
        infra = role in INFRA_ROLES
        degraded_h = t.infra_degraded_hours if infra else t.node_degraded_hours
        silent_h = t.infra_silent_hours if infra else t.node_silent_hours
        age_h = (now - node.last_seen_ms) / HOUR_MS
        state = "active" if age_h < degraded_h else "degraded" if age_h < silent_h else "silent"
        counts[state] += 1
    body: JSONObject = {"total": len(snap.nodes), **counts,
                        "roleCounts": dict(sorted(roles.items()))}  # fmt: skip
    return Answer(body)
