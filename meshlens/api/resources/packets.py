"""GET /api/packets, /api/packets/timestamps and /api/packets/{id} (api-resources §9-§10)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

from meshlens.api.resources import params as p
from meshlens.api.resources import selection as sel
from meshlens.api.resources.clock_text import millis_text as iso_millis
from meshlens.api.resources.clock_text import seconds_text as iso_seconds
from meshlens.api.resources.context import Answer, Resources
from meshlens.api.resources.render import newest_first as obs_newest_first
from meshlens.api.resources.render import (
    observation_json,
    observer_fields,
    path_list,
    path_text,
    raw_hex,
    signal,
    tx_json,
)
from meshlens.errors import NotFoundError, QueryError
from meshlens.records import JSONObject, JSONValue
from meshlens.store.snapshot import Snapshot

Rows = npt.NDArray[np.int64]
DEFAULT_LIMIT = 50


def _mask(res: Resources, snap: Snapshot, q: Mapping[str, str]) -> sel.Mask | None:
    """The §9.2 filters ANDed; None when nothing filters."""
    masks: list[sel.Mask] = []
    tx = snap.tx
    kind = p.bounded(q, "type", 0, 15)
    if kind is not None:
        masks.append(tx.payload_type == kind)
    route = p.bounded(q, "route", 0, 3)
    if route is not None:
        masks.append(tx.route_type == route)
    observers = p.listed(q, "observer")
    if observers:
        masks.append(sel.heard_by(snap, sel.observer_indexes(snap, observers), res.index))
    wanted_hash = (q.get("hash") or "").strip().lower()
    if wanted_hash:
        one = np.zeros(len(tx), np.bool_)
        row = snap.tx_row(wanted_hash)
        if row is not None:
            one[row] = True
        masks.append(one)
    since, until = p.instant(q, "since"), p.instant(q, "until")
    if since is not None or until is not None:
        masks.append(sel.between(snap, since, until, inclusive=False))
    region = p.region(q)
    if region:
        masks.append(sel.heard_by(snap, sel.region_observers(snap, region), res.index))
    node = (q.get("node") or "").strip()
    if node:
        masks.append(sel.node_index(snap, sel.node_public_key(snap, node), res.index))
    channel = q.get("channel") or ""
    if channel:
        masks.append(sel.channel(snap, channel))
    area = q.get("area") or ""
    if area:
        masks.append(sel.in_area(snap, sel.area_node_keys(snap, res.visibility.area(area))))
    if not masks:
        return None
    out = masks[0].copy()
    for mask in masks[1:]:
        out &= mask
    return out


def _page_by_id(n: int, rows: Rows | None, page: p.Page, asc: bool) -> tuple[int, Rows]:
    """Total and the page's rows in transmission-id order (rows are in id order)."""
    total = n if rows is None else int(rows.shape[0])
    start = min(page.offset, total)
    stop = min(page.offset + page.limit, total)
    positions = np.arange(start, stop, dtype=np.int64)
    if not asc:
        positions = total - 1 - positions
    return total, positions if rows is None else rows[positions]


def _raw_rows(res: Resources, snap: Snapshot, rows: Rows, *, expand: bool) -> list[JSONValue]:
    out: list[JSONValue] = []
    obs_lists = res.index.rows_of(snap, rows) if expand else []
    cap = res.settings.list_limits.packets_max
    for i, row in enumerate(rows.tolist()):
        item = tx_json(snap, row, res.decoded.get(snap, row))
        if expand:
            item["observations"] = [
                observation_json(snap, o) for o in obs_newest_first(snap, obs_lists[i])[:cap]
            ]
        out.append(item)
    return out


def _latest(snap: Snapshot, row: int) -> str:
    """§9.4 `latest`: the newest sighting, unless it falls in first_seen's own second."""
    first, last = int(snap.tx.first_seen_ms[row]), int(snap.tx.last_seen_ms[row])
    return iso_seconds(first) if last // 1000 <= first // 1000 else iso_millis(last)


