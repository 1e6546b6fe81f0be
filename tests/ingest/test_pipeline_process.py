"""The pipeline in a process of its own leaves what the pipeline on a thread leaves.

Two layers: the database answering what is stored (known.DatabaseKnown) against the store
answering it, property-tested in this process; then the real child process
(PipelineProcess) against an in-process pipeline, its failures and its condemned ids.
"""

from __future__ import annotations

import dataclasses
import os
import pickle
import signal
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meshlens.config import GeoFilter
from meshlens.config.geo import BoundingBox
from meshlens.db.database import Database, DirectWriter, connect
from meshlens.errors import StorageError
from meshlens.ingest.counters import IngestCounters
from meshlens.ingest.known import DatabaseKnown
from meshlens.ingest.outcome import Outcome, Result
from meshlens.ingest.pipeline import Pipeline, PipelineOptions
from meshlens.ingest.pipeline_process import PipelineProcess, PipelineSpec
from meshlens.ingest.status import ObserverStatus
from meshlens.records import Node, Observer, ObserverId, PubKey, Sighting
from meshlens.storage import geofilter_check
from meshlens.store.store import PacketStore
from meshlens.wire import ChannelKeys, RegionKeys, decode_packet
from tests.ingest.helpers import T0, advert_frame, channel_frame, public_key_hex, sighting

_PATHS = (b"", b"\xaa", b"\xaa\xbb")
_SEEDS = (1, 2, 3)
_ADVERTS = {
    (seed, version, path): advert_frame(
        seed, name=f"N{seed}v{version}", timestamp=1_767_225_600 + version, path=path,
        lat=47.5 + version, lon=-122.0 + 3 * seed,
    )
    for seed in _SEEDS for version in (0, 1) for path in _PATHS
}  # fmt: skip
_HASHTAG_KEY = ChannelKeys.build(hash_channels=["#mesh"])[0]
_MESH = next(k for k in _HASHTAG_KEY if k.label == "#mesh")
_MESSAGES = {path: channel_frame(_MESH.key, "hello", path=path) for path in _PATHS}
_BAD = b"\x01"  # too short to be a frame: rejected

_ITEM = st.tuples(
    st.sampled_from((*_SEEDS, 0, -1)),  # 0: a channel message, -1: a bad frame
    st.sampled_from((0, 1)),
    st.sampled_from(_PATHS),
    st.sampled_from(("OBS1", "OBS2", "OBS3")),
    st.sampled_from(("", "North", "South")),
)
# Seed 3's adverts lie outside this box: foreign.
_OPTIONS = PipelineOptions(
    inside_geofilter=geofilter_check(GeoFilter(box=BoundingBox(40.0, 50.0, -125.0, -118.0)))
)


def _sightings(items: list[tuple[int, int, bytes, str, str]], at: int) -> list[Sighting]:
    out = []
    for k, (seed, version, path, observer, name) in enumerate(items):
        if seed == -1:
            raw = _BAD
        else:
            raw = _MESSAGES[path] if seed == 0 else _ADVERTS[(seed, version, path)]
        out.append(
            sighting(raw, observer, name=name, at_ms=at + 1000 * k, snr=None if k % 3 else 5.5)
        )
    return out


def _state(conn: sqlite3.Connection, store: PacketStore) -> dict[str, Any]:
    tables = ("transmissions", "observations", "nodes", "observers", "dropped_packets")
    rows: dict[str, Any] = {
        t: conn.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in tables
    }
    snap = store.snapshot()
    rows["store nodes"] = sorted(snap.nodes, key=lambda n: n.public_key)
    rows["store observers"] = sorted(snap.observers, key=lambda o: o.id)
    rows["store obs"] = [
        list(getattr(snap.obs, f)) for f in ("db_id", "tx", "observer", "ts_ms", "path_len")
    ]
    rows["store tx"] = [
        list(getattr(snap.tx, f))
        for f in ("db_id", "first_seen_ms", "last_seen_ms", "best_obs", "payload_type")
    ]
    return rows


def _outcomes(results: list[Result]) -> list[tuple[Any, ...]]:
    return [
        (r.outcome, r.content_hash, r.transmission_id, r.observation_id, r.reason, r.detail)
        for r in results
    ]


