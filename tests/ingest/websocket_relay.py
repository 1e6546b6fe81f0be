"""A websocket-to-TCP relay in front of a real Mosquitto, for the ws:// and wss:// tests.

The packaged Mosquitto (2.0.11) cannot open a websocket listener ("Unable to start any
listening sockets"), so the tests put this relay in front of its TCP listener. It
accepts MQTT over websockets (subprotocol `mqtt`, binary frames) on one path only and
relays the bytes both ways unchanged: the only part of those tests that is not the broker.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from types import TracebackType

from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.sync.server import Server, ServerConnection, serve
from websockets.typing import Subprotocol

from tests.ingest.brokers import free_port


class WebsocketRelay:
    """Relays websocket connections on `path` to 127.0.0.1:`broker_port`; a context manager."""

    def __init__(self, broker_port: int, path: str, tls: ssl.SSLContext | None = None) -> None:
        self.port = free_port()
        self.path = path
        self.connections = 0  # websocket sessions accepted (the handshake succeeded)
        self.refused_paths: list[str] = []
        self._broker_port = broker_port
        self._server: Server = serve(
            self._relay,
            "127.0.0.1",
            self.port,
            subprotocols=[Subprotocol("mqtt")],
            process_request=self._check_path,
            ssl=tls,
            compression=None,
        )
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> WebsocketRelay:
        self._thread.start()
        return self

    def __exit__(
        self, _: type[BaseException] | None, __: BaseException | None, ___: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._thread.join(10)

    def _check_path(self, connection: ServerConnection, request: Request) -> Response | None:
        if request.path == self.path:
            return None
        self.refused_paths.append(request.path)
        return connection.respond(404, f"no websocket endpoint at {request.path}\n")

    def _relay(self, ws: ServerConnection) -> None:
        if ws.subprotocol != "mqtt":  # a client that did not ask for MQTT
            ws.close(1002, "subprotocol mqtt required")
            return
        self.connections += 1
        with socket.create_connection(("127.0.0.1", self._broker_port)) as broker:
            down = threading.Thread(target=_broker_to_client, args=(broker, ws), daemon=True)
            down.start()
            try:
                for message in ws:  # client to broker: each frame's bytes as they are
                    broker.sendall(message if isinstance(message, bytes) else message.encode())
            except ConnectionClosed:
                pass
            finally:
                with contextlib.suppress(OSError):  # the broker may have closed it first
                    broker.shutdown(socket.SHUT_RDWR)
                down.join(10)


def _broker_to_client(broker: socket.socket, ws: ServerConnection) -> None:
    try:
        while data := broker.recv(65536):
            ws.send(data)  # bytes: a binary frame
    except (ConnectionClosed, OSError):
        pass
    ws.close()