def _grouped_page(snap: Snapshot, rows: Rows | None, start: int, stop: int) -> tuple[int, Rows]:
    """Total, and rows [start, stop) by last sighting descending, then id descending.

    A first page needs only the newest rows: they are picked by a partition of the
    last-seen times (linear) and only they are sorted, so a new generation costs no sort
    of every transmission. Deeper pages sort all the rows (memoised per snapshot).
    """
    tx = snap.tx
    total = len(tx) if rows is None else int(rows.shape[0])
    want = min(stop, total)
    if want <= 0 or start >= want:
        return total, np.empty(0, np.int64)
    if want * 8 <= total:
        pool = np.arange(total, dtype=np.int64) if rows is None else rows
        last = tx.last_seen_ms[pool]
        kth = last[np.argpartition(last, total - want)[total - want]]  # the want-th newest
        pool = pool[last >= kth]  # ties at kth all join: the order below breaks them
    elif rows is None:
        pool = snap.memo(
            "resources:grouped_order",
            lambda: np.lexsort((-tx.db_id, -tx.last_seen_ms)).astype(np.int64),
        )
        return total, pool[start:want]
    else:
        pool = rows
    ordered = pool[np.lexsort((-tx.db_id[pool], -tx.last_seen_ms[pool]))]
    return total, ordered[start:want]


def _grouped_rows(res: Resources, snap: Snapshot, rows: Rows) -> list[JSONValue]:
    out: list[JSONValue] = []
    tx = snap.tx
    for row, observed in zip(rows.tolist(), res.index.rows_of(snap, rows), strict=True):
        who = np.unique(snap.obs.observer[observed]).tolist()
        observers = [snap.observers[i] for i in who]
        best = int(tx.best_obs[row])
        count = int(tx.obs_count[row])
        item: JSONObject = {
            "hash": snap.content_hash(row),
            "first_seen": iso_seconds(int(tx.first_seen_ms[row])),
            "count": count,
            "observation_count": count,
            "observer_count": len({o.id for o in observers if o.id}),
            "latest": _latest(snap, row),
        }
        if best >= 0:
            item |= observer_fields(snap, best)
            item["path_json"] = path_text(path_list(snap, best))
            item["snr"] = signal(snap.obs.snr_db[best])
            item["rssi"] = signal(snap.obs.rssi_dbm[best])
        else:
            item |= {"observer_id": None, "observer_name": None, "observer_iata": None,
                     "path_json": "[]", "snr": None, "rssi": None}  # fmt: skip
        item |= {
            "distinct_iatas": sorted({o.iata for o in observers if o.iata}),
            "payload_type": int(tx.payload_type[row]),
            "route_type": int(tx.route_type[row]),
            "raw_hex": raw_hex(snap, row),
            "decoded_json": res.decoded.get(snap, row).decoded_json,
        }
        out.append(item)
    return out


def list_packets(res: Resources, q: Mapping[str, str]) -> Answer:
    """GET /api/packets: raw, grouped (`groupByHash=true`) or multi-node (`nodes=`)."""
    snap = res.pins.snapshot(q)
    page = p.page(q, default=DEFAULT_LIMIT, cap=res.settings.list_limits.packets_max)
    if p.listed(q, "nodes"):
        return _multi_node(res, snap, q, page)
    mask = _mask(res, snap, q)
    rows = None if mask is None else np.flatnonzero(mask).astype(np.int64)
    body: JSONObject
    if p.flag(q, "groupByHash"):
        total, chosen = _grouped_page(snap, rows, page.offset, page.offset + page.limit)
        body = {"packets": _grouped_rows(res, snap, chosen), "total": total}
    else:
        total, chosen = _page_by_id(len(snap.tx), rows, page, p.ascending(q))
        expand = "observations" in p.listed(q, "expand")
        body = {"packets": _raw_rows(res, snap, chosen, expand=expand), "total": total}
    body |= {"limit": page.limit, "offset": page.offset, "asOf": snap.generation}
    return Answer(body, page.headers())