@settings(max_examples=25, deadline=None)
@given(batches=st.lists(st.lists(_ITEM, min_size=1, max_size=12), min_size=1, max_size=4))
def test_the_database_answers_what_is_stored_as_the_store_does(
    batches: list[list[tuple[int, int, bytes, str, str]]],
) -> None:
    keys = ChannelKeys.build(hash_channels=["#mesh"])[0]
    with tempfile.TemporaryDirectory() as tmp:
        with Database(Path(tmp) / "store.db") as db:
            store = PacketStore()
            pipe = Pipeline(db, store, keys=keys, options=_OPTIONS)
            expected = [_outcomes(pipe.process(_sightings(b, T0 + i * 60_000)))
                        for i, b in enumerate(batches)]  # fmt: skip
            want = db.read(lambda c: _state(c, store))
        path = Path(tmp) / "database.db"
        Database(path).close()  # the schema; the pipeline writes on its own connection
        conn = connect(path)
        known = DatabaseKnown(conn)
        other = PacketStore()
        pipe = Pipeline(DirectWriter(conn), known, keys=keys, options=_OPTIONS)
        got = []
        for i, b in enumerate(batches):
            got.append(_outcomes(pipe.process(_sightings(b, T0 + i * 60_000))))
            for batch in known.outbox:
                other.append(batch)
            known.outbox.clear()
        have = _state(conn, other)
        conn.close()
    assert got == expected
    for key in want:
        assert have[key] == want[key], key


# --- the real child ---------------------------------------------------------------------


@pytest.fixture
def child(tmp_path: Path) -> Iterator[tuple[PipelineProcess, Database, PacketStore]]:
    """A server's side: the database (and its writer lock), the store, the child pipeline."""
    db = Database(tmp_path / "m.db")
    store = PacketStore()
    spec = PipelineSpec(db.path, ChannelKeys.build(hash_channels=["#mesh"])[0], None, _OPTIONS)
    process = PipelineProcess(spec, store)
    try:
        yield process, db, store
    finally:
        process.stop()
        db.close()


def _traffic() -> list[list[Sighting]]:
    """Batches with every outcome: new, stored, duplicate, rejected, foreign, repeats."""
    first = [
        sighting(_ADVERTS[(1, 0, b"")], "OBS1", at_ms=T0),
        sighting(_ADVERTS[(1, 0, b"\xaa")], "OBS2", name="Two", at_ms=T0 + 10),
        sighting(_ADVERTS[(1, 0, b"")], "OBS1", at_ms=T0 + 20),  # a duplicate
        sighting(_BAD, "OBS1", at_ms=T0 + 30),
        sighting(_ADVERTS[(3, 0, b"")], "OBS3", at_ms=T0 + 40),  # foreign: flagged
        sighting(_MESSAGES[b""], "OBS3", at_ms=T0 + 50),
    ]
    second = [
        sighting(_ADVERTS[(1, 0, b"\xaa\xbb")], "OBS3", at_ms=T0 + 1000),  # a repeat
        sighting(_ADVERTS[(1, 1, b"")], "OBS1", at_ms=T0 + 1010),  # its newer advert
        sighting(_MESSAGES[b"\xaa"], "OBS1", name="", at_ms=T0 + 1020),
        sighting(advert_frame(2, corrupt_signature=True), "OBS2", at_ms=T0 + 1030),
    ]
    return [first, second]


