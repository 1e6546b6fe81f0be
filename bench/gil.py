"""Compute placement: how much do background computes slow a reader, by where they run?

The serving side is an asyncio TCP server in this process answering each request line
with a fixed 2 KiB body (the shape of a default-shape analytics read: no compute, one
write of stored bytes). A client in a separate process sends requests one at a time and
records each round trip. Meanwhile a driver thread keeps one compute job running back to
back on a runner. Scenarios: idle; a numpy-heavy job and a pure-Python job, each on a
ThreadRunner (same process, shares the GIL) and on a ForkRunner (forked child). Both
runners lower the job's priority by the same niceness, so the difference is the GIL.

The process carries a ~250 MB heap (numpy columns plus Python objects) so that fork
costs what it would in the server. Run under the shared lock:

    flock /work/bench.lock env PYTHONPATH=. python -m bench.gil
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from bench.load import proc_kb
from meshlens.recomputer import ForkRunner, Rendered, Runner, ThreadRunner, render

BODY = b'{"ok": true, "data": "' + b"x" * 2030 + b'"}\n'
NICENESS = 10


@dataclass(frozen=True, slots=True)
class Heap:
    """What the serving process holds: store-like numpy columns plus Python objects."""

    ids: np.ndarray
    ts: np.ndarray
    snr: np.ndarray
    names: dict[int, str]


def build_heap(rows: int) -> Heap:
    """About 250 MB at the default 8M rows: 20 bytes/row of columns plus 500k names."""
    rng = np.random.default_rng(1)
    ids = rng.integers(0, 50_000, rows, dtype=np.int64)
    ts = np.cumsum(rng.integers(0, 1000, rows, dtype=np.int64))
    snr = rng.normal(0, 5, rows).astype(np.float32)
    for column in (ids, ts, snr):
        column.flags.writeable = False
    names = {i: f"node-{i:06d}" for i in range(500_000)}
    return Heap(ids, ts, snr, names)


def numpy_job(heap: Heap) -> Callable[[], Rendered]:
    """A vectorised analytic: counts, a sort, a group-by mean and a windowed mask."""

    def job() -> Rendered:
        counts = np.bincount(heap.ids, minlength=50_000)
        order = np.argsort(heap.ts[: len(heap.ts) // 4], kind="stable")
        sums = np.bincount(heap.ids, weights=heap.snr, minlength=50_000)
        mean = np.divide(sums, counts, out=np.zeros_like(sums), where=counts > 0)
        recent = heap.ids[heap.ts > heap.ts[-1] // 2]
        top = np.argsort(counts)[-50:]
        summary = {
            "top": top.tolist(),
            "mean": float(mean.mean()),
            "recent": int(np.unique(recent).size),
            "first": int(order[0]),
        }
        return render(json.dumps(summary).encode())

    return job


def python_job(heap: Heap) -> Callable[[], Rendered]:
    """A per-distinct analytic written as a Python loop (holds the GIL throughout)."""

    def job() -> Rendered:
        prefixes: dict[str, int] = {}
        for name in heap.names.values():
            key = name[:8]
            prefixes[key] = prefixes.get(key, 0) + 1
        return render(json.dumps(sorted(prefixes.items())[:50]).encode())

    return job


async def _handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    while await reader.readline():
        writer.write(BODY)
        await writer.drain()
    writer.close()


def serve() -> tuple[int, Callable[[], None]]:
    """Start the echo server on an event loop thread; return its port and a stopper."""
    loop = asyncio.new_event_loop()
    started: list[asyncio.Server] = []
    ready = threading.Event()

    async def open_server() -> None:
        started.append(await asyncio.start_server(_handle, "127.0.0.1", 0))
        ready.set()

    thread = threading.Thread(target=loop.run_forever, name="serve", daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(open_server(), loop)
    ready.wait(10)
    port = started[0].sockets[0].getsockname()[1]

    def stop() -> None:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)

    return port, stop


class Driver:
    """Keeps one job running back to back on a runner until stopped."""

    def __init__(self, runner: Runner, job: Callable[[], Rendered]) -> None:
        self.runner = runner
        self.job = job
        self.done = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="driver", daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.runner.submit(self.job).result()
            self.done += 1

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(60)


def client(port: int, seconds: float, pause_s: float) -> dict[str, float]:
    """One request at a time for `seconds`; latency percentiles in milliseconds."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    latencies: list[int] = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        t0 = time.perf_counter_ns()
        sock.sendall(b"GET\n")
        got = 0
        while got < len(BODY):
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("server closed the connection")
            got += len(chunk)
        latencies.append(time.perf_counter_ns() - t0)
        time.sleep(pause_s)
    sock.close()
    ms = np.array(latencies) / 1e6
    return {
        "n": float(len(ms)),
        "p50": float(np.percentile(ms, 50)),
        "p99": float(np.percentile(ms, 99)),
        "p999": float(np.percentile(ms, 99.9)),
        "max": float(ms.max()),
    }


