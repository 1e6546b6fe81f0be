"""A source's receipt in a child process: link and routing there, batches sent over a pipe.

Receiving and routing a message costs ~20 µs of CPU and writing it ~45 µs; under one
GIL a server does not get past ~15,000 messages a second, with one in a child process
per source the two use two cores (docs/architecture.md, "Live MQTT receipt"). The child
runs the same Receipt as a thread would, and its events cross the pipe as small tuples:
each routed batch's sightings as rows of plain values (pickled in ~1 µs each, where a
Sighting object costs ~16), and back the other way the QoS 1 acknowledgements, each
tagged with the connection (epoch) it belongs to, once the batch's write has committed.

The child is a fresh interpreter started with `python -m meshlens.ingest.mqtt_child`
(child_process.py), not multiprocessing's spawn: spawn would import the server's whole
main module into it and start a resource tracker beside it (~56 MB of PSS together,
against ~18 MB for the modules a receipt needs: the link, routing and the config records,
without numpy, the decoder or the store; a test keeps that import list short).

The child ends when told to stop, or when the pipe closes because the server died; a
child that dies is counted as a failed connection and started again after a backoff.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import subprocess
import threading
from multiprocessing.connection import Connection
from typing import Any

from meshlens.config import MqttSource
from meshlens.ingest.child_process import sighting_rows, sightings_of, start_child
from meshlens.ingest.mqtt_receipt import Acks, Backoff, Receipt, ReceiptEvents, RoutedBatch
from meshlens.ingest.routing import RoutingRules

log = logging.getLogger("meshlens.mqtt")

# The child gives its receipt this long to disconnect (a websocket close handshake
# included); a receipt still stuck in a connection attempt is abandoned with the child.
_CHILD_STOP_S = 5.0
_STOP_WAIT_S = 15.0  # the server's wait for the child to exit before it kills it


class _PipeEvents:
    """ReceiptEvents in the child: each one sent to the server as a tuple."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._current: tuple[int, Acks | None] = (0, None)  # epoch, the link now

    def connected(self, session_present: bool) -> None:
        self._conn.send(("connected", session_present))

    def subscribed(self, refused: list[str]) -> None:
        self._conn.send(("subscribed", refused))

    def lost(self, reason: str, protocol_error: bool) -> None:
        self._conn.send(("lost", reason, protocol_error))

    def failed(self, reason: str) -> None:
        self._conn.send(("failed", reason))

    def disconnected(self) -> None:
        self._conn.send(("disconnected",))

    def deliver(self, batch: RoutedBatch, acks: Acks) -> None:
        epoch, link = self._current
        if acks is not link:  # a new connection: acks for older ones must not reach it
            epoch += 1
            self._current = (epoch, acks)
        rows = sighting_rows(batch.sightings)
        self._conn.send(
            ("batch", epoch, batch.received, rows, batch.statuses, batch.to_ack,
             batch.rejected, batch.filtered)
        )  # fmt: skip

    def ack(self, epoch: int, packet_ids: list[int]) -> None:
        """Acknowledge on the link of `epoch`, if that is still the one connected."""
        current, link = self._current
        if epoch == current and link is not None:
            link.ack(packet_ids)


