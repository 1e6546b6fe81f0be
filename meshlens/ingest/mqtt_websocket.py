"""MQTT over a WebSocket (`ws://`, `wss://`): binary messages whose bytes are the MQTT stream."""

from __future__ import annotations

import ssl

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection
from websockets.sync.client import connect as websocket_connect
from websockets.typing import Subprotocol

from meshlens.ingest.mqtt_errors import MalformedPacketError
from meshlens.ingest.mqtt_transport import Endpoint


class WebSocketTransport:
    """MQTT over a WebSocket: binary messages whose bytes are the MQTT stream."""

    def __init__(self, connection: ClientConnection) -> None:
        self._ws = connection
        self._left = b""  # the part of the last message that did not fit the buffer

    def recv_into(self, buffer: memoryview, timeout_s: float) -> int:
        """Bytes of the next message (or of what remains of the last one)."""
        data = self._left
        if not data:
            try:
                message = self._ws.recv(timeout=timeout_s)
            except ConnectionClosed:
                return 0
            if isinstance(message, str):
                raise MalformedPacketError("the broker sent a text WebSocket message")
            data = message
        take = min(len(data), len(buffer))
        buffer[:take] = data[:take]
        self._left = data[take:]
        return take

    def send(self, data: bytes) -> None:
        """One binary message."""
        try:
            self._ws.send(data)
        except ConnectionClosed as err:
            raise ConnectionError(str(err)) from None

    def close(self) -> None:
        """Close the WebSocket (a blocked reader sees the connection closed)."""
        self._ws.close()


def open_websocket(endpoint: Endpoint, context: ssl.SSLContext | None) -> WebSocketTransport:
    """Open the WebSocket to the broker (TLS when `context` is given)."""
    timeout = endpoint.connect_timeout_s
    scheme = "wss" if endpoint.tls else "ws"
    host = f"[{endpoint.host}]" if ":" in endpoint.host else endpoint.host
    path = endpoint.path if endpoint.path.startswith("/") else f"/{endpoint.path}"
    connection = websocket_connect(
        f"{scheme}://{host}:{endpoint.port}{path}",
        ssl=context,
        subprotocols=[Subprotocol("mqtt")],
        open_timeout=timeout,
        close_timeout=2.0,  # a broker that does not answer the close is not waited for
        compression=None,
        max_size=None,  # MQTT's own limit applies to what the messages carry
        legacy=True,  # the connection outlives this call (websockets 17.1+ asks to say so)
    )
    return WebSocketTransport(connection)
