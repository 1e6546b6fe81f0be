"""A server process for the shutdown test: `python -m tests.api.serve_child DB N`.

It serves the probe registry with a feed that offers N distinct sightings at once, prints
`port P` and `offered N`, and runs until SIGTERM like `meshlens serve` does.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from meshlens.api.server import bind, run_loop
from meshlens.app import Server
from meshlens.config import Settings
from meshlens.ingest.worker import IngestWorker
from tests.api.conftest import chatter
from tests.api.probe import REGISTRY


class BurstFeed:
    """Offers its sightings all at once, so they are still queued when SIGTERM comes."""

    name = "burst"

    def __init__(self, count: int) -> None:
        self._items = chatter(count, observers=5)

    def start(self, worker: IngestWorker) -> None:
        """Offer everything."""
        offered = sum(worker.offer(item) for item in self._items)
        print(f"offered {offered}", flush=True)

    def stop(self) -> None:
        """Nothing more is offered after start."""


def main() -> None:
    """Serve until SIGTERM."""
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    settings = Settings(db_path=Path(sys.argv[1]))
    server = Server(settings, analytics=REGISTRY, feeds=[BurstFeed(int(sys.argv[2]))])
    sock = bind("127.0.0.1", 0)
    run_loop(server.run(sock, on_listening=lambda port: print(f"port {port}", flush=True)))


if __name__ == "__main__":
    main()
