"""Latency over HTTP of the resource routes and of one node's clock skew, client and server side.

Starts the real `meshlens.app.Server` (granian embedded, the fast path, Starlette) on a
copy of a staging-scale database, with the nodes-clock-skew recomputer alone (so its
per-node detail is published) and the clock set to the data's newest sighting, running
forward. Then one client on one keep-alive connection (stdlib http.client, so the client
adds little) sends `--runs` sequential requests per route. For each route: the p50/p99
the client saw (send to last byte read) and the p50/p99 the server itself recorded
(`RequestStats`, from receiving the request to handing over the last byte, which is what
/metrics reports as meshlens_http_request_duration_seconds).

One node's clock skew (`/api/nodes/{pubkey}/clock-skew`) cycles through every node with
a detail, plain and with `Accept-Encoding: gzip`.

    flock /work/bench.lock env PYTHONPATH=. .venv/bin/python -m bench.http_latency
"""

from __future__ import annotations

import argparse
import http.client
import shutil
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.dataset import STAGING_DB
from bench.suite import Context, Row
from meshlens.records import SystemClock

ORDER = 60
SKEW = "nodes-clock-skew"
Paths = Iterator[tuple[str, dict[str, str]]]  # request paths and their headers


class ShiftedClock(SystemClock):
    """The real clock moved back to the data's time (the dataset's newest sighting)."""

    def __init__(self, now_ms: int) -> None:
        self._offset_ms = now_ms - super().now_ms()

    def now_ms(self) -> int:
        """The data's 'now', running forward in real time."""
        return super().now_ms() + self._offset_ms


@dataclass(frozen=True, slots=True)
class Latency:
    """One route's figures."""

    route: str
    client_p50: float
    client_p99: float
    server_p50: float
    server_p99: float
    runs: int
    status: int
    size: int


def newest_ms(db: Path) -> int:
    """The newest observation time in a meshlens database."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        (value,) = conn.execute("SELECT max(ts_ms) FROM observations").fetchone()
    return int(value or 0)


def _p(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def measure(
    port: int,
    server_times: list[float],
    name: str,
    paths: Paths,
    runs: int,
) -> Latency:
    """`runs` sequential GETs on one keep-alive connection (after a few warm-up ones)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    client: list[float] = []
    status = size = 0
    try:
        for i in range(runs + 5):
            path, headers = next(paths)
            if i == 5:
                server_times.clear()
            started = time.perf_counter()
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            body = response.read()
            elapsed = (time.perf_counter() - started) * 1000
            if i >= 5:
                client.append(elapsed)
            status, size = response.status, len(body)
    finally:
        conn.close()
    server = [s * 1000 for s in server_times]
    return Latency(
        name, statistics.median(client), _p(client, 99), statistics.median(server) if server
        else float("nan"), _p(server, 99), runs, status, size,
    )  # fmt: skip


def run(db: Path, runs: int, log: Callable[[str], None] = print) -> list[Latency]:
    """Serve a copy of `db` and measure every route."""
    from bench.serve import start_server
    from meshlens.analytics.registry import BY_NAME
    from meshlens.config import Settings

    with tempfile.TemporaryDirectory(prefix="meshlens-http-") as tmp:
        copy = Path(tmp) / "serve.db"
        shutil.copy(db, copy)
        settings = Settings(db_path=copy)
        now = newest_ms(copy) + 60_000
        started = time.perf_counter()
        server, port, stop = start_server(settings, [BY_NAME[SKEW]], clock=ShiftedClock(now))
        try:
            while not (server.status.loaded and server.recomputers.ready()):
                time.sleep(0.05)
            log(f"ready after {time.perf_counter() - started:.1f} s")
            server_times: list[float] = []
            requests = server.context.requests
            recorded = requests.record

            def record(route: str, method: str, status: int, seconds: float, path: str) -> None:
                server_times.append(seconds)
                recorded(route, method, status, seconds, path)

            requests.record = record  # type: ignore[method-assign]
            published = server.board.load(SKEW)
            keys = sorted(published.extra) if published is not None else []
            snap = server.store.snapshot()
            repeater = next(n.public_key for n in snap.nodes if n.role == "repeater")
            tx_hash = snap.content_hash(len(snap.tx) // 2)
            plain: dict[str, str] = {}
            gzip = {"Accept-Encoding": "gzip"}

            def same(
                path: str, headers: dict[str, str] = plain
            ) -> Iterator[tuple[str, dict[str, str]]]:
                while True:
                    yield path, headers

            def cycling(headers: dict[str, str]) -> Iterator[tuple[str, dict[str, str]]]:
                while True:
                    for key in keys:
                        yield f"/api/nodes/{key}/clock-skew", headers

            cases: list[tuple[str, Paths]] = [
                ("/api/nodes/{pubkey}/clock-skew", cycling(plain)),
                ("/api/nodes/{pubkey}/clock-skew (gzip)", cycling(gzip)),
                ("/api/stats", same("/api/stats")),
                ("/api/nodes", same("/api/nodes")),
                ("/api/nodes/{pubkey}", same(f"/api/nodes/{repeater}")),
                ("/api/nodes/network-status", same("/api/nodes/network-status")),
                ("/api/observers", same("/api/observers")),
                ("/api/packets", same("/api/packets")),
                ("/api/packets?groupByHash=true", same("/api/packets?groupByHash=true")),
                ("/api/packets/{hash}", same(f"/api/packets/{tx_hash}")),
                ("/api/channels", same("/api/channels")),
                ("/api/channels/Public/messages", same("/api/channels/Public/messages")),
            ]
            log(f"{len(keys)} nodes with a clock-skew detail")
            return [measure(port, server_times, name, paths, runs) for name, paths in cases]
        finally:
            stop()


def table(results: list[Latency]) -> str:
    """The figures as a markdown table."""
    lines = [
        "| route | client p50 ms | client p99 ms | server p50 ms | server p99 ms | status "
        "| bytes |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| `{r.route}` | {r.client_p50:.2f} | {r.client_p99:.2f} | {r.server_p50:.2f} | "
            f"{r.server_p99:.2f} | {r.status} | {r.size:,} |"
        )
    return "\n".join(lines)


def rows(ctx: Context) -> list[Row]:
    """One node's clock skew (issue 6: p99 <= 5 ms) and the slowest resource route."""
    runs = 100 if ctx.quick else 400
    results = run(ctx.db_path, runs, log=lambda _: None)
    skew = [r for r in results if r.route.startswith("/api/nodes/{pubkey}/clock-skew")]
    resources = [r for r in results if r not in skew]
    worst = max(resources, key=lambda r: r.server_p99)
    note = f"{runs} sequential requests on one keep-alive connection; client-side p99 in brackets"
    out = [
        Row("api", f"one node's clock skew over HTTP{r.route[30:]}, p99",
            f"{r.server_p99:.2f} ms ({r.client_p99:.2f})", "<= 5 ms", note)
        for r in skew
    ]  # fmt: skip
    out.append(Row(
        "api", "slowest resource route over HTTP, p99",
        f"{worst.server_p99:.2f} ms ({worst.client_p99:.2f}) `{worst.route}`", "<= 20 ms", note,
    ))  # fmt: skip
    return out


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=STAGING_DB)
    parser.add_argument("--runs", type=int, default=400)
    args = parser.parse_args()
    print(table(run(args.db, args.runs)))


if __name__ == "__main__":
    main()
