"""Channels analytic (analytics-part-a §5) on hand-built stores with hand-computed answers."""

from __future__ import annotations

from pathlib import Path

from meshlens.analytics import channels
from meshlens.analytics.query import Query, parse_query
from meshlens.analytics.registry import BY_NAME, REGION_WINDOW
from meshlens.db.database import Database
from meshlens.ingest.pipeline import Pipeline
from meshlens.store.batch import DECRYPTION_DECRYPTED, DECRYPTION_NO_KEY
from meshlens.store.snapshot import Snapshot
from meshlens.store.store import PacketStore
from meshlens.times import iso_seconds
from meshlens.wire import PUBLIC_KEY_HEX, ChannelKey, ChannelKeys
from tests.analytics.stores import MINUTE, T0, StoreBuilder, items
from tests.ingest.helpers import channel_frame, sighting

HOSTILE = '<script>alert("x")</script>\u0007\u202e&amp;'
EMPTY = {
    "activeChannels": 0,
    "channelTimeline": [],
    "channels": [],
    "decryptable": 0,
    "msgLengths": [],
    "topSenders": [],
}


def _q(**params: str) -> Query:
    return parse_query(params, now_ms=T0 + 24 * 60 * MINUTE, accepts=REGION_WINDOW)


def _at(minutes: int) -> str:
    return iso_seconds(T0 + minutes * MINUTE)


def _store() -> Snapshot:
    """Eight channel messages (and two that are not GRP_TXT), in database order.

    `#c7` and `#c29` both hash to 159; `#c29` is stored first but was seen later.
    """
    assert channels.hashtag_byte("#c7") == channels.hashtag_byte("#c29") == 159
    b = StoreBuilder()
    a, c = b.observer("A", "SEA"), b.observer("C", "PDX")
    dec = DECRYPTION_DECRYPTED

    def msg(
        observer: str,
        minutes: int,
        byte: int,
        *,
        channel: str | None = None,
        decryption: int = 0,
        sender: str | None = None,
        text: str | None = None,
    ) -> None:
        at = T0 + minutes * MINUTE
        tx = b.tx(
            payload_type=5,
            channel_hash=byte,
            at_ms=at,
            channel=channel,
            decryption=decryption,
            sender=sender,
            text=text,
        )
        b.obs(tx, observer, at_ms=at)

    msg(a, 0, 17, channel="Public", decryption=dec, sender="alice", text="alice: hi")
    msg(c, 10, 17, channel="Public", decryption=dec, sender="bob", text="bob: héllo")
    msg(a, 20, 0, decryption=DECRYPTION_NO_KEY)
    # A label on a message that was not decrypted must hash to its byte (#978): it does.
    msg(a, 30, 217, channel="#test", sender="alice", text="alice: test 1")
    # ... and here it does not: the name is thrown away, sender and text still count.
    msg(c, 40, 245, channel="#bogus", sender="eve", text="eve: x")
    msg(a, 70, 17, decryption=DECRYPTION_NO_KEY)
    msg(a, 50, 159, channel="#c29", decryption=dec, sender="carol", text="carol: late")
    msg(c, 5, 159, channel="#c7", decryption=dec, sender="carol", text="carol: early")
    b.obs(b.tx(payload_type=4), a)  # an advert
    b.obs(b.tx(payload_type=6, channel_hash=17, channel="Public", decryption=dec), a)  # GRP_DATA
    return b.snapshot()


def _channel(
    byte: str, name: str, messages: int, senders: int, last: int, enc: bool
) -> dict[str, object]:
    return {
        "encrypted": enc,
        "hash": byte,
        "lastActivity": _at(last),
        "messages": messages,
        "name": name,
        "senders": senders,
    }


def test_channels_is_registered() -> None:
    assert BY_NAME["channels"].compute is channels.compute


