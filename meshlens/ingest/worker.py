"""The bounded queue between receipt and write, and the one thread that drains it.

Sources (MQTT links, the demo feed, POST /api/packets) `offer` sightings, one at a time
or a whole received batch in one call; a full queue drops what was offered and counts
it, never silently. The worker takes `batch_size` sightings, or whatever arrived within
`batch_latency_s` of the first, and hands them to the pipeline as one batch; when more
are already waiting than that (a backlog), it takes up to `backlog_batch_size` at once,
because each batch has a fixed cost (mostly its write transaction) that a backlog need
not pay every 500 sightings.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Protocol, TypeVar

from meshlens.cpus import move_thread
from meshlens.ingest.counters import IngestCounters
from meshlens.ingest.outcome import Result
from meshlens.ingest.status import ObserverStatus
from meshlens.priority import lower_thread_priority
from meshlens.records import Clock, Sighting, SystemClock

log = logging.getLogger("meshlens.ingest")

# Told the results of an offered item's sightings once they (and its statuses) are
# committed (MQTT acks QoS 1 then); a status alone has no result: an empty sequence.
OnDone = Callable[[Sequence[Result]], None]

# A backlog is written in batches of up to this many sightings: big enough that the
# per-batch cost stops mattering (docs/benchmarks.md, "Live MQTT ingest"), small enough
# that one batch holds the store's writer for well under a second.
BACKLOG_BATCH_SIZE = 20_000


@dataclass(frozen=True, slots=True)
class _Item:
    sightings: Sequence[Sighting]
    future: Future[list[Result]] | None = None  # set when the sender waits for results
    done: OnDone | None = None
    statuses: Sequence[ObserverStatus] = ()

    @property
    def size(self) -> int:
        """Room this item takes in the queue: one per sighting and per status."""
        return len(self.sightings) + len(self.statuses)


_STOP = _Item(())


@dataclass(frozen=True, slots=True)
class _Task:
    """A function the worker runs between two batches (see `IngestWorker.call`)."""

    run: Callable[[], None]
    size: int = 0


T = TypeVar("T")


class BatchPipeline(Protocol):
    """What the worker hands its batches to: a Pipeline, or a PipelineProcess."""

    counters: IngestCounters

    def process(self, sightings: Sequence[Sighting]) -> list[Result]:
        """Store a batch; one Result per sighting, in order."""
        ...

    def apply_statuses(self, statuses: Sequence[ObserverStatus]) -> None:
        """Write observer status messages."""
        ...


class IngestWorker:
    """Owns the pipeline's thread: batches sightings from a bounded queue."""

    def __init__(
        self,
        pipeline: BatchPipeline,
        *,
        capacity: int = 50_000,
        batch_size: int = 500,
        batch_latency_s: float = 0.05,
        backlog_batch_size: int = BACKLOG_BATCH_SIZE,
        clock: Clock | None = None,
        on_batch: Callable[[Sequence[Result]], None] | None = None,
        niceness: int = 0,
        cpus: frozenset[int] | None = None,
    ) -> None:
        self.pipeline = pipeline
        # Added to the worker thread's niceness, and to that of the receipts feeding it
        # (mqtt.py): ingest yields the CPU to reads (docs/architecture.md, "Priorities").
        self.niceness = niceness
        # The CPUs of those threads (meshlens/cpus.py: never the busy loop's; None: any).
        self.cpus = cpus
        self._items: deque[_Item | _Task] = deque()
        self._waiting = 0  # sightings and statuses in `_items`
        self._capacity = capacity
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)  # the worker waits for items
        # Queued sightings that make waking the worker worth it: 1 while it waits for a
        # batch's first item, the rest of the batch while it gathers one. Waking it for
        # every offer cost the event loop a GIL handoff each (docs/benchmarks.md,
        # "Wake-ups").
        self._wake_at = 1
        self._room = threading.Condition(self._lock)  # senders wait for room
        self._batch_size = batch_size
        self._backlog_size = max(batch_size, backlog_batch_size)
        self._latency_s = batch_latency_s
        self._clock = clock or SystemClock()
        self._on_batch = on_batch
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    @property
    def counters(self) -> IngestCounters:
        """The pipeline's total counters."""
        return self.pipeline.counters

    @property
    def capacity(self) -> int:
        """Most sightings that may wait."""
        return self._capacity

    @property
    def batch_latency_s(self) -> float:
        """Longest the first sighting of a batch waits for the batch to fill."""
        return self._latency_s

    def set_batch_latency(self, seconds: float) -> None:
        """Change the batch latency; the batch being gathered keeps the deadline it has."""
        with self._lock:
            self._latency_s = seconds

    @property
    def depth(self) -> int:
        """Sightings (and statuses) waiting to be written."""
        return self._waiting

    def offer(
        self,
        sighting: Sighting,
        counters: IngestCounters | None = None,
        *,
        done: OnDone | None = None,
        wait_s: float = 0.0,
    ) -> bool:
        """Queue a sighting, waiting at most `wait_s` for room; False (and counted) when full."""
        return self._put(_Item((sighting,), done=done), counters, wait_s)

    def offer_batch(
        self,
        sightings: Sequence[Sighting],
        counters: IngestCounters | None = None,
        *,
        statuses: Sequence[ObserverStatus] = (),
        done: OnDone | None = None,
        wait_s: float = 0.0,
    ) -> bool:
        """Queue sightings and statuses received together, all or none, like `offer`.

        `done` is told once, with the sightings' results, after all of them are written.
        """
        return self._put(_Item(sightings, done=done, statuses=statuses), counters, wait_s)

    def offer_status(
        self,
        status: ObserverStatus,
        counters: IngestCounters | None = None,
        *,
        done: OnDone | None = None,
        wait_s: float = 0.0,
    ) -> bool:
        """Queue an observer status message, like `offer`; applied in arrival order."""
        return self._put(_Item((), done=done, statuses=(status,)), counters, wait_s)

    def _put(self, item: _Item, counters: IngestCounters | None, wait_s: float) -> bool:
        size = item.size
        with self._lock:
            if not self._has_room(size) and (
                wait_s <= 0 or not self._room.wait_for(lambda: self._has_room(size), wait_s)
            ):
                self.pipeline.counters.dropped(size)
                if counters is not None:
                    counters.dropped(size)
                return False
            self._append(item)
        return True

    def _has_room(self, size: int) -> bool:
        # An item larger than the whole queue still goes in when the queue is empty.
        return self._waiting + size <= self._capacity or self._waiting == 0

    def _append(self, item: _Item | _Task) -> None:
        """Queue an item (the lock held); wake the worker only when it has work to start."""
        self._items.append(item)
        self._waiting += item.size
        # Tasks and the stop run at their place in the queue as soon as they can.
        if self._waiting >= self._wake_at or not isinstance(item, _Item) or item is _STOP:
            self._arrived.notify()

    def submit(self, sightings: Sequence[Sighting]) -> Future[list[Result]]:
        """Queue sightings whose results the caller wants (POST /api/packets); waits for room."""
        future: Future[list[Result]] = Future()
        item = _Item(list(sightings), future)
        with self._lock:
            self._room.wait_for(lambda: self._has_room(item.size))
            self._append(item)
        return future

    def call(self, fn: Callable[[], T]) -> Future[T]:
        """Run `fn` on the worker thread between batches (retention swaps the store there).

        The store has one writer; a task queued here is that writer too, so it never runs
        in the middle of a batch that holds store row numbers.
        """
        future: Future[T] = Future()

        def task() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                future.set_result(fn())
            except BaseException as err:  # delivered to the caller, who decides
                future.set_exception(err)

        with self._lock:
            self._append(_Task(task))
        return future

    def start(self) -> None:
        """Start the worker thread (idempotent)."""
        with self._start_lock:
            if self._thread is not None:
                return
            self._thread = threading.Thread(target=self._run, name="ingest", daemon=True)
            self._thread.start()

    def stop(self, timeout_s: float = 30.0) -> None:
        """Write everything already queued, then stop (safe twice, safe before start)."""
        with self._start_lock:
            thread, self._thread = self._thread, None
        if thread is None:
            return
        with self._lock:
            self._append(_STOP)
        thread.join(timeout_s)
        if thread.is_alive():
            log.error("ingest worker did not finish within %.0f s", timeout_s)

    def _run(self) -> None:
        lower_thread_priority(self.niceness)
        move_thread(self.cpus)
        stopping = False
        while not stopping:
            items, stopping = self._take()
            self._process_in_order(items)

    def _take(self) -> tuple[list[_Item | _Task], bool]:
        """The next batch's items: at least one; whether a stop was among them."""
        items: list[_Item | _Task] = []
        size = 0
        deadline: float | None = None
        with self._lock:
            while True:
                if not self._items:
                    if deadline is None:  # nothing yet: wait as long as it takes
                        self._wake_at = 1
                        self._arrived.wait()
                        continue
                    # Some taken: wait for more until the batch is full or its time is up.
                    remaining = deadline - self._clock.monotonic_s()
                    if size >= self._batch_size or remaining <= 0:
                        break
                    self._wake_at = self._batch_size - size
                    self._arrived.wait(remaining)
                    continue
                item = self._items[0]
                if item is _STOP:
                    self._items.popleft()
                    return items, True
                # A backlog: take what already waits, up to the backlog size, no waiting.
                if items and size + item.size > self._backlog_size:
                    break
                self._items.popleft()
                self._waiting -= item.size
                items.append(item)
                size += item.size
                if deadline is None:
                    deadline = self._clock.monotonic_s() + self._latency_s
            self._room.notify_all()
        return items, False

    def _process_in_order(self, items: list[_Item | _Task]) -> None:
        """Batches of the items' sightings, with each task run at its place in the queue."""
        batch: list[_Item] = []
        for item in items:
            if isinstance(item, _Item):
                batch.append(item)
                continue
            if batch:
                self._process(batch)
                batch = []
            item.run()
        if batch:
            self._process(batch)

    def _process(self, items: list[_Item]) -> None:
        sightings: list[Sighting] = []
        statuses: list[ObserverStatus] = []
        waiters: list[tuple[int, int, Future[list[Result]]]] = []
        told: list[tuple[int, int, _Item]] = []
        for item in items:
            statuses.extend(item.statuses)
            start = len(sightings)
            sightings.extend(item.sightings)
            if item.future is not None:
                waiters.append((start, len(sightings), item.future))
            if item.done is not None:
                told.append((start, len(sightings), item))
        statuses_written = not statuses or self._apply_statuses(statuses)
        try:
            results = self.pipeline.process(sightings)
        except Exception as err:  # the thread must survive anything one batch does
            log.exception("ingest batch of %d sightings failed", len(sightings))
            for _, _, future in waiters:
                future.set_exception(err)
            return
        for start, end, future in waiters:
            future.set_result(results[start:end])
        for start, end, item in told:
            # An item is done only when all of it is written (a QoS 1 ack means that).
            if item.done is not None and (statuses_written or not item.statuses):
                _tell(item.done, results[start:end])
        if self._on_batch is not None:
            self._on_batch(results)

    def _apply_statuses(self, statuses: list[ObserverStatus]) -> bool:
        try:
            self.pipeline.apply_statuses(statuses)
        except Exception:  # as for sightings: count nothing as done, keep the thread
            log.exception("writing %d observer status messages failed", len(statuses))
            return False
        return True


def _tell(done: OnDone, results: Sequence[Result]) -> None:
    """Call a sender's callback; what it raises is logged, never the worker's end."""
    try:
        done(results)
    except Exception:  # a source's bookkeeping must not stop the one writer
        log.exception("an ingest completion callback failed")