def child_main(conn: Connection) -> None:
    """The child process: take the source, run its receipt until told to stop or orphaned."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the server's to handle
    try:
        _, source, rules, min_backoff_s = conn.recv()  # ("start", ...), sent first
    except (EOFError, OSError):
        return  # the server went away before it said what to receive
    events = _PipeEvents(conn)
    receipt = Receipt(source, rules, events, min_backoff_s=min_backoff_s)
    thread = threading.Thread(target=receipt.run, name=f"mqtt-{source.name}", daemon=True)
    thread.start()
    with contextlib.suppress(EOFError, OSError):  # the server is gone: stop as for "stop"
        while True:
            message = conn.recv()
            if message[0] == "ack":
                events.ack(message[1], message[2])
            elif message[0] == "gather":
                receipt.set_gather(message[1])
            elif message[0] == "stop":
                break
    receipt.stop()
    thread.join(_CHILD_STOP_S)
    conn.close()


class _ChildAcks:
    """The server's side of one child connection's acknowledgements."""

    def __init__(self, child: ChildReceipt, generation: int, epoch: int) -> None:
        self._child = child
        self._generation = generation  # which child: epochs start again in a new one
        self._epoch = epoch

    def ack(self, packet_ids: list[int]) -> None:
        if packet_ids:
            self._child.send(("ack", self._epoch, packet_ids), generation=self._generation)


class ChildReceipt:
    """Runs a source's Receipt in a child process, relaying its events to `events`."""

    def __init__(
        self,
        source: MqttSource,
        rules: RoutingRules,
        events: ReceiptEvents,
        min_backoff_s: float,
    ) -> None:
        self.source = source
        self.rules = rules
        self._events = events
        self._min_backoff_s = min_backoff_s
        self._backoff = Backoff(min_backoff_s, source.reconnect_max_s)
        self._stop = threading.Event()
        self._send_lock = threading.Lock()
        self._conn: Connection | None = None
        self._acks: dict[int, _ChildAcks] = {}
        self.pid: int | None = None  # the child process running now, if any
        self._generation = 0  # children started so far
        self._gather_s = 0.0

    def run(self) -> None:
        """Start the child and relay what it reports; start another if it dies."""
        while not self._stop.is_set():
            process, ours = start_child("meshlens.ingest.mqtt_child")
            self.pid = process.pid
            with self._send_lock:
                self._conn = ours
                self._generation += 1
                self._send_locked(("start", self.source, self.rules, self._min_backoff_s))
                if self._gather_s:  # a child started again gathers as the one before did
                    self._send_locked(("gather", self._gather_s))
            if self._stop.is_set():  # stop() came before the pipe was there to tell
                self.send(("stop",))
            self._relay(ours)
            try:
                process.wait(_STOP_WAIT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            with self._send_lock:
                self._conn = None
            self.pid = None
            ours.close()
            if self._stop.is_set():
                return
            self._events.failed(f"the receipt process exited (code {process.returncode})")
            self._events.disconnected()
            self._stop.wait(self._backoff.next_s())

    def set_gather(self, seconds: float) -> None:
        """Tell the child's receipt to gather messages between reads (Receipt.set_gather).

        Each batch the child sends wakes the server's relay thread, so the child gathers
        for the same reason a receipt in the server does.
        """
        with self._send_lock:  # in order with the value a new child is sent
            self._gather_s = seconds
            self._send_locked(("gather", seconds))

    def stop(self) -> None:
        """Tell the child to disconnect and end; `run` returns once it has."""
        self._stop.set()
        self.send(("stop",))

    def send(self, message: tuple[Any, ...], generation: int | None = None) -> None:
        """Send to the child (any thread); dropped if there is none or it is not `generation`."""
        with self._send_lock:
            if generation in (None, self._generation):
                self._send_locked(message)

    def _send_locked(self, message: tuple[Any, ...]) -> None:
        """Send to the child if there is one (the send lock held)."""
        if self._conn is not None:
            with contextlib.suppress(OSError):  # the child is gone; run() notices
                self._conn.send(message)

    def _relay(self, conn: Connection) -> None:
        """Hand each event from the child to the feed until the pipe closes."""
        self._acks.clear()
        while True:
            try:
                message = conn.recv()
            except (EOFError, OSError):
                return
            try:
                self._dispatch(message)
            except Exception:  # a bug must not end the relay (the child would block)
                log.exception(
                    "mqtt source %s: handling the receipt's event failed", self.source.name
                )

    def _dispatch(self, message: tuple[Any, ...]) -> None:
        """One event from the child, to the feed."""
        events = self._events
        kind = message[0]
        if kind == "batch":
            _, epoch, received, rows, statuses, to_ack, rejected, filtered = message
            acks = self._acks.get(epoch)
            if acks is None:
                self._acks = {epoch: _ChildAcks(self, self._generation, epoch)}
                acks = self._acks[epoch]
            sightings = sightings_of(rows)
            batch = RoutedBatch(received, sightings, statuses, to_ack, rejected, filtered)
            events.deliver(batch, acks)
        elif kind == "connected":
            self._backoff.reset()
            events.connected(message[1])
        elif kind == "subscribed":
            events.subscribed(message[1])
        elif kind == "lost":
            events.lost(message[1], message[2])
        elif kind == "failed":
            events.failed(message[1])
        elif kind == "disconnected":
            events.disconnected()