def test_global_shape() -> None:
    out = channels.compute(_store(), _q())
    assert out["channels"] == [
        # Public keeps its name (HEAD #1729, decision 6); lastActivity is the latest
        # message, not the last one processed (decision 4).
        _channel("17", "Public", 3, 2, 70, enc=False),
        # Two real channels on one byte: the earliest-seen name wins (§5.5).
        _channel("159", "#c7", 2, 1, 50, enc=False),
        # Ties on messages: by hash byte. Byte 0 is "00", not "?" (decision 4).
        _channel("00", "ch00", 1, 0, 20, enc=True),
        _channel("217", "#test", 1, 1, 30, enc=False),
        _channel("245", "ch245", 1, 1, 40, enc=True),  # rejected by the rainbow guard
    ]
    assert out["activeChannels"] == 5 and out["decryptable"] == 3
    assert out["topSenders"] == [
        {"name": "alice", "count": 2},
        {"name": "carol", "count": 2},
        {"name": "bob", "count": 1},
        {"name": "eve", "count": 1},
    ]
    # UTF-8 bytes with the "sender: " prefix, in first_seen order ("é" is two bytes).
    assert out["msgLengths"] == [9, 12, 11, 13, 6, 11]
    assert list(out) == sorted(out)


def test_timeline_uses_each_messages_own_name_sorted_by_hour_then_name() -> None:
    out = channels.compute(_store(), _q())
    h0, h1 = "2026-01-01T00", "2026-01-01T01"
    assert out["channelTimeline"] == [
        {"hour": h0, "channel": "#c29", "count": 1},
        {"hour": h0, "channel": "#c7", "count": 1},
        {"hour": h0, "channel": "#test", "count": 1},
        {"hour": h0, "channel": "Public", "count": 2},
        {"hour": h0, "channel": "ch00", "count": 1},
        {"hour": h0, "channel": "ch245", "count": 1},
        # The undecrypted message of byte 17 is "ch17" here although the bucket is Public.
        {"hour": h1, "channel": "ch17", "count": 1},
    ]


def test_region_keeps_transmissions_any_region_observer_heard() -> None:
    out = channels.compute(_store(), _q(region="sea"))
    assert out["channels"] == [
        _channel("17", "Public", 2, 1, 70, enc=False),
        _channel("00", "ch00", 1, 0, 20, enc=True),
        _channel("159", "#c29", 1, 1, 50, enc=False),
        _channel("217", "#test", 1, 1, 30, enc=False),
    ]
    assert out["msgLengths"] == [9, 13, 11]


def test_unknown_region_and_all_give_the_global_result() -> None:
    snap = _store()
    everything = channels.compute(snap, _q())
    assert channels.compute(snap, _q(region="XYZ")) == everything  # §1.5 quirk, kept
    assert channels.compute(snap, _q(region="ALL")) == everything  # decision 9


def test_window_filters_on_first_seen() -> None:
    out = channels.compute(_store(), _q(**{"from": _at(30)}))
    assert out["channels"] == [
        # Only the undecrypted message of byte 17 is left: a placeholder, encrypted.
        _channel("17", "ch17", 1, 0, 70, enc=True),
        _channel("159", "#c29", 1, 1, 50, enc=False),
        _channel("217", "#test", 1, 1, 30, enc=False),
        _channel("245", "ch245", 1, 1, 40, enc=True),
    ]
    assert out["decryptable"] == 2
    until = channels.compute(_store(), _q(**{"to": _at(0)}))
    assert until["channels"] == [_channel("17", "Public", 1, 1, 0, enc=False)]


def test_a_placeholder_bucket_takes_the_first_real_name_later() -> None:
    b = StoreBuilder()
    a = b.observer("A", "SEA")
    b.obs(b.tx(payload_type=5, channel_hash=217, at_ms=T0), a)
    b.obs(
        b.tx(payload_type=5, channel_hash=217, channel="#test", text="hi", at_ms=T0 + MINUTE),
        a,
        at_ms=T0 + MINUTE,
    )
    out = channels.compute(b.snapshot(), _q())
    assert out["channels"] == [_channel("217", "#test", 2, 0, 1, enc=False)]


