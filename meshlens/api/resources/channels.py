"""GET /api/channels and /api/channels/{hash}/messages (api-resources §11-§12)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from meshlens.api.resources import params as p
from meshlens.api.resources import selection as sel
from meshlens.api.resources.clock_text import seconds_text as iso_seconds
from meshlens.api.resources.context import Answer, Resources
from meshlens.api.resources.render import path_list, signal
from meshlens.records import JSONObject, JSONValue
from meshlens.store.snapshot import Snapshot

DEFAULT_MESSAGES = 100
SPLIT_MAX_BYTES = 49  # §12: a "name: text" split at byte index 1..49


def split_text(sender: str | None, text: str | None) -> tuple[str | None, str]:
    """§12: `name: text` when the first ': ' is at byte index 1-49, else as decoded."""
    body = text or ""
    at = body.find(": ")
    if at > 0 and len(body[:at].encode()) <= SPLIT_MAX_BYTES:
        return body[:at], body[at + 2 :]
    return sender, body


def _last_message(snap: Snapshot, row: int) -> tuple[JSONValue, JSONValue]:
    """§11 lastMessage / lastSender of a channel's newest transmission."""
    text = snap.string(int(snap.tx.text[row]))
    if not text:
        return None, None
    at = text.find(": ")
    message = text[at + 2 :] if at > 0 else text
    return message, snap.string(int(snap.tx.sender[row]))


def list_channels(res: Resources, q: Mapping[str, str]) -> Answer:
    """GET /api/channels: decrypted channels by last activity, then encrypted ones."""
    snap = res.store.snapshot()
    region = p.region(q)
    label, names, n_decrypted = res.labels.of(snap)
    counted = label >= 0
    if region:
        counted &= sel.heard_by(snap, sel.region_observers(snap, region), res.index)
    tx = snap.tx
    rows: list[tuple[int, str, JSONObject]] = []
    for index, name in enumerate(names):
        mine = np.flatnonzero(label == index)
        shown = mine[counted[mine]]
        if not shown.size:
            continue
        # Decision 4: the latest message by time (ties: the higher id), over all regions.
        newest = int(mine[np.lexsort((mine, tx.first_seen_ms[mine]))[-1]])
        last_ms = int(tx.first_seen_ms[shown].max())
        if index >= n_decrypted:
            if not p.flag(q, "includeEncrypted"):
                continue
            row: JSONObject = {"hash": name, "name": f"Encrypted (0x{name[4:]})",
                               "lastMessage": None, "lastSender": None,
                               "messageCount": int(shown.size),
                               "lastActivity": iso_seconds(last_ms), "encrypted": True}  # fmt: skip
        else:
            message, sender = _last_message(snap, newest)
            row = {
                "hash": name, "name": name, "lastMessage": message, "lastSender": sender,
                "messageCount": int(shown.size), "lastActivity": iso_seconds(last_ms),
            }  # fmt: skip
        rows.append((last_ms, name, row))
    decrypted = [r for r in rows if "encrypted" not in r[2]]
    sealed = [r for r in rows if "encrypted" in r[2]]
    order = [*sorted(decrypted, key=lambda r: (-r[0], r[1])),
             *sorted(sealed, key=lambda r: (-r[0], r[1]))]  # fmt: skip
    return Answer({"channels": [r[2] for r in order]})


def channel_messages(res: Resources, channel: str, q: Mapping[str, str]) -> Answer:
    """GET /api/channels/{hash}/messages: a page counted from the newest, sent oldest first."""
    snap = res.pins.snapshot(q)
    page = p.page(q, default=DEFAULT_MESSAGES, cap=res.settings.list_limits.channel_messages_max)
    label, names, _ = res.labels.of(snap)
    try:
        index = names.index(channel)
    except ValueError:
        return Answer({"messages": [], "total": 0, "asOf": snap.generation}, page.headers())
    mask = label == index
    region = p.region(q)
    if region:
        mask &= sel.heard_by(snap, sel.region_observers(snap, region), res.index)
    rows = np.flatnonzero(mask).astype(np.int64)
    tx = snap.tx
    latest_s = tx.last_seen_ms[rows] // 1000
    newest_first = rows[np.lexsort((-tx.db_id[rows], -latest_s))]
    chosen = newest_first[page.offset : page.offset + page.limit][::-1]
    messages: list[JSONValue] = []
    for row, observed in zip(chosen.tolist(), res.index.rows_of(snap, chosen), strict=True):
        if not observed.size:
            continue
        first = int(observed[np.argmin(snap.obs.db_id[observed])])
        observer = snap.observers[int(snap.obs.observer[first])]
        sender, text = split_text(snap.string(int(tx.sender[row])), snap.string(int(tx.text[row])))
        messages.append({
            "sender": sender if sender is not None else "",
            "text": text,
            "timestamp": iso_seconds(int(tx.last_seen_ms[row])),
            "first_seen": iso_seconds(int(tx.first_seen_ms[row])),
            "sender_timestamp": res.decoded.get(snap, row).sender_timestamp,
            "packetId": int(tx.db_id[row]),
            "packetHash": snap.content_hash(row),
            "repeats": int(observed.size),
            "observers": [observer.name or observer.id],
            "hops": len(path_list(snap, first)),
            "snr": signal(snap.obs.snr_db[first]),
        })  # fmt: skip
    body: JSONObject = {"messages": messages, "total": int(rows.size), "asOf": snap.generation}
    return Answer(body, page.headers())
