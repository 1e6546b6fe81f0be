"""`--jsonl` then `meshlens import` gives the same store content as `--db`."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from meshlens.db.database import Database
from meshlens.ingest.files import import_file
from meshlens.ingest.pipeline import Pipeline
from meshlens.sim.outputs import write_database, write_jsonl
from meshlens.sim.simulation import SimulationSpec, channel_keys, region_keys
from meshlens.store.store import PacketStore

_TABLES = {
    "transmissions": "SELECT * FROM transmissions ORDER BY id",
    "observations": "SELECT * FROM observations ORDER BY id",
    "nodes": "SELECT * FROM nodes ORDER BY public_key",
    # Status messages are applied only by `meshlens import`: they add metadata, count as
    # messages (packet_count) and may be the latest sighting (last_seen_ms).
    "observers": "SELECT idx, id, name, iata, first_seen_ms, last_packet_at_ms FROM observers"
    " ORDER BY idx",
}


def _rows(path: Path) -> dict[str, list[tuple[object, ...]]]:
    conn = sqlite3.connect(path)
    try:
        return {name: conn.execute(sql).fetchall() for name, sql in _TABLES.items()}
    finally:
        conn.close()


def test_jsonl_imports_into_the_same_rows_as_the_database_output(
    small_spec: SimulationSpec, tmp_path: Path
) -> None:
    direct = tmp_path / "direct.db"
    report = write_database(small_spec, direct)
    jsonl = tmp_path / "sim.jsonl"
    write_jsonl(small_spec, jsonl)
    imported = tmp_path / "imported.db"
    db = Database(imported)
    try:
        pipeline = Pipeline(
            db, PacketStore(), keys=channel_keys(), regions=region_keys(small_spec.profile)
        )
        result = import_file(jsonl, pipeline, now_ms=0)
    finally:
        db.close()
    assert result.rejected == {}
    assert result.statuses == report.status_messages > 0
    ours, theirs = _rows(direct), _rows(imported)
    for name in _TABLES:
        assert ours[name] == theirs[name], name
    assert len(ours["observations"]) == report.stored["observations"] > 500
