"""Graceful shutdown of a real server process: SIGTERM loses nothing that was received."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from meshlens.db import schema
from meshlens.db.database import ReadOnlyDatabase
from tests.conftest import REPO

SIGHTINGS = 3000


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MESHLENS_")}
    env["PYTHONPATH"] = str(REPO)
    return env


def test_sigterm_writes_every_queued_sighting_then_exits_0(tmp_path: Path) -> None:
    db = tmp_path / "shutdown.db"
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.api.serve_child", str(db), str(SIGHTINGS)],
        cwd=tmp_path, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert child.stdout is not None
        port = int(child.stdout.readline().split()[1])
        assert child.stdout.readline().strip() == f"offered {SIGHTINGS}"
        child.send_signal(signal.SIGTERM)
        _, stderr = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 0, stderr
    assert "meshlens stopping (" in stderr
    assert f"meshlens stopped ({SIGHTINGS} observations stored this run)" in stderr
    with ReadOnlyDatabase(db) as read:
        counts = read.read(schema.count_rows)
    assert counts.observations == SIGHTINGS
    wal = tmp_path / "shutdown.db-wal"
    assert not wal.exists() or wal.stat().st_size == 0  # checkpointed at close
    try:
        httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2)
    except httpx.ConnectError:
        pass
    else:
        raise AssertionError("the listener is still open after exit")


def test_meshlens_serve_listens_at_once_says_how_to_get_data_and_stops_on_sigterm(
    tmp_path: Path,
) -> None:
    child = subprocess.Popen(
        [sys.executable, "-m", "meshlens", "serve", "--host", "127.0.0.1", "--port", "0",
         "--db", str(tmp_path / "empty.db")],
        cwd=tmp_path, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert child.stderr is not None
        lines = []
        for line in child.stderr:
            lines.append(line)
            found = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
            if found:
                port = int(found.group(1))
                break
        else:
            raise AssertionError("".join(lines))
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            for _ in range(500):
                health = http.get("/api/health").json()
                if not health["load"]["loading"]:
                    break
            assert "hint" in health
            assert http.get("/api/analytics/rf").status_code in (200, 501, 503)
        child.send_signal(signal.SIGTERM)
        _, rest = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 0, rest
    assert "meshlens stopped" in rest