def measure(port: int, seconds: float, pause_s: float) -> dict[str, float]:
    """Run the client in its own process, so its timing owns no share of our GIL."""
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.gil",
            "--client",
            str(port),
            "--seconds",
            str(seconds),
            "--pause-ms",
            str(pause_s * 1000),
        ],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    result: dict[str, float] = json.loads(out.stdout)
    return result


def fork_cost_ms(samples: int = 30) -> float:
    """The parent's time in os.fork() with this heap: median over `samples` forks."""
    times = []
    for _ in range(samples):
        t0 = time.perf_counter()
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        times.append((time.perf_counter() - t0) * 1000)
        os.waitpid(pid, 0)
    return statistics.median(times)


def rss_mb() -> float:
    """This process's resident set size (Linux)."""
    return proc_kb("/proc/self/status", "VmRSS")[0] / 1024


def round_trip_ms(runner: ForkRunner, samples: int = 30) -> float:
    """Submit-to-result time of a trivial job on a ForkRunner: median."""
    times = []
    for _ in range(samples):
        t0 = time.perf_counter()
        runner.submit(lambda: b"").result()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def run(rows: int, seconds: float, pause_s: float) -> list[dict[str, object]]:
    """All scenarios; one row each."""
    heap = build_heap(rows)
    port, stop_server = serve()
    thread_runner = ThreadRunner(niceness=NICENESS)
    fork_runner = ForkRunner(niceness=NICENESS)
    jobs = {"numpy": numpy_job(heap), "pure Python": python_job(heap)}
    for name, job in jobs.items():  # one timing each, in this process, undisturbed
        t0 = time.perf_counter()
        job()
        print(f"# {name} job alone: {(time.perf_counter() - t0) * 1000:.0f} ms", flush=True)
    print(f"# resident set: {rss_mb():.0f} MB", flush=True)
    print(f"# fork() with this heap: {fork_cost_ms():.2f} ms of the parent's time", flush=True)
    print(f"# ForkRunner round trip (trivial job): {round_trip_ms(fork_runner):.2f} ms")
    rows_out: list[dict[str, object]] = []
    scenarios: list[tuple[str, str, Runner | None]] = [("idle", "-", None)]
    for name in jobs:
        scenarios += [(name, "ThreadRunner", thread_runner), (name, "ForkRunner", fork_runner)]
    scenarios.append(("idle (again)", "-", None))  # shows how much the machine drifted
    for job_name, placement, runner in scenarios:
        driver = None
        if runner is not None:
            driver = Driver(runner, jobs[job_name])  # job_name is a key of jobs here
            driver.start()
            time.sleep(0.5)  # let the first compute get going
        started = time.perf_counter()
        result = measure(port, seconds, pause_s)
        elapsed = time.perf_counter() - started
        jobs_per_s = 0.0
        if driver is not None:
            jobs_per_s = driver.done / elapsed
            driver.stop()
        row: dict[str, object] = {"job": job_name, "placement": placement, **result}
        row["jobs_per_s"] = jobs_per_s
        rows_out.append(row)
        print(json.dumps(row), flush=True)
    thread_runner.stop()
    fork_runner.stop()
    stop_server()
    return rows_out


def table(rows: list[dict[str, object]]) -> str:
    """The markdown table for docs/benchmarks.md."""
    idle = rows[0]
    lines = [
        "| compute | placement | requests | p50 ms | p99 ms | p99.9 ms | p99 / idle | jobs/s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        ratio = float(str(row["p99"])) / float(str(idle["p99"]))
        lines.append(
            f"| {row['job']} | {row['placement']} | {int(float(str(row['n'])))} "
            f"| {float(str(row['p50'])):.2f} | {float(str(row['p99'])):.2f} "
            f"| {float(str(row['p999'])):.2f} | x{ratio:.1f} "
            f"| {float(str(row['jobs_per_s'])):.1f} |"
        )
    return "\n".join(lines)


ORDER = 90


def rows(ctx: object) -> list[object]:
    """Suite rows: p99 read latency under a pure-Python compute, by placement (shortened)."""
    from bench.suite import Context, Row

    assert isinstance(ctx, Context)
    if ctx.quick:
        return [Row("compute placement", "read p99 under compute", "skipped (--quick)")]
    measured = run(8_000_000, 5.0, 0.001)
    idle = float(str(measured[0]["p99"]))
    out: list[object] = []
    for row in measured[1:-1]:
        p99 = float(str(row["p99"]))
        out.append(Row("compute placement", f"read p99 with a {row['job']} compute on "
                       f"{row['placement']}", f"{p99:.2f} ms (x{p99 / idle:.1f} idle)",
                       note="5 s per scenario; the full run is `python -m bench.gil`"))  # fmt: skip
    return out


def main(argv: list[str] | None = None) -> int:
    """Entry point: the whole benchmark, or (with --client) the measuring client."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=8_000_000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--pause-ms", type=float, default=1.0)
    parser.add_argument("--client", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.client:
        print(json.dumps(client(args.client, args.seconds, args.pause_ms / 1000)))
        return 0
    rows = run(args.rows, args.seconds, args.pause_ms / 1000)
    print()
    print(table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
