"""bench.serve_memory tells a server's children apart: ingest's, computes, the harness's."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from bench.serve_memory import children_kb

_SLEEP = "import time; time.sleep(60)"


def test_ingest_children_are_told_by_module_and_the_harness_left_out() -> None:
    # Real child processes; the module name rides along as an argument `-c` ignores.
    receipts = [
        subprocess.Popen([sys.executable, "-c", _SLEEP, "-m", "meshlens.ingest.mqtt_child"])
        for _ in range(2)
    ]
    harness = subprocess.Popen([sys.executable, "-c", _SLEEP, "bench.mqtt_load"])
    try:
        found = children_kb()
        for child in receipts:
            child.kill()
            child.wait()
        alone = children_kb()
    finally:
        for child in [*receipts, harness]:
            child.kill()
            child.wait()
    assert set(found) == {"mqtt_child"}
    assert found["mqtt_child"] > 0
    assert alone == {}


def test_a_forked_child_counts_as_a_compute() -> None:
    pid = os.fork()
    if pid == 0:  # the child: what a compute child is, this process's copy
        time.sleep(60)
        os._exit(0)
    try:
        found = children_kb()
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    assert set(found) == {"compute"}
    assert found["compute"] > 0
