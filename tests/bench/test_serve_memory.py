"""bench.serve_memory finds a server's ingest children by their command line, not others."""

from __future__ import annotations

import subprocess
import sys

from bench.serve_memory import ingest_children_kb

_SLEEP = "import time; time.sleep(60)"


def test_ingest_children_are_found_by_module_and_others_left_out() -> None:
    # Real child processes; the module name rides along as an argument `-c` ignores.
    receipts = [
        subprocess.Popen([sys.executable, "-c", _SLEEP, "-m", "meshlens.ingest.mqtt_child"])
        for _ in range(2)
    ]
    other = subprocess.Popen([sys.executable, "-c", _SLEEP, "meshlens.recomputer"])
    try:
        found = ingest_children_kb()
        for child in receipts:
            child.kill()
            child.wait()
        alone = ingest_children_kb()
    finally:
        for child in [*receipts, other]:
            child.kill()
            child.wait()
    assert set(found) == {"mqtt_child"}
    assert found["mqtt_child"] > 0
    assert alone == {}
