"""GET /api/observers and /api/observers/{id} (api-resources §7-§8)."""

from __future__ import annotations

from collections.abc import Mapping

from meshlens.api.resources import params as p
from meshlens.api.resources.clock_text import seconds_text as iso_seconds
from meshlens.api.resources.context import Answer, Resources
from meshlens.errors import NotFoundError
from meshlens.records import JSONObject, Observer
from meshlens.store.snapshot import Snapshot

DAY_MS = 86_400_000
OBSERVERS_MAX = 10_000  # meshlens' cap: the reference list had none


def _time(ms: int | None) -> str | None:
    return None if ms is None else iso_seconds(ms)


def observer_json(
    snap: Snapshot, observer: Observer, last_hour: int, now_ms: int, *, with_node: bool
) -> JSONObject:
    """§7 observer object; the clock fields decay 24 h after the last naive timestamp."""
    naive_at = observer.clock_last_naive_at_ms
    naive = naive_at is not None and now_ms - naive_at <= DAY_MS
    node = snap.node(observer.id.lower()) if with_node else None
    out: JSONObject = {
        "id": observer.id,
        "name": observer.name,
        "iata": observer.iata,
        "last_seen": iso_seconds(observer.last_seen_ms),
        "first_seen": iso_seconds(observer.first_seen_ms),
        "packet_count": observer.packet_count,
        "model": observer.model,
        "firmware": observer.firmware,
        "client_version": observer.client_version,
        "radio": observer.radio,
        "battery_mv": observer.battery_mv,
        "uptime_secs": observer.uptime_secs,
        "noise_floor": observer.noise_floor,
        "last_packet_at": _time(observer.last_packet_at_ms),
        "packetsLastHour": last_hour,
        "lat": None if node is None else node.lat,
        "lon": None if node is None else node.lon,
        "nodeRole": None if node is None else node.role or None,
        "clock_naive": naive,
        "clock_skew_seconds": observer.clock_skew_seconds if naive else None,
        "clock_skew_count_24h": observer.clock_skew_count_24h if naive else 0,
        "clock_last_naive_at": _time(naive_at) if naive else None,
    }
    if observer.can_relay_seen:
        out["can_relay"] = observer.can_relay
    return out


def list_observers(res: Resources, q: Mapping[str, str]) -> Answer:
    """GET /api/observers: active, not blacklisted, last seen first (tie: id)."""
    snap = res.pins.snapshot(q)
    page = p.page(q, default=OBSERVERS_MAX, cap=OBSERVERS_MAX)
    now = res.clock.now_ms()
    counts = res.index.per_observer_after(snap, now - 3_600_000)
    vis = res.visibility
    rows = [
        (i, o) for i, o in enumerate(snap.observers)
        if not o.inactive and not vis.observer_hidden(o.id)
    ]  # fmt: skip
    rows.sort(key=lambda r: (-r[1].last_seen_ms, r[1].id))
    chosen = rows[page.offset : page.offset + page.limit]
    body: JSONObject = {
        "observers": [
            observer_json(snap, o, int(counts[i]), now, with_node=True) for i, o in chosen
        ],
        "server_time": iso_seconds(now),
        "asOf": snap.generation,
    }
    return Answer(body, page.headers())


def observer_detail(res: Resources, observer_id: str) -> Answer:
    """GET /api/observers/{id}: exact id, inactive included, blacklisted ones not found."""
    snap = res.store.snapshot()
    index = snap.observer_ids.id_of(observer_id)
    if index is None or res.visibility.observer_hidden(observer_id):
        raise NotFoundError("observer", observer_id)
    now = res.clock.now_ms()
    counts = res.index.per_observer_after(snap, now - 3_600_000)
    # §8: lat, lon and nodeRole are present but null here, as in the reference.
    body = observer_json(snap, snap.observers[index], int(counts[index]), now, with_node=False)
    return Answer(body)
