"""A whole compute round: the nine recompute jobs on one snapshot, in one forked child.

This is what the recomputers' runner does each round (one child, the jobs in turn, their
memo shared: the clock-skew engine once for three analytics), and the CPU that pacing
counts and that competes with reads while it runs. Each run forks a child for a round on
a fresh memo; the child reports each job's CPU time. Run:

    flock /work/bench.lock env PYTHONPATH=. python -m bench.compute_round [--runs 5]
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time
from pathlib import Path

from bench.analytics_skew_hashes import load
from bench.dataset import STAGING_DB
from bench.suite import Context, Row
from meshlens.analytics.query import Query
from meshlens.analytics.registry import ANALYTICS
from meshlens.api.recompute import render_analytic
from meshlens.recomputer.fork_runner import ForkRunner
from meshlens.store.snapshot import Snapshot

ORDER = 63


def _round(snap: Snapshot, query: Query) -> dict[str, float]:
    """In the child: every analytic's job in registry order; CPU ms of each."""
    spent: dict[str, float] = {}
    for analytic in ANALYTICS:
        if analytic.compute is None:
            continue
        start = time.process_time()
        render_analytic(analytic, snap, query)
        spent[analytic.name] = (time.process_time() - start) * 1000
    return spent


def rounds(snap: Snapshot, query: Query, runs: int) -> list[dict[str, float]]:
    """Each run's per-job CPU ms, one forked child per run, each on a fresh memo."""
    runner = ForkRunner(niceness=0, name="bench-round")
    try:
        return [
            runner.submit(lambda: _round(dataclasses.replace(snap, derived={}), query)).result(600)
            for _ in range(runs)
        ]
    finally:
        runner.stop()


def summary(runs: list[dict[str, float]]) -> tuple[float, dict[str, float]]:
    """The median round's total CPU ms, and each job's median."""
    total = statistics.median(sum(r.values()) for r in runs)
    return total, {name: statistics.median(r[name] for r in runs) for name in runs[0]}


def rows(ctx: Context) -> list[Row]:
    """The round's CPU, with each job's share in the note."""
    runs = 2 if ctx.quick else 5
    total, jobs = summary(rounds(ctx.snapshot(), Query(now_ms=int(time.time() * 1000)), runs))
    parts = ", ".join(f"{name} {ms:.0f}" for name, ms in jobs.items())
    return [
        Row(
            "analytics",
            f"a compute round: the nine jobs in one forked child, CPU (median of {runs})",
            f"{total:.0f} ms",
            note=f"compute, encoding and gzip of each, ms: {parts}",
        )
    ]


def main() -> None:
    """Print the median round and its jobs."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=STAGING_DB)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    snap = load(args.db)
    found = rounds(snap, Query(now_ms=int(time.time() * 1000)), args.runs)
    total, jobs = summary(found)
    print(f"round CPU: median {total:.0f} ms; each run:",
          ", ".join(f"{sum(r.values()):.0f}" for r in found))  # fmt: skip
    for name, ms in jobs.items():
        print(f"  {name:22} {ms:6.0f} ms")


if __name__ == "__main__":
    main()
