"""The ingest pipeline end to end on a real SQLite file: decode, dedupe, store, reload."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from meshlens.db import schema
from meshlens.db.database import Database
from meshlens.ingest.loader import load_store
from meshlens.ingest.outcome import Outcome
from meshlens.ingest.pipeline import Pipeline, PipelineOptions
from meshlens.store.batch import DECRYPTION_DECRYPTED
from meshlens.store.store import PacketStore
from meshlens.wire import ChannelKeys
from tests.ingest.helpers import T0, advert_frame, channel_frame, public_key_hex, sighting


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    with Database(tmp_path / "m.db") as database:
        yield database


def test_one_transmission_many_observations_and_repeats(db: Database) -> None:
    store = PacketStore()
    pipe = Pipeline(db, store)
    frame_a = advert_frame(1, name="Hilltop", path=b"\xaa")
    frame_b = advert_frame(1, name="Hilltop", path=b"\xaa\xbb")
    results = pipe.process(
        [
            sighting(frame_a, "OBS1", at_ms=T0),
            sighting(frame_b, "OBS2", at_ms=T0 + 500),
            sighting(frame_a, "OBS1", at_ms=T0 + 900),
        ]
    )
    assert [r.outcome for r in results] == [Outcome.NEW, Outcome.STORED, Outcome.DUPLICATE]
    assert results[0].content_hash == results[1].content_hash == results[2].content_hash
    snap = store.snapshot()
    assert len(snap.tx) == 1 and len(snap.obs) == 2
    assert snap.path(0) == ("AA",) and snap.path(1) == ("AA", "BB")
    assert int(snap.tx.best_obs[0]) == 1
    node = snap.node(public_key_hex(1))
    assert node is not None and node.name == "Hilltop" and node.advert_count == 1
    assert node.role == "repeater" and node.last_seen_ms == T0 + 900
    assert {o.id for o in snap.observers} == {"OBS1", "OBS2"}
    counts = db.read(schema.count_rows)
    assert (counts.transmissions, counts.observations, counts.nodes) == (1, 2, 1)


def test_importing_the_same_input_twice_adds_nothing(db: Database) -> None:
    store = PacketStore()
    pipe = Pipeline(db, store)
    batch = [sighting(advert_frame(s, path=bytes([s])), f"OBS{s % 2}") for s in range(1, 6)]
    pipe.process(batch)
    again = pipe.process(batch)
    assert {r.outcome for r in again} == {Outcome.DUPLICATE}
    assert len(store.snapshot().obs) == 5
    assert db.read(schema.count_rows).observations == 5


def test_bad_frames_are_rejected_and_the_rest_flows(db: Database) -> None:
    store = PacketStore()
    pipe = Pipeline(db, store)
    results = pipe.process(
        [
            sighting(b"\x11"),  # too short
            sighting(advert_frame(2)),
            sighting(b"\x11\xc0" + b"\x00" * 10),  # hash size 4 is invalid
        ]
    )
    assert [r.outcome for r in results] == [Outcome.REJECTED, Outcome.NEW, Outcome.REJECTED]
    assert results[0].reason == "decode_error" and "at byte" in results[0].detail
    snap = pipe.counters.snapshot()
    assert snap.rejected == {"decode_error": 2}
    assert snap.received == 3 and snap.stored_observations == 1


def test_invalid_signature_is_recorded_as_dropped_and_nothing_else(db: Database) -> None:
    store = PacketStore()
    pipe = Pipeline(db, store)
    results = pipe.process([sighting(advert_frame(3, corrupt_signature=True))])
    assert results[0].reason == "invalid_signature"
    assert len(store.snapshot().tx) == 0 and not store.snapshot().observers
    dropped = db.read(
        lambda c: c.execute("SELECT reason, node_pubkey FROM dropped_packets").fetchall()
    )
    assert dropped == [("invalid signature", public_key_hex(3))]


def test_signatures_are_not_checked_when_disabled(db: Database) -> None:
    pipe = Pipeline(db, PacketStore(), options=PipelineOptions(validate_signatures=False))
    assert (
        pipe.process([sighting(advert_frame(3, corrupt_signature=True))])[0].outcome is Outcome.NEW
    )


def test_geofilter_flags_or_drops_foreign_adverts(db: Database) -> None:
    def inside(lat: float | None, lon: float | None) -> bool:
        return lat is None or lat < 50.0

    store = PacketStore()
    flag = Pipeline(db, store, options=PipelineOptions(inside_geofilter=inside))
    flag.process(
        [
            sighting(advert_frame(4, lat=60.0, lon=10.0)),
            sighting(advert_frame(5, lat=40.0, lon=10.0)),
        ]
    )
    snap = store.snapshot()
    assert snap.node(public_key_hex(4)).foreign  # type: ignore[union-attr]
    assert not snap.node(public_key_hex(5)).foreign  # type: ignore[union-attr]
    drop = Pipeline(
        db, store, options=PipelineOptions(inside_geofilter=inside, drop_foreign_adverts=True)
    )
    result = drop.process([sighting(advert_frame(6, lat=60.0, lon=10.0))])
    assert result[0].reason == "foreign_advert"


def test_channel_message_is_decrypted_with_a_hashtag_key(db: Database) -> None:
    keys, warnings = ChannelKeys.build(hash_channels=["#test"])
    assert not warnings
    key = hashlib.sha256(b"#test").digest()[:16]
    store = PacketStore()
    Pipeline(db, store, keys=keys).process([sighting(channel_frame(key, "Alice: hello mesh"))])
    snap = store.snapshot()
    assert int(snap.tx.decryption[0]) == DECRYPTION_DECRYPTED
    assert snap.string(int(snap.tx.channel[0])) == "#test"
    assert snap.string(int(snap.tx.sender[0])) == "Alice"
    assert snap.string(int(snap.tx.text[0])) == "Alice: hello mesh"


def test_an_empty_observer_name_never_erases_a_known_one(db: Database) -> None:
    store = PacketStore()
    pipe = Pipeline(db, store)
    pipe.process([sighting(advert_frame(7), "OBS9", name="Roof")])
    pipe.process([sighting(advert_frame(8), "OBS9", name="", region="")])
    observer = store.snapshot().observer("OBS9")
    assert observer is not None and observer.name == "Roof" and observer.iata == "SEA"
    assert observer.packet_count == 2


def test_everything_is_back_after_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    keys, _ = ChannelKeys.build(hash_channels=["#test"])
    key = hashlib.sha256(b"#test").digest()[:16]
    frames = [
        sighting(advert_frame(10, name="A", lat=47.5, lon=-122.25, path=b"\x01"), "O1"),
        sighting(
            advert_frame(10, name="A", lat=47.5, lon=-122.25, path=b"\x01\x02"), "O2", at_ms=T0 + 5
        ),
        sighting(channel_frame(key, "Bob: hi", path=b"\x03\x04\x05"), "O1", at_ms=T0 + 9),
    ]
    with Database(path) as db:
        live = PacketStore()
        Pipeline(db, live, keys=keys).process(frames)
    with Database(path) as db:
        loaded = PacketStore()
        progress = load_store(db, loaded, keys=keys)
    assert not progress.loading and progress.observations_loaded == 3
    a, b = live.snapshot(), loaded.snapshot()
    for name in (
        "db_id",
        "hash",
        "first_seen_ms",
        "last_seen_ms",
        "best_obs",
        "obs_count",
        "channel_hash",
    ):
        assert list(getattr(a.tx, name)) == list(getattr(b.tx, name)), name
    for name in ("db_id", "tx", "ts_ms", "path_len"):
        assert list(getattr(a.obs, name)) == list(getattr(b.obs, name)), name
    assert [a.path(i) for i in range(3)] == [b.path(i) for i in range(3)]
    assert a.nodes == b.nodes
    assert [o.id for o in a.observers] == [o.id for o in b.observers]
    assert b.string(int(b.tx.text[1])) == "Bob: hi"
