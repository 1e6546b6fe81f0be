"""The reference system's own test, over HTTP: readers stay served while everything churns.

Many concurrent readers hit the default shape while every recomputer recomputes every
few milliseconds (in forked children) and a writer keeps appending through the ingest
worker. Every read must be a non-empty 200, and no reader may see the data go back.
"""

from __future__ import annotations

import threading

import httpx
import pytest

from meshlens.config import Settings
from tests.api.conftest import Serve, chatter
from tests.api.probe import PROBE_ROUTE
from tests.api.running import seed

READERS = 12
READS_EACH = 40


@pytest.mark.timeout(120)
def test_readers_always_get_a_snapshot_while_recomputers_and_a_writer_churn(
    serve: Serve, settings: Settings
) -> None:
    seed(settings, chatter(50))
    server = serve(interval_override_s=0.005)
    server.wait_ready()
    stop_writing = threading.Event()
    failures: list[str] = []

    def write() -> None:
        batch = 0
        while not stop_writing.is_set():
            items = chatter(5, start_ms=1_800_000_000_000 + batch * 10_000_000)
            server.server.worker.submit(items).result(10)
            batch += 1

    def read() -> None:
        seen = 0
        with httpx.Client(base_url=server.base, timeout=10.0) as http:
            for _ in range(READS_EACH):
                response = http.get(PROBE_ROUTE)
                if response.status_code != 200 or not response.content:
                    failures.append(f"{response.status_code} {response.content[:80]!r}")
                    continue
                count = response.json()["transmissions"]
                if count < seen:
                    failures.append(f"went back from {seen} to {count}")
                seen = count

    writer = threading.Thread(target=write)
    readers = [threading.Thread(target=read) for _ in range(READERS)]
    writer.start()
    for reader in readers:
        reader.start()
    for reader in readers:
        reader.join(60)
    stop_writing.set()
    writer.join(30)
    assert failures == []
    stats = server.server.recomputers["probe"].stats()
    assert stats.runs >= 3  # it really did recompute while being read
    assert stats.failures == 0
