"""The HTTP listener: granian's embedded server, on a socket we bind, in our event loop.

Why granian embedded (docs/architecture.md, "Serving"): it parses HTTP in Rust and calls
our app over RSGI on the event loop that also runs the on-demand cache, so there is one
process, one loop and no worker processes to keep in step with the recomputers.

We bind the socket ourselves so the port is known at once (port 0 picks a free one, which
tests and `--port 0` need) and so the server listens before the store has loaded.
granian's embedded server is marked experimental; the one private hook used here
(`_init_shared_socket`) is covered by tests/api and pinned by granian's major version.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Coroutine
from typing import Any, Protocol, TypeVar

import uvloop
from granian._granian import RSGIHTTPProtocol as HTTPProtocol
from granian._granian import SocketHolder
from granian.constants import HTTPModes, Interfaces
from granian.rsgi import Scope
from granian.server.embed import Server

log = logging.getLogger("meshlens.api")

BACKLOG = 1024

T = TypeVar("T")


class RsgiApp(Protocol):
    """What granian calls for each request over RSGI (meshlens' `FastPath`)."""

    async def __rsgi__(self, scope: Scope, protocol: HTTPProtocol) -> None:
        """Answer one request through `protocol`."""


def run_loop(main: Coroutine[Any, Any, T]) -> T:
    """Run `main` to completion on a new uvloop event loop, the loop meshlens serves on.

    uvloop (libuv, in C) spends ~30 % less CPU a read than asyncio's own loop on the fast
    path, where granian's threads hand every request to the loop
    (docs/architecture.md, "Serving").
    """
    return uvloop.run(main)


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port (port 0: any free port)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(BACKLOG)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


class _SocketServer(Server):
    """granian's embedded server, serving a socket that is already bound."""

    def __init__(self, app: RsgiApp, sock: socket.socket) -> None:
        super().__init__(
            app,
            address=sock.getsockname()[0],
            port=sock.getsockname()[1],
            interface=Interfaces.RSGI,
            http=HTTPModes.http1,
            websockets=False,
            backlog=BACKLOG,
            log_enabled=False,  # granian's dictConfig would replace meshlens' logging
        )
        self._fd = sock.detach()  # granian owns (and closes) the descriptor from here

    def _init_shared_socket(self) -> None:
        # The runtime signature is (fd, is_uds, backlog); granian's stub omits it.
        holder: Any = SocketHolder
        self._ssp = None
        self._shd = holder(self._fd, False, BACKLOG)


class HttpServer:
    """Serves the RSGI app on a bound socket until `stop()`; runs on the caller's loop."""

    def __init__(self, app: RsgiApp, sock: socket.socket) -> None:
        self.port: int = sock.getsockname()[1]
        self.host: str = sock.getsockname()[0]
        self._server: Any = _SocketServer(app, sock)
        self._stopping = False

    async def serve(self) -> None:
        """Accept connections until `stop()`; returns once the listener is closed."""
        await self._server.serve()

    def stop(self) -> None:
        """Stop accepting and close the listener (in-flight requests finish); idempotent."""
        if not self._stopping:
            self._stopping = True
            self._server.stop()


async def serve_until(server: HttpServer, stop: asyncio.Event) -> None:
    """Serve until `stop` is set, then close the listener."""
    task = asyncio.create_task(server.serve(), name="http")
    waiter = asyncio.create_task(stop.wait(), name="http-stop")
    await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    server.stop()
    waiter.cancel()
    await task  # raises if the server itself failed
