"""Channels: group-text activity per channel, senders, timeline and lengths (analytics-part-a §5).

Only GRP_TXT transmissions (payload type 5) count, filtered by the window on first_seen
and by the region rule (any observation from a region observer). Messages are taken in
first_seen order (ties: store row), which decides a bucket's name and the order of
msgLengths. Decisions kept here: hash byte 0 is "00" (decision 4), lastActivity is the
latest first_seen (decision 4), names from decrypted messages skip the hashtag check
(HEAD #1729, so Public stays Public: decision 6), and every sort has a tie-breaker
(decision 1).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from meshlens.analytics.hours import dense_codes, hour_label, hours_of
from meshlens.analytics.query import Query
from meshlens.analytics.scope import transmissions_in_scope
from meshlens.records import JSONObject, JSONValue
from meshlens.store.batch import DECRYPTION_DECRYPTED
from meshlens.store.snapshot import Snapshot
from meshlens.times import iso_seconds
from meshlens.wire import PayloadType
from meshlens.wire.crypto import channel_hash, derived_key

TOP_SENDERS = 15
NO_HASH = 256  # bucket of messages that carry no channel byte (reported as "?")
BUCKETS = 257

# §5.3 step 4: a placeholder name is "ch" and a string Go's Atoi accepts.
_PLACEHOLDER = re.compile(r"ch[+-]?[0-9]+")

Bool = npt.NDArray[np.bool_]
I64 = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Messages:
    """The GRP_TXT transmissions in scope, one entry per message, in processing order."""

    first_seen_ms: I64
    bucket: I64  # channel hash byte 0..255, or NO_HASH
    name: I64  # string id of the label the message keeps, -1 for the "ch<hash>" placeholder
    encrypted: Bool
    sender: I64  # string id, -1 if none
    text: I64  # string id, -1 if none


def compute(snap: Snapshot, query: Query) -> JSONObject:
    """The /api/analytics/channels body for one query shape."""
    msgs = messages(snap, query)
    buckets = _channels(snap, msgs)
    return {
        "activeChannels": len(buckets),
        "channelTimeline": _timeline(snap, msgs),
        "channels": list(buckets),
        "decryptable": sum(1 for b in buckets if not b["encrypted"]),
        "msgLengths": _lengths(snap, msgs.text[msgs.text >= 0]),
        "topSenders": _top_senders(snap, msgs.sender[msgs.sender >= 0]),
    }


def hash_text(bucket: int) -> str:
    """The `hash` string of a bucket: the byte in decimal, "00" for 0 (decision 4), or "?"."""
    if bucket == NO_HASH:
        return "?"
    return "00" if bucket == 0 else str(bucket)


def hashtag_byte(name: str) -> int:
    """The channel byte a hashtag channel of this name announces (§5.3 step 3)."""
    label = name if name.startswith("#") else f"#{name}"
    return channel_hash(derived_key(label))


def messages(snap: Snapshot, query: Query) -> Messages:
    """The messages in scope with their names checked by the rainbow-table guard."""
    tx = snap.tx
    rows = np.flatnonzero(
        (tx.payload_type == PayloadType.GRP_TXT) & transmissions_in_scope(snap, query)
    )
    rows = rows[np.argsort(tx.first_seen_ms[rows], kind="stable")]
    byte = tx.channel_hash[rows].astype(np.int64)
    bucket = np.where(byte >= 0, byte, NO_HASH)
    label = tx.channel[rows].astype(np.int64)
    sender = tx.sender[rows].astype(np.int64)
    text = tx.text[rows].astype(np.int64)
    empty = snap.strings.id_of("")
    if empty is not None:  # §5.3: an empty channel, sender or text counts as absent
        for ids in (label, sender, text):
            ids[ids == empty] = -1
    # §5.3 step 3 (#978): a name that does not hash to the byte is thrown away, unless the
    # message was decrypted with that key (HEAD #1729).
    check = (label >= 0) & (tx.decryption[rows] != DECRYPTION_DECRYPTED)
    rejected = np.zeros(rows.size, np.bool_)
    rejected[check] = ~_names_match(snap, label[check], bucket[check])
    return Messages(
        first_seen_ms=tx.first_seen_ms[rows],
        bucket=bucket,
        name=np.where(rejected, -1, label),
        encrypted=((text < 0) & (sender < 0)) | rejected,
        sender=sender,
        text=text,
    )


def _names_match(snap: Snapshot, labels: I64, buckets: I64) -> Bool:
    """Whether each (label, bucket) pair passes the hashtag check; hashed once per pair."""
    if labels.size == 0:
        return np.zeros(0, np.bool_)
    pairs, inverse = np.unique(labels * BUCKETS + buckets, return_inverse=True)
    ok = np.array(
        [
            _placeholder_or_hashtag(snap.strings[int(lab)], int(b))
            for lab, b in zip(*np.divmod(pairs, BUCKETS), strict=True)
        ],
        np.bool_,
    )
    return ok[inverse]


def _placeholder_or_hashtag(name: str, bucket: int) -> bool:
    # A label that already reads "ch<hash>" is the placeholder itself: nothing to check.
    # Without a channel byte ("?") no name can match (the reference's Atoi fails).
    if name == "ch" + hash_text(bucket):
        return True
    return bucket != NO_HASH and hashtag_byte(name) == bucket


def _name_of(snap: Snapshot, name_id: int, bucket: int) -> str:
    return snap.strings[name_id] if name_id >= 0 else "ch" + hash_text(bucket)


def _channels(snap: Snapshot, msgs: Messages) -> list[JSONObject]:
    """One entry per hash byte, by messages desc then hash byte ("?" last)."""
    if msgs.bucket.size == 0:
        return []
    counts = np.bincount(msgs.bucket, minlength=BUCKETS)
    readable = np.bincount(msgs.bucket, weights=~msgs.encrypted, minlength=BUCKETS)
    latest = np.full(BUCKETS, np.iinfo(np.int64).min, np.int64)
    np.maximum.at(latest, msgs.bucket, msgs.first_seen_ms)
    names = _bucket_names(snap, msgs)
    senders = _senders_per_bucket(msgs)
    present = np.flatnonzero(counts)
    order = present[np.lexsort((present, -counts[present]))]
    # Keys in Go's map order (sorted), as the reference encodes them.
    return [
        {
            "encrypted": bool(readable[b] == 0),
            "hash": hash_text(int(b)),
            "lastActivity": iso_seconds(int(latest[b])),
            "messages": int(counts[b]),
            "name": names[int(b)],
            "senders": int(senders[b]),
        }
        for b in order
    ]


def _bucket_names(snap: Snapshot, msgs: Messages) -> dict[int, str]:
    """§5.3 step 4: the first message's name, replaced by the first non-placeholder one."""
    placeholder = np.ones(msgs.name.size, np.bool_)
    named = np.flatnonzero(msgs.name >= 0)
    if named.size:
        ids, inverse = np.unique(msgs.name[named], return_inverse=True)
        flags = np.array([_PLACEHOLDER.fullmatch(snap.strings[int(i)]) is not None for i in ids])
        placeholder[named] = flags[inverse]
    # Without a channel byte the "ch?" placeholder is not "ch" + an integer.
    placeholder[(msgs.name < 0) & (msgs.bucket == NO_HASH)] = False
    names: dict[int, str] = {}
    for rows in (np.flatnonzero(~placeholder), np.arange(msgs.name.size)):
        buckets, first = np.unique(msgs.bucket[rows], return_index=True)
        for b, i in zip(buckets.tolist(), rows[first].tolist(), strict=True):
            names.setdefault(b, _name_of(snap, int(msgs.name[i]), b))
    return names


