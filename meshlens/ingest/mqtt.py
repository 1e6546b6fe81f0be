"""Live MQTT sources: what each broker's connection is doing, and its messages offered to ingest.

A feed's receipt (an MQTT v5 link, routing and reconnecting: meshlens/ingest/mqtt_receipt.py)
runs on a thread of its own, or in a child process of its own (mqtt_process.py) so that
receiving and writing use two cores. Either way the feed keeps the connection's state
and the source's counters here, offers each received batch to the IngestWorker in one
call, and with `qos: 1` acknowledges a batch only once its write has committed, so with
a persistent session nothing the broker accepted is lost if meshlens dies.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from meshlens.config import MqttSource
from meshlens.cpus import move_thread
from meshlens.ingest.mqtt_process import ChildReceipt
from meshlens.ingest.mqtt_receipt import MIN_BACKOFF_S, Acks, Receipt, RoutedBatch
from meshlens.ingest.outcome import Result
from meshlens.ingest.routing import RoutingRules
from meshlens.ingest.source_counters import SourceCounters, SourceSnapshot
from meshlens.ingest.worker import IngestWorker
from meshlens.priority import lower_thread_priority
from meshlens.records import Clock, SystemClock

log = logging.getLogger("meshlens.mqtt")

# With QoS 1 a full queue makes the broker wait a moment rather than lose the message.
QOS1_WAIT_S = 1.0
_FAILURE_LOG_EVERY_S = 60.0


@dataclass(frozen=True, slots=True)
class ConnectionState:
    """A source's link to its broker, as /api/ingest/status reports it."""

    connected: bool = False
    subscribed: bool = False  # the broker acknowledged this connection's subscriptions
    connects: int = 0  # successful CONNACKs so far
    disconnects: int = 0
    failures: int = 0  # connection attempts that failed
    last_error: str | None = None
    since_ms: int | None = None  # when `connected` last changed
    session_present: bool = False  # the broker kept our session (persistent sessions)
    protocol_errors: int = 0  # connections dropped for a malformed or unexpected packet


