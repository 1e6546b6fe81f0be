"""Timing of analytics computes: cold in this process, and as the recompute job in a forked child.

`cold` times `compute(snapshot, query)` with a fresh snapshot memo per run, so nothing a
previous run derived is reused (what a recomputer's forked child starts from each
round). `in_child` runs the recomputer's whole job (`render_analytic`: compute, per-key
details, JSON encoding, gzip) in a `ForkRunner` child, one round per run, and reports
the CPU time the child spent in it: the real placement (the child runs with the garbage
collector off), unaffected by how the scheduler shares the machine.
"""

from __future__ import annotations

import dataclasses
import functools
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import orjson

from bench.suite import Row
from meshlens.analytics.query import Query
from meshlens.analytics.registry import BY_NAME
from meshlens.api.recompute import render_analytic
from meshlens.recomputer.fork_runner import ForkRunner
from meshlens.store.snapshot import Snapshot

Job = Callable[[Snapshot, Query], object]


@dataclass(frozen=True, slots=True)
class Times:
    """First, median and best of several runs, in ms, and the encoded body size.

    `cpu_median` / `cpu_best` are this process's CPU time: on a shared machine other
    work stretches wall time far more than it stretches CPU time.
    """

    first: float
    median: float
    best: float
    size: int
    cpu_median: float = 0.0
    cpu_best: float = 0.0


def cold(job: Job, snap: Snapshot, query: Query, runs: int, *, warm: Job | None = None) -> Times:
    """Wall time of `job` on a fresh memo each run (`warm` runs first, untimed, on it)."""
    times: list[float] = []
    cpu: list[float] = []
    size = 0
    for _ in range(runs):
        fresh = dataclasses.replace(snap, derived={})
        if warm is not None:
            warm(fresh, query)
        start, start_cpu = time.perf_counter(), time.process_time()
        out = job(fresh, query)
        times.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
        size = len(out) if isinstance(out, bytes) else len(orjson.dumps(out))
    return Times(
        times[0], statistics.median(times), min(times), size, statistics.median(cpu), min(cpu)
    )


def _child_job(name: str, snap: Snapshot, query: Query) -> tuple[float, float]:
    cpu, wall = time.process_time(), time.perf_counter()
    render_analytic(BY_NAME[name], snap, query)
    return (time.process_time() - cpu) * 1000, (time.perf_counter() - wall) * 1000


def in_child(name: str, snap: Snapshot, query: Query, runs: int) -> Times:
    """CPU ms of the analytic's recompute job in a forked child, one cold round per run."""
    runner = ForkRunner(niceness=0, name="bench")
    try:
        cpu: list[float] = []
        for _ in range(runs):
            fresh = dataclasses.replace(snap, derived={})
            job = functools.partial(_child_job, name, fresh, query)
            spent, _ = runner.submit(job).result(600)
            cpu.append(spent)
    finally:
        runner.stop()
    return Times(cpu[0], statistics.median(cpu), min(cpu), 0)


def suite_row(
    name: str, job: Job, snap: Snapshot, query: Query, *, shape: str, target: str, runs: int,
    more: str,
) -> Row:  # fmt: skip
    """The suite's row for one analytic and shape: `job` cold here, and its recompute job in
    a child. `more` ends the note: what else the figure includes, and where more shapes are.
    """
    t = cold(job, snap, query, runs)
    child = in_child(name, snap, query, runs)
    return Row(
        "analytics",
        f"{name} compute, {shape} (median of {runs}, cold)",
        f"{t.median:.0f} ms ({t.cpu_median:.0f} ms CPU)",
        target,
        note=f"first call {t.first:.0f} ms, best {t.best:.0f} ms; CPU time median "
        f"{t.cpu_median:.0f} ms, best {t.cpu_best:.0f} ms; {t.size:,}-byte body; "
        f"whole recompute job in a forked child: median {child.median:.0f} ms CPU, "
        f"best {child.best:.0f} ms{more}",
    )