def test_the_child_leaves_the_rows_results_and_counts_of_a_pipeline_here(
    child: tuple[PipelineProcess, Database, PacketStore],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    process, db, store = child
    status = ObserverStatus("OBS1", "One", "SEA", T0 + 2000, battery_mv=3900, uptime_secs=60)
    adopted = (
        [Node(PubKey(public_key_hex(9)), "Imported", "repeater", 1.0, 2.0, T0, T0, 1)],
        [Observer(ObserverId("OBS9"), "Nine", "PDX", T0, T0)],
    )
    with Database(tmp_path / "here.db") as here_db:
        here = Pipeline(here_db, PacketStore(), keys=ChannelKeys.build(hash_channels=["#mesh"])[0],
                        options=_OPTIONS, counters=IngestCounters("total"))  # fmt: skip
        expected = [_outcomes(here.process(b)) for b in _traffic()]
        here.apply_statuses([status])
        here.adopt(*adopted)
        want = here_db.read(lambda c: _state(c, here._known.store))  # type: ignore[attr-defined]
    got = [_outcomes(process.process(b)) for b in _traffic()]
    process.apply_statuses([status])
    process.adopt(*adopted)
    have = db.read(lambda c: _state(c, store))
    assert got == expected
    assert {r[0] for batch in got for r in batch} == set(Outcome)
    for key in want:
        assert have[key] == want[key], key
    # The same counts, and each rejection logged once (by the server, not the child too).
    counted = dataclasses.replace(process.counters.snapshot(), last_message_ms=None)
    assert counted == dataclasses.replace(here.counters.snapshot(), last_message_ms=None)
    assert counted.rejected == {"decode_error": 1, "invalid_signature": 1}
    logged = [r.getMessage() for r in caplog.records if r.getMessage().startswith("rejected")]
    assert len(logged) == 4  # two by the pipeline here, two by the child's server side
    assert "rejected" not in capfd.readouterr().err  # the child's stderr: not twice
    assert process.pid is not None and process.restarts == 0


def test_a_condemned_transmission_is_new_again_and_replaces_its_row(
    child: tuple[PipelineProcess, Database, PacketStore],
) -> None:
    process, db, store = child
    frame = _MESSAGES[b""]
    [first] = process.process([sighting(frame, "OBS1", at_ms=T0)])
    assert first.outcome is Outcome.NEW
    old_id = first.transmission_id
    assert old_id is not None
    # Retention's swap: the store drops it, then the child is told, before its rows go.
    snap = store.snapshot()
    store.prune(snap.tx.db_id != old_id)
    process.condemn([old_id])
    [again] = process.process([sighting(frame, "OBS2", at_ms=T0 + 5000)])
    assert again.outcome is Outcome.NEW and again.transmission_id != old_id
    ids = db.read(lambda c: [r[0] for r in c.execute("SELECT id FROM transmissions")])
    assert ids == [again.transmission_id]
    assert store.snapshot().tx.db_id.tolist() == [again.transmission_id]
    process.release([old_id])
    [third] = process.process([sighting(frame, "OBS3", at_ms=T0 + 6000)])
    assert (third.outcome, third.transmission_id) == (Outcome.STORED, again.transmission_id)


def test_a_child_that_dies_fails_its_batch_and_a_new_one_takes_the_next(
    child: tuple[PipelineProcess, Database, PacketStore],
) -> None:
    process, _, store = child
    process.start()
    process.condemn([12345])  # told again to the new child
    pid = process.pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    with pytest.raises(StorageError, match=r"the pipeline process exited \(code -9\)"):
        process.process([sighting(_MESSAGES[b""], "OBS1", at_ms=T0)])
    [result] = process.process([sighting(_MESSAGES[b"\xaa"], "OBS1", at_ms=T0 + 1)])
    assert result.outcome is Outcome.NEW
    assert process.pid not in (None, pid) and process.restarts == 1
    assert store.snapshot().tx.db_id.tolist() == [result.transmission_id]


def test_condemned_ids_told_to_a_dead_child_reach_the_next_one(
    child: tuple[PipelineProcess, Database, PacketStore],
) -> None:
    process, _, store = child
    frame = _MESSAGES[b""]
    [first] = process.process([sighting(frame, "OBS1", at_ms=T0)])
    pid = process.pid
    assert pid is not None and first.transmission_id is not None
    os.kill(pid, signal.SIGKILL)
    store.prune(store.snapshot().tx.db_id != first.transmission_id)
    # Retention's swap must not fail: telling a dead child is a warning, not an error.
    process.condemn([first.transmission_id])
    assert process.pid is None and process.restarts == 1
    [again] = process.process([sighting(frame, "OBS2", at_ms=T0 + 2)])  # a new child
    assert again.outcome is Outcome.NEW and again.transmission_id != first.transmission_id


def test_a_failed_request_is_an_error_here_and_the_child_lives_on(
    child: tuple[PipelineProcess, Database, PacketStore],
) -> None:
    process, _, _ = child
    with pytest.raises(StorageError, match="failed a 'nonsense' request: ValueError"):
        process._call(("nonsense",))
    pid = process.pid
    [result] = process.process([sighting(_MESSAGES[b""], "OBS1", at_ms=T0)])
    assert result.outcome is Outcome.NEW and process.pid == pid


def test_a_stopped_child_takes_no_more_batches(
    child: tuple[PipelineProcess, Database, PacketStore],
) -> None:
    process, _, _ = child
    process.start()
    pid = process.pid
    process.stop()
    assert process.pid is None and pid is not None
    with pytest.raises(OSError):
        os.kill(pid, 0)  # it has exited (and been reaped)
    with pytest.raises(StorageError, match="has been stopped"):
        process.process([sighting(_MESSAGES[b""], "OBS1", at_ms=T0)])


def test_keys_regions_and_the_geofilter_cross_the_pipe_intact() -> None:
    keys = pickle.loads(pickle.dumps(ChannelKeys.build(hash_channels=["#mesh"])[0]))
    message = decode_packet(_MESSAGES[b""], keys).channel_message
    assert message is not None and (message.channel, message.text) == ("#mesh", "hello")
    regions = RegionKeys.from_names(["#uk"])
    copy = pickle.loads(pickle.dumps(regions))
    assert copy.regions[0].code(5, b"abc") == regions.regions[0].code(5, b"abc")
    inside = pickle.loads(pickle.dumps(_OPTIONS)).inside_geofilter
    assert inside is not None
    assert (inside(47.5, -119.0), inside(47.5, -113.0), inside(None, None)) == (True, False, True)


def test_a_child_that_cannot_open_the_database_is_a_clear_error_each_batch(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    spec = PipelineSpec(tmp_path / "no such folder" / "m.db")
    process = PipelineProcess(spec, PacketStore())
    try:
        for _ in range(2):  # each batch tries a new child, and says why it failed
            with pytest.raises(StorageError, match=r"exited \(code 1\) during a 'process'"):
                process.process([sighting(_MESSAGES[b""], "OBS1", at_ms=T0)])
    finally:
        process.stop()
    assert process.restarts == 2
    assert "unable to open database file" in capfd.readouterr().err  # the child's traceback