def _multi_node(res: Resources, snap: Snapshot, q: Mapping[str, str], page: p.Page) -> Answer:
    """§9.5: the union of several nodes' transmissions; only paging and time bounds apply."""
    mask = np.zeros(len(snap.tx), np.bool_)
    for value in p.listed(q, "nodes"):
        mask |= sel.node_index(snap, sel.node_public_key(snap, value), res.index)
    since, until = p.instant(q, "since"), p.instant(q, "until")
    if since is not None or until is not None:
        mask &= sel.between(snap, since, until, inclusive=True)
    rows = np.flatnonzero(mask).astype(np.int64)
    total, chosen = _page_by_id(len(snap.tx), rows, page, p.ascending(q))
    body: JSONObject = {
        "packets": _raw_rows(res, snap, chosen, expand=False),
        "total": total,
        "limit": page.limit,
        "offset": page.offset,
        "asOf": snap.generation,
    }
    return Answer(body, page.headers())


def timestamps(res: Resources, q: Mapping[str, str]) -> Answer:
    """GET /api/packets/timestamps?since=: first-seen times after `since`, ascending.

    meshlens caps the list at `limit` (default and cap `listLimits.packetsMax`), keeping
    the oldest, so a client continues with `since` = the last time it got.
    """
    since = p.instant(q, "since")
    if since is None:
        raise QueryError("since", "an RFC3339 time (since required)", q.get("since"))
    cap = res.settings.list_limits.packets_max
    page = p.page(q, default=cap, cap=cap)
    snap = res.store.snapshot()
    shown = sel.first_seen_s(snap)
    later = np.sort(shown[shown > since])
    headers = page.headers()
    if later.shape[0] > page.limit:
        headers.append((b"x-meshlens-truncated", str(int(later.shape[0])).encode()))
    return Answer([iso_seconds(int(t)) for t in later[: page.limit]], headers)


def _find_row(ids: npt.NDArray[np.int64], wanted: int) -> int | None:
    at = int(np.searchsorted(ids, wanted))
    return at if at < ids.shape[0] and int(ids[at]) == wanted else None


def packet_detail(res: Resources, key: str) -> Answer:
    """GET /api/packets/{id}: by content hash, transmission id, then observation id."""
    snap = res.store.snapshot()
    lowered = key.strip().lower()
    row = snap.tx_row(lowered) if len(lowered) == 16 else None
    obs_row = None
    if row is None and lowered.isdigit():
        number = int(lowered)
        row = _find_row(snap.tx.db_id, number)
        if row is None:
            obs_row = _find_row(snap.obs.db_id, number)
            if obs_row is not None:
                row = int(snap.obs.tx[obs_row])
    if row is None:
        raise NotFoundError("packet", key)
    cap = res.settings.list_limits.packets_max
    observed = obs_newest_first(snap, res.index.rows_of(snap, [row])[0])[:cap]
    observations = [observation_json(snap, o, with_hash=True) for o in observed]
    decoded = res.decoded.get(snap, row)
    packet: JSONObject
    if obs_row is None:
        packet = tx_json(snap, row, decoded)
        packet["observations"] = [observation_json(snap, o) for o in observed]
        hops = packet["_parsedPath"] or []
    else:
        hops = path_list(snap, obs_row)
        single = observation_json(snap, obs_row)
        score = res.observation_score(single["id"]) if res.observation_score else None  # type: ignore[arg-type]
        packet = {
            "id": single["id"], "timestamp": single["timestamp"],
            "observer_id": single["observer_id"], "observer_name": single["observer_name"],
            "observer_iata": single["observer_iata"], "direction": single["direction"],
            "snr": single["snr"], "rssi": single["rssi"], "score": score,
            "path_json": single["path_json"], "hash": snap.content_hash(row),
            "raw_hex": raw_hex(snap, row), "payload_type": int(snap.tx.payload_type[row]),
            "route_type": int(snap.tx.route_type[row]), "decoded_json": decoded.decoded_json,
        }  # fmt: skip
    body: JSONObject = {
        "packet": packet,
        "path": hops,
        "observation_count": max(1, int(snap.tx.obs_count[row])),
    }
    if observations:
        body["observations"] = list[JSONValue](observations)
    return Answer(body)