def test_messages_without_a_channel_byte_share_the_question_mark_bucket() -> None:
    b = StoreBuilder()
    a = b.observer("A", "SEA")
    b.obs(b.tx(payload_type=5, channel_hash=-1, at_ms=T0), a)
    b.obs(b.tx(payload_type=5, channel_hash=-1, channel="#test", text="x", at_ms=T0), a)
    out = channels.compute(b.snapshot(), _q())
    # No byte: every name fails the check (the reference cannot parse "?").
    assert out["channels"] == [_channel("?", "ch?", 2, 0, 0, enc=True)]


def test_top_senders_keeps_15_with_ties_by_name_and_hostile_names_intact() -> None:
    b = StoreBuilder()
    a = b.observer("A", "SEA")
    names = [f"s{i:02d}" for i in range(15)] + [HOSTILE]
    for i, name in enumerate([*names, "zed", "zed"]):
        b.obs(
            b.tx(payload_type=5, channel_hash=9, sender=name, text=f"{name}: m", at_ms=T0 + i),
            a,
        )
    out = channels.compute(b.snapshot(), _q())
    top = out["topSenders"]
    assert isinstance(top, list) and len(top) == 15
    assert top[0] == {"name": "zed", "count": 2}
    # HOSTILE sorts first ('<' < 's'); the rest by name, and s13, s14 fall off.
    assert [t["name"] for t in items(top)[1:]] == [HOSTILE] + [f"s{i:02d}" for i in range(13)]
    assert items(out["channels"])[0]["senders"] == 17
    lengths = out["msgLengths"]
    assert isinstance(lengths, list) and lengths[15] == len(f"{HOSTILE}: m".encode())


def test_empty_store_and_empty_scope_have_the_exact_empty_shape() -> None:
    assert channels.compute(PacketStore().snapshot(), _q()) == EMPTY
    assert channels.compute(_store(), _q(**{"to": _at(-1)})) == EMPTY


def test_hash_text() -> None:
    assert [channels.hash_text(b) for b in (0, 1, 17, 255, channels.NO_HASH)] == [
        "00",
        "1",
        "17",
        "255",
        "?",
    ]


def test_real_frames_through_the_pipeline(tmp_path: Path) -> None:
    keys, _ = ChannelKeys.build(hash_channels=["#test"])
    public = bytes.fromhex(PUBLIC_KEY_HEX)
    test_key = ChannelKey.hashtag("#test").key
    secret = ChannelKey.hashtag("#secret").key  # not configured: stays encrypted
    frames = [
        channel_frame(public, "alice: hello mesh", timestamp=1),
        channel_frame(public, f"{HOSTILE}: boo", timestamp=2),
        channel_frame(test_key, "bob: on #test", timestamp=3),
        channel_frame(secret, "mallory: hidden", timestamp=4),
    ]
    store = PacketStore()
    with Database(tmp_path / "m.db") as db:
        Pipeline(db, store, keys=keys).process(
            [sighting(f, at_ms=T0 + i * MINUTE) for i, f in enumerate(frames)]
        )
    out = channels.compute(store.snapshot(), _q())
    secret_byte = channels.hashtag_byte("#secret")
    assert out["channels"] == [
        _channel("17", "Public", 2, 2, 1, enc=False),
        *sorted(
            [
                _channel("217", "#test", 1, 1, 2, enc=False),
                _channel(str(secret_byte), f"ch{secret_byte}", 1, 0, 3, enc=True),
            ],
            key=lambda c: int(str(c["hash"])),
        ),
    ]
    senders = {s["name"] for s in items(out["topSenders"])}
    assert senders == {"alice", HOSTILE, "bob"}
    assert out["msgLengths"] == [17, len(f"{HOSTILE}: boo".encode()), 13]
