"""Cold start: a fresh process loads the dataset from SQLite into the store.

Run on its own: `python -m bench.load --db PATH`. The child process reports how long the
imports and the load took and the store's size; the parent times the whole cold start and
reads the child's proportional set size (PSS) while it holds the loaded store.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from bench.suite import Context, Row

ORDER = 30
REPO = Path(__file__).resolve().parents[1]


def proc_kb(path: str, *keys: str) -> list[int]:
    """The `Key:  N kB` values of `keys` in a /proc file (status, smaps_rollup); 0 if absent."""
    found = {}
    for line in Path(path).read_text().splitlines():
        key, _, value = line.partition(":")
        if key in keys:
            found[key] = int(value.split()[0])
    return [found.get(key, 0) for key in keys]


def pss_kb(pid: int) -> int:
    """Proportional set size of one process (shared pages split among their users)."""
    return proc_kb(f"/proc/{pid}/smaps_rollup", "Pss")[0]


def _child(db: Path) -> None:
    started = time.perf_counter()
    from meshlens.db.database import ReadOnlyDatabase
    from meshlens.ingest.loader import load_store
    from meshlens.sim.simulation import channel_keys
    from meshlens.store.store import PacketStore

    imported = time.perf_counter()
    store = PacketStore()
    with ReadOnlyDatabase(db) as rdb:
        load_store(rdb, store, keys=channel_keys())
    loaded = time.perf_counter()
    snap = store.snapshot()
    print(
        json.dumps(
            {
                "import_s": imported - started,
                "load_s": loaded - imported,
                "observations": len(snap.obs),
                "transmissions": len(snap.tx),
            }
        ),
        flush=True,
    )
    sys.stdin.readline()  # hold the store until the parent has measured us


def measure(db: Path) -> dict[str, float]:
    """Spawn a loader, time its cold start to ready, read its PSS, let it go."""
    began = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-m", "bench.load", "--child", str(db)],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None and child.stdin is not None
    line = child.stdout.readline()
    ready_s = time.perf_counter() - began
    report: dict[str, float] = json.loads(line)
    report["ready_s"] = ready_s
    report["pss_kb"] = pss_kb(child.pid)
    child.stdin.write("\n")
    child.stdin.close()
    child.wait(timeout=60)
    return report


def baseline_pss_kb() -> int:
    """PSS of a process that imported the same modules but loaded nothing."""
    code = (
        "import sys, meshlens.ingest.loader, meshlens.sim.simulation, meshlens.db.database;"
        "print('ready', flush=True); sys.stdin.readline()"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None and child.stdin is not None
    child.stdout.readline()
    kb = pss_kb(child.pid)
    child.stdin.write("\n")
    child.stdin.close()
    child.wait(timeout=30)
    return kb


def rows(ctx: Context) -> list[Row]:
    """Cold start to ready, and memory per observation of the loaded store."""
    report = measure(ctx.db_path)
    base = baseline_pss_kb()
    obs = int(report["observations"])
    per_obs = (report["pss_kb"] - base) * 1024 / max(obs, 1)
    area = "store"
    return [
        Row(
            area,
            "cold start to loaded store (new process: imports + load_store)",
            f"{report['ready_s']:.1f} s",
            "<= 20 s",
            note=f"imports {report['import_s']:.1f} s, load {report['load_s']:.1f} s of "
            f"{int(report['transmissions']):,} transmissions and {obs:,} observations; "
            "the database file was in the page cache",
        ),
        Row(
            area, "PSS of the process holding the loaded store", f"{report['pss_kb'] / 1024:.0f} MB"
        ),
        Row(
            area,
            "memory per observation (PSS above an idle process with the same imports)",
            f"{per_obs:.0f} B",
            note=f"idle process: {base / 1024:.0f} MB",
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    """Standalone run (or the child's side with --child)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--db", type=Path)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child)
        return 0
    print(json.dumps(measure(args.db)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
