"""Memory of everything meshlens runs with the dataset loaded, computing and serving.

What counts is the proportional set size (PSS, /proc/<pid>/smaps_rollup) summed over the
serving process and its children: pages a forked compute child shares copy-on-write with
its parent are split between them, not counted twice as RSS would.

The server itself is started on a copy of the database and measured once every analytic
has computed. In `--quick` runs (and where `meshlens serve` is missing) the figure is a
stand-in: a process that loads the store and keeps a ForkRunner compute child busy with
a vectorised pass over the snapshot, measured while the child runs.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from bench.load import pss_kb
from bench.suite import Context, Row

ORDER = 40
REPO = Path(__file__).resolve().parents[1]


def tree_pss_kb(pid: int) -> tuple[int, int]:
    """PSS summed over a process and all its descendants, and how many processes that is."""
    import psutil

    procs = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
    total = 0
    for proc in procs:
        try:
            total += pss_kb(proc.pid)
        except (OSError, psutil.Error):
            continue
    return total, len(procs)


def _serve_available() -> bool:
    from meshlens.cli import build_parser

    return "serve" in build_parser()[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def measure_server(db: Path, timeout_s: float = 120.0) -> dict[str, float]:
    """Start `meshlens serve` on a copy of the database, wait until ready, measure."""
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "bench.db"
        shutil.copyfile(db, copy)
        port = _free_port()
        began = time.perf_counter()
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "meshlens",
                "serve",
                "--db",
                str(copy),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            ready = _wait_ready(port, began + timeout_s)
            ready_s = time.perf_counter() - began
            time.sleep(3.0)  # let a first round of computes fork and run
            samples = []
            for _ in range(5):
                samples.append(tree_pss_kb(server.pid))
                time.sleep(0.5)
            kb = max(s[0] for s in samples)
            procs = max(s[1] for s in samples)
        finally:
            server.terminate()
            server.wait(timeout=30)
    return {"pss_kb": kb, "processes": procs, "ready_s": ready_s if ready else -1.0}


def _wait_ready(port: int, deadline: float) -> bool:
    """Poll /api/health until the store is loaded and the analytics' first pass is done."""
    while time.perf_counter() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2) as r:
                health = json.loads(r.read())
            if health.get("analyticsReady") and not health.get("load", {}).get("loading"):
                return True
        except (OSError, ValueError):
            pass
        time.sleep(0.5)
    return False


def _stand_in_child(db: Path) -> None:
    from meshlens.db.database import ReadOnlyDatabase
    from meshlens.ingest.loader import load_store
    from meshlens.recomputer import ForkRunner, render
    from meshlens.sim.simulation import channel_keys
    from meshlens.store.store import PacketStore

    store = PacketStore()
    with ReadOnlyDatabase(db) as rdb:
        load_store(rdb, store, keys=channel_keys())
    snap = store.snapshot()

    def job() -> object:
        import numpy as np

        counts = np.bincount(snap.obs.observer, minlength=len(snap.observers))
        hops = np.bincount(snap.hops)
        time.sleep(2.0)  # stay alive while the parent measures
        return render(json.dumps({"c": counts.tolist(), "h": int(hops.max())}).encode())

    runner = ForkRunner(niceness=10)
    future = runner.submit(job)
    print("computing", flush=True)
    future.result(timeout=60)
    runner.stop()
    sys.stdin.readline()


def measure_stand_in(db: Path) -> dict[str, float]:
    """Loader process plus one ForkRunner compute child, measured while the child runs."""
    code = (
        "import pathlib; from bench.memory import _stand_in_child; "
        f"_stand_in_child(pathlib.Path({str(db)!r}))"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdin is not None
    proc.stdout.readline()
    time.sleep(0.7)
    kb, procs = tree_pss_kb(proc.pid)
    import psutil

    rss = sum(
        p.memory_info().rss
        for p in [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
    )
    proc.stdin.write("\n")
    proc.stdin.close()
    proc.wait(timeout=60)
    return {"pss_kb": kb, "processes": procs, "rss_kb": rss / 1024}


def rows(ctx: Context) -> list[Row]:
    """Total PSS of all meshlens processes with the dataset loaded."""
    if _serve_available() and not ctx.quick:
        m = measure_server(ctx.db_path)
        return [
            Row(
                "store",
                "PSS of `meshlens serve` and its compute children, loaded and serving",
                f"{m['pss_kb'] / 1024:.0f} MB",
                "<= 300 MB",
                note="the most of 5 samples over 2.5 s, 3 s after the first analytics pass; "
                f"{int(m['processes'])} processes",
            ),
            Row(
                "store",
                "`meshlens serve` cold start to analytics ready",
                f"{m['ready_s']:.1f} s",
                "<= 20 s",
                note="process start to /api/health saying the store is loaded and every "
                "analytic has computed once",
            ),
        ]
    m = measure_stand_in(ctx.db_path)
    return [
        Row(
            "store",
            "PSS of a loaded store plus a forked compute child (stand-in for serve)",
            f"{m['pss_kb'] / 1024:.0f} MB",
            "<= 300 MB",
            note=f"{int(m['processes'])} processes; summed RSS would say "
            f"{m['rss_kb'] / 1024:.0f} MB, counting the shared pages twice",
        ),
    ]
