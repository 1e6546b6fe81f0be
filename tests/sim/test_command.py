"""`meshlens simulate` from the command line."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from meshlens.cli import main
from meshlens.sim.command import parse_center, parse_end
from meshlens.sim.profiles import DEFAULT_CENTER, DEFAULT_END_MS


def test_simulate_writes_a_database_and_refuses_to_overwrite(tmp_path: Path) -> None:
    db = tmp_path / "small.db"
    assert main(["simulate", "--profile", "small", "--seed", "2", "--db", str(db), "--quiet"]) == 0
    conn = sqlite3.connect(db)
    try:
        observations = conn.execute("SELECT COUNT(*) FROM observations").fetchone()[0]
        regions = conn.execute("SELECT COUNT(DISTINCT iata) FROM observers").fetchone()[0]
    finally:
        conn.close()
    assert observations > 5000 and regions == 2
    assert (tmp_path / "small.db.truth.npz").is_file()
    assert main(["simulate", "--profile", "small", "--db", str(db), "--quiet"]) == 1
    assert main(["simulate", "--profile", "small", "--db", str(db), "--quiet", "--force"]) == 0


def test_simulate_rejects_unknown_profiles_and_bad_options(tmp_path: Path) -> None:
    out = str(tmp_path / "x.jsonl")
    assert main(["simulate", "--profile", "huge", "--jsonl", out, "--quiet"]) == 1
    assert main(["simulate", "--center", "north", "--jsonl", out, "--quiet"]) == 1
    with pytest.raises(SystemExit):
        main(["simulate", "--profile", "small"])  # no output given


def test_center_and_end_parsing() -> None:
    assert parse_center(None) == DEFAULT_CENTER
    assert parse_center("51.5,-0.12") == (51.5, -0.12)
    with pytest.raises(ValueError):
        parse_center("95,0")
    assert parse_end(None, 5) == DEFAULT_END_MS
    assert parse_end("now", 5) == 5
    assert parse_end("2026-01-01T00:00:00Z", 5) == 1_767_225_600_000
    with pytest.raises(ValueError):
        parse_end("yesterday", 5)
