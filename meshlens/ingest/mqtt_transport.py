"""Byte streams to an MQTT broker: TCP, TLS over it, or a WebSocket (`ws://`, `wss://`).

The MQTT link (meshlens/ingest/mqtt_link.py) reads and writes through a Transport and
knows nothing of how the bytes travel. The WebSocket is in mqtt_websocket.py.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
from dataclasses import dataclass
from typing import Protocol


class Transport(Protocol):
    """A byte stream to the broker."""

    def recv_into(self, buffer: memoryview, timeout_s: float) -> int:
        """Read into `buffer`; 0 when the peer closed; raises TimeoutError after `timeout_s`.

        With `timeout_s` 0 it never waits: TimeoutError at once when nothing has arrived.
        """
        ...

    def send(self, data: bytes) -> None:
        """Write all of `data`."""
        ...

    def close(self) -> None:
        """Close the stream; a `recv_into` blocked in another thread returns or raises."""
        ...


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where the broker is and how to reach it."""

    host: str
    port: int
    tls: bool = False
    verify_tls: bool = True  # false: any certificate (rejectUnauthorized: false)
    websocket: bool = False
    path: str = "/mqtt"  # the websocket's path
    connect_timeout_s: float = 30.0


class SocketTransport:
    """TCP, or TLS over it."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._timeout_s: float | None = -1.0

    def recv_into(self, buffer: memoryview, timeout_s: float) -> int:
        """One read of at most len(buffer) bytes."""
        if timeout_s != self._timeout_s:  # settimeout is a system call: only on change
            self._sock.settimeout(timeout_s)
            self._timeout_s = timeout_s
        try:
            return self._sock.recv_into(buffer)
        # A TLS record not complete yet, or (timeout 0: a non-blocking socket) nothing yet.
        except (ssl.SSLWantReadError, BlockingIOError):
            raise TimeoutError from None

    def send(self, data: bytes) -> None:
        """Write all of `data`."""
        self._sock.sendall(data)

    def close(self) -> None:
        """Shut down (which wakes a blocked reader), then close."""
        with contextlib.suppress(OSError):  # not connected any more: just close
            self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()


def open_transport(endpoint: Endpoint) -> Transport:
    """Connect to the broker: TCP, TLS or WebSocket, within the connect timeout."""
    context = _tls_context(endpoint.verify_tls) if endpoint.tls else None
    timeout = endpoint.connect_timeout_s
    if endpoint.websocket:
        # Imported here: websockets is ~5 MB more in every MQTT receipt process, and only
        # a ws:// or wss:// source needs it.
        from meshlens.ingest.mqtt_websocket import open_websocket  # noqa: PLC0415 - see above

        return open_websocket(endpoint, context)
    sock = socket.create_connection((endpoint.host, endpoint.port), timeout=timeout)
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if context is not None:
            sock = context.wrap_socket(sock, server_hostname=endpoint.host)
    except BaseException:
        sock.close()
        raise
    return SocketTransport(sock)


def _tls_context(verify: bool) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context