class MqttFeed:
    """One configured MQTT source, offering what it receives to the ingest worker."""

    def __init__(
        self,
        source: MqttSource,
        rules: RoutingRules,
        *,
        clock: Clock | None = None,
        min_backoff_s: float = MIN_BACKOFF_S,
        child_process: bool = False,
    ) -> None:
        self.name = source.name
        self.source = source
        # The shared rules of §2.3 plus this source's own filter and default region.
        self.rules = replace(rules, iata_filter=frozenset(source.iata_filter), region=source.region)
        self._clock = clock or SystemClock()
        self.counters = SourceCounters(source.name, self._clock)
        self._state = ConnectionState()
        self._state_lock = threading.Lock()
        self._connected = threading.Condition()
        self._min_backoff_s = min_backoff_s
        self._child_process = child_process
        self._worker: IngestWorker | None = None
        self._receipt: Receipt | ChildReceipt | None = None
        self._thread: threading.Thread | None = None
        self._last_failure_log = -_FAILURE_LOG_EVERY_S
        self._wait_s = QOS1_WAIT_S if source.qos == 1 else 0.0
        self._gather_s = 0.0

    # --- the Feed protocol -------------------------------------------------------------

    def start(self, worker: IngestWorker) -> None:
        """Connect in the background; messages queue in `worker` from then on."""
        self._worker = worker
        if self._child_process:
            self._receipt = ChildReceipt(self.source, self.rules, self, self._min_backoff_s)
        else:
            self._receipt = Receipt(
                self.source, self.rules, self, clock=self._clock, min_backoff_s=self._min_backoff_s
            )
        self._receipt.set_gather(self._gather_s)
        self._thread = threading.Thread(
            target=self._run, args=(self._receipt, worker.niceness, worker.cpus),
            name=f"mqtt-{self.name}", daemon=True,
        )  # fmt: skip
        self._thread.start()

    @staticmethod
    def _run(receipt: Receipt | ChildReceipt, niceness: int, cpus: frozenset[int] | None) -> None:
        """The receipt's thread, at the worker's priority and on its CPUs (a receipt process
        inherits both)."""
        lower_thread_priority(niceness)
        move_thread(cpus)
        receipt.run()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Disconnect and stop reconnecting; returns once nothing more will be offered."""
        receipt, thread = self._receipt, self._thread
        if receipt is None or thread is None:
            return
        receipt.stop()
        thread.join(timeout_s)
        if thread.is_alive():
            log.error("mqtt source %s did not stop within %.0f s", self.name, timeout_s)

    @property
    def gather_s(self) -> float:
        """How long messages gather between reads (0: each is read as it arrives)."""
        return self._gather_s

    def set_gather(self, seconds: float) -> None:
        """Let messages gather this long between reads (Receipt.set_gather); 0: don't.

        A receipt in a child process is told too: each batch it sends wakes the server's
        relay thread.
        """
        self._gather_s = seconds
        receipt = self._receipt
        if receipt is not None:
            receipt.set_gather(seconds)

    # --- status ------------------------------------------------------------------------

    @property
    def state(self) -> ConnectionState:
        """The connection as it is now."""
        with self._state_lock:
            return self._state

    @property
    def receipt_pid(self) -> int | None:
        """The process id of this source's receipt process, when it runs in one."""
        receipt = self._receipt
        return receipt.pid if isinstance(receipt, ChildReceipt) else None

    def snapshot(self) -> SourceSnapshot:
        """This source's counters."""
        return self.counters.source_snapshot()

    def wait_subscribed(self, connects: int = 1, timeout_s: float = 30.0) -> bool:
        """Block until the source has connected `connects` times and is subscribed."""

        def ready() -> bool:
            state = self.state
            return state.subscribed and state.connects >= connects

        with self._connected:
            return self._connected.wait_for(ready, timeout_s)

    def _set_state(self, **changes: Any) -> None:
        with self._state_lock:
            self._state = replace(self._state, **changes)
        with self._connected:
            self._connected.notify_all()

    # --- ReceiptEvents: the connection's life ------------------------------------------

    def connected(self, session_present: bool) -> None:
        """CONNACK accepted."""
        with self._state_lock:
            connects = self._state.connects + 1
        self._set_state(
            connected=True, connects=connects, since_ms=self._clock.now_ms(),
            session_present=session_present, last_error=None,
        )  # fmt: skip

    def subscribed(self, refused: list[str]) -> None:
        """SUBACK arrived."""
        if refused:  # e.g. a broker without shared subscriptions, or an ACL
            log.error("mqtt source %s: subscription refused: %s", self.name, ", ".join(refused))
            self._set_state(last_error=f"subscription refused: {', '.join(refused)}")
        self._set_state(subscribed=True)
        log.info(
            "mqtt source %s: connected to %s, subscribed to %s%s",
            self.name, self.source.broker, ", ".join(self.source.topics),
            " (session resumed)" if self.state.session_present else "",
        )  # fmt: skip

    def lost(self, reason: str, protocol_error: bool) -> None:
        """An established connection failed."""
        with self._state_lock:
            errors = self._state.protocol_errors + protocol_error
        self._set_state(last_error=f"disconnected: {reason}", protocol_errors=errors)
        log.warning("mqtt source %s: connection lost (%s); reconnecting", self.name, reason)

    def failed(self, reason: str) -> None:
        """A connection attempt failed: counted, and logged at most once a minute."""
        with self._state_lock:
            failures = self._state.failures + 1
        self._set_state(failures=failures, last_error=reason)
        now = self._clock.monotonic_s()
        if now - self._last_failure_log >= _FAILURE_LOG_EVERY_S:
            self._last_failure_log = now
            log.warning(
                "mqtt source %s: cannot reach %s (%s); retrying every %g s at most",
                self.name, self.source.broker, reason, self.source.reconnect_max_s,
            )  # fmt: skip

    def disconnected(self) -> None:
        """The connection is closed."""
        was = self.state
        if not was.connected:
            return
        self._set_state(
            connected=False, subscribed=False, disconnects=was.disconnects + 1,
            since_ms=self._clock.now_ms(),
        )  # fmt: skip

    # --- ReceiptEvents: messages --------------------------------------------------------

    def deliver(self, batch: RoutedBatch, acks: Acks) -> None:
        """Count a routed batch and offer it to the worker in one call."""
        counters = self.counters
        counters.received(batch.received)
        for reason, where, detail in batch.rejected:
            counters.rejected(reason, where, detail)
        for reason in batch.filtered:
            counters.filtered(reason)
        sightings, statuses = batch.sightings, batch.statuses
        if not sightings and not statuses:
            acks.ack(batch.to_ack)
            return
        worker = self._worker
        assert worker is not None
        worker.offer_batch(
            sightings, counters, statuses=statuses,
            done=self._batch_done(acks, batch.to_ack, len(statuses)), wait_s=self._wait_s,
        )  # fmt: skip
        # Dropped (queue full): with QoS 1 it is not acknowledged, so the broker sends it
        # again after the next reconnect; with QoS 0 it is gone, and counted.

    def _batch_done(
        self, acks: Acks, to_ack: list[int], statuses: int
    ) -> Callable[[Sequence[Result]], None]:
        counters = self.counters

        def done(results: Sequence[Result]) -> None:
            counters.settle(results)
            if statuses:
                counters.status_applied(statuses)
            # `acks` is the connection the batch came on: once it has closed, its acks go
            # nowhere, and the broker redelivers those messages on the next connection.
            acks.ack(to_ack)

        return done


def mqtt_feeds(
    sources: Sequence[MqttSource], rules: RoutingRules, *, child_process: bool = False
) -> list[MqttFeed]:
    """One feed per configured source, each with the shared rules plus its own filters."""
    return [MqttFeed(source, rules, child_process=child_process) for source in sources]
