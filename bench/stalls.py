"""Synthetic stalls of a known size and rate, to calibrate what moves the reads' p99.

The churn is made of many kinds of delay (a round's fork, its results, ingest's batches,
a collection, other processes' CPU), and wrk weighs each by its length, not by the ~32
requests in flight: it corrects for coordinated omission (`stats_correct`, in Debian's
wrk too). A response D ms late on a connection that sends a request every `interval` on
average (~1.5 ms here) also counts the requests that connection would have sent
meanwhile, at D - interval, D - 2 interval ... So a stall of D on 32 connections adds
~32 D / interval samples, and those above the idle p99 number ~32 (D - p99) / interval:
a stall shorter than the idle p99 hardly counts, a long one by its length. A `Stall`
puts one known pattern into an otherwise idle server (`bench.serve --no-ingest
--no-recompute --stall MS@HZ`), so runs of one CPU budget in different sizes say which
the p99 feels:

- in the server's process, a thread holds the GIL for MS ms, HZ times a second (a C
  loop, `sum(range(n))`, that never lets the interpreter switch threads), as a fork, an
  unpickle or a collection does;
- with `:process`, a process of its own (no GIL shared) burns MS ms of CPU HZ times a
  second at normal priority, as the broker and the publisher do;
- with `:idle`, such a process runs where and as a compute child does: on the server's
  background CPUs (meshlens/cpus.py) at SCHED_IDLE, so `999@1:idle` is a child that
  never ends, and says what a busy background CPU costs reads whatever its priority.

Both spend the same CPU for the same MS@HZ, so a pair of runs says what holding the GIL
adds to taking the CPU.
"""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bench.periodic import Periodic
from meshlens.cpus import CpuSplit, allowed_cpus

_CALIBRATION_N = 2_000_000
_REPO = Path(__file__).resolve().parents[1]  # where the child imports bench.periodic from


@dataclass(frozen=True, slots=True)
class Stall:
    """MS ms of work, HZ times a second; in the server (holding its GIL) or a process."""

    ms: float
    hz: float
    # "": a thread of the server; "process": a process of its own; "idle": that process at
    # SCHED_IDLE on the background CPUs, as a compute child.
    where: str = ""

    def __str__(self) -> str:
        return f"{self.ms:g}@{self.hz:g}" + (f":{self.where}" if self.where else "")

    @property
    def process(self) -> bool:
        """Whether it burns a process's CPU rather than the server's GIL."""
        return self.where != ""


def parse_stall(text: str) -> Stall:
    """`MS@HZ`, `MS@HZ:process` or `MS@HZ:idle` (e.g. `2@10`); ValueError says what is accepted."""
    spec, _, where = text.partition(":")
    ms, at, hz = spec.partition("@")
    if not at or where not in ("", "process", "idle"):
        raise ValueError(f"stall {text!r}: expected MS@HZ, MS@HZ:process or MS@HZ:idle, e.g. 2@10")
    try:
        stall = Stall(float(ms), float(hz), where)
    except ValueError:
        raise ValueError(f"stall {text!r}: MS and HZ must be numbers, e.g. 2@10") from None
    if not (stall.ms > 0 and stall.hz > 0 and stall.ms * stall.hz < 1000):
        raise ValueError(f"stall {text!r}: MS and HZ must be positive, MS*HZ under 1000")
    return stall


def loop_count_per_ms() -> float:
    """How many steps of `sum(range(n))` take a millisecond here (the fastest of five)."""
    best = min(_timed_sum(_CALIBRATION_N) for _ in range(5))
    return _CALIBRATION_N / (best * 1000)


def _timed_sum(n: int) -> float:
    started = time.perf_counter()
    sum(range(n))  # one C call: the GIL is not given up until it returns
    return time.perf_counter() - started


class _Holding(Periodic):
    """Holds the GIL `steps` steps of `sum(range(n))` long, once a period."""

    def __init__(self, period_s: float, steps: int) -> None:
        super().__init__(period_s, "churn-stall")
        self._steps = steps

    def tick(self) -> None:
        """One stall."""
        sum(range(self._steps))


def _background_idle() -> str:
    """Code that places a process as a compute child is placed: on the background CPUs
    (cpus.move_thread), at SCHED_IDLE (the child's own schedule_idle)."""
    split = CpuSplit.of(allowed_cpus())
    cpus = set(split.background) if split else None
    return (
        "from meshlens.cpus import move_thread;"
        " from meshlens.recomputer.child import schedule_idle;"
        f" move_thread({cpus!r}); schedule_idle();"
    )


class StallLoad:
    """A Stall, running from `start` to `stop` (a churn phase)."""

    def __init__(self, stall: Stall) -> None:
        self.stall = stall
        self._steps = round(loop_count_per_ms() * stall.ms)
        self._holding: _Holding | None = None
        self._child: subprocess.Popen[bytes] | None = None
        self.count = 0  # stalls of the in-process pattern in the last phase
        self.exit_status: int | None = None  # the process's, once stopped

    def __str__(self) -> str:
        """What a churn phase's label says of it."""
        return f"stall {self.stall}" + ("" if self.stall.process else f" ({self.count} stalls)")

    def start(self) -> None:
        """Start stalling."""
        period_s = 1 / self.stall.hz
        if self.stall.process:
            code = (
                (_background_idle() if self.stall.where == "idle" else "")
                + "import sys, threading; from bench.periodic import run_every;"
                " stop = threading.Event(); threading.Thread(target=lambda: (sys.stdin.read(),"
                f" stop.set()), daemon=True).start(); run_every({period_s!r},"
                f" lambda: sum(range({self._steps})), stop)"
            )
            self._child = subprocess.Popen(
                [sys.executable, "-c", code], stdin=subprocess.PIPE, cwd=_REPO
            )
        else:
            self._holding = _Holding(period_s, self._steps).__enter__()

    def stop(self) -> None:
        """Stop stalling (waits for the thread or process to end)."""
        if self._child is not None:
            assert self._child.stdin is not None
            self._child.stdin.close()  # end of input: the child stops
            self.exit_status = self._child.wait(10)
            self._child = None
        if self._holding is not None:
            self._holding.__exit__()
            self.count = self._holding.ticks
            self._holding = None
