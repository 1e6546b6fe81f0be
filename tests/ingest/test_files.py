"""Importers: format detection, bad records reported by line, real captures end to end."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from meshlens.db import schema
from meshlens.db.database import Database
from meshlens.errors import InputError
from meshlens.ingest.corescope import read_corescope_tables
from meshlens.ingest.files import FileFormat, detect_format, import_file
from meshlens.ingest.pipeline import Pipeline
from meshlens.store.store import PacketStore
from tests.ingest.helpers import T0, advert_frame


def _write(path: Path, lines: Sequence[object]) -> Path:
    path.write_text("\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n")
    return path


def test_formats_are_detected(tmp_path: Path) -> None:
    mqtt = _write(tmp_path / "a.jsonl", [{"topic": "meshcore/SEA/O/packets", "payload": {}}])
    flat = _write(tmp_path / "b.jsonl", ["", {"hex": "1100", "observer": "O"}])
    assert detect_format(mqtt) is FileFormat.MQTT_JSONL
    assert detect_format(flat) is FileFormat.PACKETS_JSONL
    with Database(tmp_path / "c.db"):
        pass
    assert detect_format(tmp_path / "c.db") is FileFormat.CORESCOPE_DB
    for bad, reason in [
        (_write(tmp_path / "d.jsonl", [{"x": 1}]), "unknown_format"),
        (_write(tmp_path / "e.jsonl", [""]), "empty"),
        (tmp_path / "missing.jsonl", "unreadable"),
    ]:
        with pytest.raises(InputError) as err:
            detect_format(bad)
        assert err.value.reason == reason


def test_bad_lines_are_reported_with_their_line_and_the_rest_imported(tmp_path: Path) -> None:
    good = advert_frame(1).hex().upper()
    path = _write(
        tmp_path / "feed.jsonl",
        [
            {"topic": "meshcore/SEA/O1/packets", "payload": {"raw": good, "SNR": "5",
             "timestamp": "2026-01-01T00:00:00Z"}},
            "{not json",
            {"topic": "meshcore/SEA/O1/packets", "payload": {"raw": "XYZ"}},
            {"topic": "meshcore/SEA/O1/status", "payload": {"status": "online"}},
            {"topic": "meshcore/SEA/O2/packets", "payload": json.dumps({"raw": good})},
            {"topic": 5, "payload": {}},
        ],
    )  # fmt: skip
    with Database(tmp_path / "m.db") as db:
        store = PacketStore()
        report = import_file(path, Pipeline(db, store), now_ms=T0 + 60_000)
    assert report.records == 6
    assert (report.new_transmissions, report.stored, report.duplicates) == (1, 2, 0)
    assert report.skipped == {}
    assert report.statuses == 1  # the observer's status message is applied too
    assert report.rejected == {"bad_json": 1, "bad_hex": 1, "bad_topic": 1}
    assert [e.split(":")[1] for e in report.examples] == ["2", "3", "6"]
    first = store.snapshot()
    o1 = first.observer("O1")
    assert o1 is not None and o1.packet_count == 2  # one packet message, one status
    assert int(first.obs.ts_ms[0]) == T0  # the envelope's own time
    assert int(first.obs.ts_ms[1]) == T0 + 60_000  # no timestamp: import time


def test_importing_a_file_twice_adds_nothing(tmp_path: Path) -> None:
    lines = [{"hex": advert_frame(s).hex(), "observer": "O", "ts": "2026-01-01T00:00:00Z"}
             for s in range(1, 4)]  # fmt: skip
    path = _write(tmp_path / "p.jsonl", lines)
    with Database(tmp_path / "m.db") as db:
        pipeline = Pipeline(db, PacketStore())
        first = import_file(path, pipeline, now_ms=T0)
        again = import_file(path, pipeline, now_ms=T0)
        assert (first.stored, again.stored, again.duplicates) == (3, 0, 3)
        assert db.read(schema.count_rows).observations == 3


@pytest.mark.shared
def test_real_captures_import(shared_dir: Path, tmp_path: Path) -> None:
    with Database(tmp_path / "m.db") as db:
        store = PacketStore()
        pipeline = Pipeline(db, store)
        flat = import_file(shared_dir / "realdata" / "packets.jsonl", pipeline, now_ms=T0)
        fixture = shared_dir / "realdata" / "corescope" / "e2e-fixture.db"
        corescope = import_file(fixture, pipeline, now_ms=T0)
        nodes, observers, notes = read_corescope_tables(fixture, now_ms=T0)
        pipeline.adopt(nodes, observers)
    for report in (flat, corescope):
        rejected = sum(report.rejected.values())
        assert report.stored + report.duplicates + rejected == report.records
        assert set(report.rejected) <= {"decode_error", "invalid_signature", "invalid_advert"}
    assert flat.records == 7197 and flat.stored > 7000
    assert corescope.format is FileFormat.CORESCOPE_DB and corescope.records == 500
    assert not notes and len(nodes) == 200 and len(observers) == 31
    snap = store.snapshot()
    assert len(snap.nodes) >= 200
    assert all(snap.observer(o.id) is not None for o in observers)
