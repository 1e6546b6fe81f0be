"""One batch or one sighting at a time: the pipeline's per-batch folding changes nothing.

The write transaction folds a batch's repeats (node last-seen, transmission first/last
seen, observer counts) and builds the store's columns per group, not per sighting; a
batch must leave the same rows as its sightings sent one by one. Times increase, and a
batch brings at most the newer of a node's two adverts as new: a batch re-merges a new
advert's repeats where single sightings only touch the node, a difference of its own.
"""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from meshlens.db.database import Database
from meshlens.ingest.pipeline import Pipeline
from meshlens.records import Sighting
from meshlens.store.store import PacketStore
from meshlens.wire import ChannelKeys
from tests.ingest.helpers import T0, advert_frame, channel_frame, sighting

_PATHS = (b"", b"\xaa", b"\xaa\xbb")
_SEEDS = (1, 2, 3)
# (seed, version, path) -> frame; version 0 is stored before the batch, 1 may be new in it.
_ADVERTS = {
    (seed, version, path): advert_frame(
        seed, name=f"N{seed}v{version}", timestamp=1_767_225_600 + version, path=path,
        lat=47.5 + version if seed != 3 else None, lon=-122.0 if seed != 3 else None,
    )
    for seed in _SEEDS for version in (0, 1) for path in _PATHS
}  # fmt: skip
_PUBLIC = bytes.fromhex("8b3387e9c5cdea6ac9e5edbaa115cd72")
_MESSAGES = {path: channel_frame(_PUBLIC, "hello", path=path) for path in _PATHS}

_ITEM = st.tuples(
    st.sampled_from((*_SEEDS, 0)),  # 0: a channel message
    st.sampled_from((0, 1)),
    st.sampled_from(_PATHS),
    st.sampled_from(("OBS1", "OBS2", "OBS3")),
    st.sampled_from(("", "North", "South")),  # observer names: the latest non-empty wins
)


def _sightings(items: list[tuple[int, int, bytes, str, str]], at: int) -> list[Sighting]:
    out = []
    for k, (seed, version, path, observer, name) in enumerate(items):
        raw = _MESSAGES[path] if seed == 0 else _ADVERTS[(seed, version, path)]
        out.append(
            sighting(raw, observer, name=name, at_ms=at + 1000 * k, snr=None if k % 3 else 5.5)
        )
    return out


def _state(db: Database, store: PacketStore) -> dict[str, Any]:
    def dump(conn: sqlite3.Connection) -> dict[str, Any]:
        tables = ("transmissions", "observations", "nodes", "observers")
        return {t: conn.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in tables}

    rows = db.read(dump)
    snap = store.snapshot()
    rows["store nodes"] = sorted(snap.nodes, key=lambda n: n.public_key)
    rows["store observers"] = sorted(snap.observers, key=lambda o: o.id)
    rows["store obs"] = [
        list(getattr(snap.obs, f)) for f in ("db_id", "tx", "observer", "ts_ms", "path_len")
    ]
    rows["store seen"] = (
        list(snap.tx.first_seen_ms),
        list(snap.tx.last_seen_ms),
        list(snap.tx.best_obs),
    )
    return rows


@settings(max_examples=30, deadline=None)
@given(
    extra=st.lists(_ITEM.filter(lambda i: i[1] == 0), max_size=5),
    batch=st.lists(_ITEM, min_size=1, max_size=25),
)
def test_a_batch_leaves_what_its_sightings_one_by_one_leave(
    extra: list[tuple[int, int, bytes, str, str]], batch: list[tuple[int, int, bytes, str, str]]
) -> None:
    before = [(seed, 0, b"", "OBS1", "First") for seed in _SEEDS] + extra
    first = _sightings(before, T0)
    then = _sightings(batch, T0 + 1000 * len(before))
    keys = ChannelKeys.public()
    states, outcomes = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for mode in ("batch", "single"):
            with Database(Path(tmp) / f"{mode}.db") as db:
                store = PacketStore()
                pipe = Pipeline(db, store, keys=keys)
                pipe.process(first)
                if mode == "batch":
                    results = pipe.process(then)
                else:
                    results = [r for s in then for r in pipe.process([s])]
                outcomes.append(
                    [
                        (r.outcome, r.content_hash, r.transmission_id, r.observation_id)
                        for r in results
                    ]
                )
                states.append(_state(db, store))
    assert outcomes[0] == outcomes[1]
    for key in states[0]:
        assert states[0][key] == states[1][key], key


def test_a_new_transmission_heard_again_in_its_batch_keeps_both_times(tmp_path: Path) -> None:
    with Database(tmp_path / "m.db") as db:
        pipe = Pipeline(db, PacketStore())
        frame = advert_frame(1, path=b"\xaa")
        pipe.process(
            [
                sighting(frame, "OBS1", at_ms=T0 + 500),
                sighting(frame, "OBS2", at_ms=T0 + 900),
                sighting(frame, "OBS3", at_ms=T0),
            ]
        )
        seen = db.read(
            lambda c: c.execute("SELECT first_seen_ms, last_seen_ms FROM transmissions").fetchall()
        )
    assert seen == [(T0, T0 + 900)]
