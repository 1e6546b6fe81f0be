"""A meshlens Server on port 0 in a thread of the test process, and a database to feed it."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from meshlens.api.server import bind, run_loop
from meshlens.app import Server
from meshlens.config import Settings
from meshlens.ingest.loader import load_store
from meshlens.records import Sighting
from meshlens.storage import open_storage
from meshlens.store.store import LoadProgress


def seed(settings: Settings, sightings: Iterable[Sighting]) -> None:
    """Write sightings into the settings' database before a server opens it."""
    storage = open_storage(settings, load=True)
    try:
        storage.pipeline.process(list(sightings))
    finally:
        storage.close()


@dataclass
class Running:
    """A started server: its URL, the Server, and how to stop it."""

    server: Server
    port: int
    loop: asyncio.AbstractEventLoop
    stop_event: asyncio.Event
    thread: threading.Thread
    errors: list[BaseException] = field(default_factory=list)

    @property
    def base(self) -> str:
        """The server's base URL."""
        return f"http://127.0.0.1:{self.port}"

    def client(self, **kwargs: Any) -> httpx.Client:
        """An HTTP client on this server."""
        return httpx.Client(base_url=self.base, timeout=10.0, **kwargs)

    def stop(self) -> None:
        """Stop gracefully and wait for the server's thread."""
        if self.thread.is_alive():
            self.loop.call_soon_threadsafe(self.stop_event.set)
            self.thread.join(30)
        assert not self.thread.is_alive(), "server did not stop"
        if self.errors:
            raise self.errors[0]

    def wait_until(self, check: Callable[[], bool], timeout_s: float = 15.0) -> None:
        """Poll `check` until it holds (used for real background work, never for time)."""
        deadline = time.monotonic() + timeout_s
        while not check():
            assert time.monotonic() < deadline, "condition not reached in time"
            time.sleep(0.01)

    def wait_ready(self) -> None:
        """Until every analytic with a compute may serve its default shape."""
        self.wait_until(lambda: self.server.status.loaded and self.server.recomputers.ready())


def start(settings: Settings, **server_options: Any) -> Running:
    """Build a Server (options as for Server) and run it on 127.0.0.1:0 in a thread."""
    server = Server(settings, **server_options)
    sock = bind("127.0.0.1", 0)
    port = int(sock.getsockname()[1])
    started = threading.Event()
    holder: dict[str, Any] = {}
    errors: list[BaseException] = []

    async def main() -> None:
        holder["loop"] = asyncio.get_running_loop()
        holder["stop"] = asyncio.Event()
        started.set()
        await server.run(sock, stop=holder["stop"])

    def run() -> None:
        try:
            run_loop(main())
        except BaseException as err:  # reported by Running.stop
            errors.append(err)
            started.set()

    thread = threading.Thread(target=run, name="test-server", daemon=True)
    thread.start()
    assert started.wait(10)
    if errors:
        raise errors[0]
    return Running(server, port, holder["loop"], holder["stop"], thread, errors)


def settings_for(tmp_path: Path, **overrides: Any) -> Settings:
    """Default settings on a database in tmp_path."""
    return Settings(db_path=tmp_path / "meshlens.db", **overrides)


def many(n: int, make: Callable[[int], Sighting]) -> Sequence[Sighting]:
    """n sightings from a factory."""
    return [make(i) for i in range(n)]


class HeldLoad:
    """A load_store that waits for `release` before loading, so a test sees the warm-up."""

    def __init__(self, timeout_s: float = 30.0) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self._timeout_s = timeout_s

    def __call__(self, *args: Any, **kwargs: Any) -> LoadProgress:
        self.entered.set()
        assert self.release.wait(self._timeout_s), "test never released the load"
        return load_store(*args, **kwargs)