def _senders_per_bucket(msgs: Messages) -> I64:
    """The number of distinct senders of each bucket."""
    has = msgs.sender >= 0
    pairs = np.unique(msgs.sender[has] * BUCKETS + msgs.bucket[has])
    return np.bincount(pairs % BUCKETS, minlength=BUCKETS)


def _top_senders(snap: Snapshot, sender: I64) -> list[JSONValue]:
    """The 15 busiest senders over all channels, by count desc then name."""
    if sender.size == 0:
        return []
    ids, counts = np.unique(sender, return_counts=True)
    # Only senders that can still make the top 15 are named and sorted in Python.
    floor = np.partition(counts, -TOP_SENDERS)[-TOP_SENDERS] if counts.size > TOP_SENDERS else 0
    keep = counts >= floor
    ranked = sorted(
        (-int(c), snap.strings[int(i)]) for i, c in zip(ids[keep], counts[keep], strict=True)
    )
    return [{"name": name, "count": -neg} for neg, name in ranked[:TOP_SENDERS]]


def _timeline(snap: Snapshot, msgs: Messages) -> list[JSONValue]:
    """Messages per (first_seen hour, message name), by hour then channel name.

    The per-message name is used, not the bucket's (§5.3 step 7), so one hash byte can
    show under both `ch129` and `#wardriving`.
    """
    if msgs.bucket.size == 0:
        return []
    hour_codes, hours = dense_codes(hours_of(msgs.first_seen_ms))
    # Placeholders are told apart by their byte; labels by their string id.
    name_key = np.where(msgs.name >= 0, msgs.name + BUCKETS, msgs.bucket)
    name_values, name_inverse = np.unique(name_key, return_inverse=True)
    width = name_values.size
    keys, counts = np.unique(hour_codes * width + name_inverse.astype(np.int64), return_counts=True)
    labels = {h: hour_label(int(hours[h])) for h in np.unique(hour_codes).tolist()}
    names = [
        snap.strings[code - BUCKETS] if code >= BUCKETS else "ch" + hash_text(code)
        for code in name_values.tolist()
    ]
    merged: dict[tuple[str, str], int] = {}
    for key, count in zip(keys.tolist(), counts.tolist(), strict=True):
        h, n = divmod(key, width)
        # A label spelled like a placeholder shares its line, as the reference's string key.
        slot = (labels[h], names[n])
        merged[slot] = merged.get(slot, 0) + count
    return [
        {"hour": hour, "channel": name, "count": count}
        for (hour, name), count in sorted(merged.items())
    ]


def _lengths(snap: Snapshot, text: I64) -> list[JSONValue]:
    """UTF-8 byte length of each message text (with its "sender: " prefix), in order."""
    if text.size == 0:
        return []
    ids, inverse = np.unique(text, return_inverse=True)
    strings = snap.strings
    per_id = np.array([len(strings[int(i)].encode()) for i in ids], np.int64)
    lengths: list[JSONValue] = per_id[inverse].tolist()
    return lengths
