"""The bounded queue between receipt and write, and the one thread that drains it.

Sources (MQTT callbacks, the demo feed, POST /api/packets) `offer` sightings; a full
queue drops the sighting and counts it, never silently. The worker takes up to
`batch_size` sightings, or whatever arrived within `batch_latency_s` of the first, and
hands them to the pipeline as one batch.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TypeVar

from meshlens.ingest.counters import IngestCounters
from meshlens.ingest.pipeline import Pipeline, Result
from meshlens.ingest.status import ObserverStatus
from meshlens.records import Clock, Sighting, SystemClock

log = logging.getLogger("meshlens.ingest")

# Told the results of an offered item once they are committed (MQTT acks QoS 1 then);
# statuses have no result, so their callback gets an empty sequence.
OnDone = Callable[[Sequence[Result]], None]


@dataclass(frozen=True, slots=True)
class _Item:
    sightings: Sequence[Sighting]
    future: Future[list[Result]] | None = None  # set when the sender waits for results
    done: OnDone | None = None
    status: ObserverStatus | None = None


_STOP = _Item(())


@dataclass(frozen=True, slots=True)
class _Task:
    """A function the worker runs between two batches (see `IngestWorker.call`)."""

    run: Callable[[], None]


T = TypeVar("T")


class IngestWorker:
    """Owns the pipeline's thread: batches sightings from a bounded queue."""

    def __init__(
        self,
        pipeline: Pipeline,
        *,
        capacity: int = 50_000,
        batch_size: int = 500,
        batch_latency_s: float = 0.05,
        clock: Clock | None = None,
        on_batch: Callable[[Sequence[Result]], None] | None = None,
    ) -> None:
        self.pipeline = pipeline
        self._queue: queue.Queue[_Item | _Task] = queue.Queue(maxsize=capacity)
        self._batch_size = batch_size
        self._latency_s = batch_latency_s
        self._clock = clock or SystemClock()
        self._on_batch = on_batch
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def counters(self) -> IngestCounters:
        """The pipeline's total counters."""
        return self.pipeline.counters

    @property
    def capacity(self) -> int:
        """Most sightings that may wait."""
        return self._queue.maxsize

    @property
    def depth(self) -> int:
        """Sightings waiting to be written."""
        return self._queue.qsize()

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

    def offer_status(
        self,
        status: ObserverStatus,
        counters: IngestCounters | None = None,
        *,
        done: OnDone | None = None,
        wait_s: float = 0.0,
    ) -> bool:
        """Queue an observer status message, like `offer`; applied in arrival order."""
        return self._put(_Item((), done=done, status=status), counters, wait_s)

    def _put(self, item: _Item, counters: IngestCounters | None, wait_s: float) -> bool:
        try:
            if wait_s > 0:
                self._queue.put(item, timeout=wait_s)
            else:
                self._queue.put_nowait(item)
        except queue.Full:
            self.pipeline.counters.dropped()
            if counters is not None:
                counters.dropped()
            return False
        return True

    def submit(self, sightings: Sequence[Sighting]) -> Future[list[Result]]:
        """Queue sightings whose results the caller wants (POST /api/packets); waits for room."""
        future: Future[list[Result]] = Future()
        self._queue.put(_Item(list(sightings), future))
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

        self._queue.put(_Task(task))
        return future

    def start(self) -> None:
        """Start the worker thread (idempotent)."""
        with self._lock:
            if self._thread is not None:
                return
            self._thread = threading.Thread(target=self._run, name="ingest", daemon=True)
            self._thread.start()

    def stop(self, timeout_s: float = 30.0) -> None:
        """Write everything already queued, then stop (safe twice, safe before start)."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is None:
            return
        self._queue.put(_STOP)
        thread.join(timeout_s)
        if thread.is_alive():
            log.error("ingest worker did not finish within %.0f s", timeout_s)

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is _STOP:
                return
            items = [first]
            deadline = self._clock.monotonic_s() + self._latency_s
            while len(items) < self._batch_size:
                remaining = deadline - self._clock.monotonic_s()
                try:
                    item = (
                        self._queue.get(timeout=max(remaining, 0.0))
                        if remaining > 0
                        else (self._queue.get_nowait())
                    )
                except queue.Empty:
                    break
                if item is _STOP:
                    stopping = True
                    break
                items.append(item)
            self._process_in_order(items)

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
        waiters: list[tuple[int, int, Future[list[Result]]]] = []
        told: list[tuple[int, int, OnDone]] = []
        statuses: list[_Item] = []
        for item in items:
            if item.status is not None:
                statuses.append(item)
                continue
            start = len(sightings)
            sightings.extend(item.sightings)
            if item.future is not None:
                waiters.append((start, len(sightings), item.future))
            if item.done is not None:
                told.append((start, len(sightings), item.done))
        if statuses:
            self._apply_statuses(statuses)
        try:
            results = self.pipeline.process(sightings)
        except Exception as err:  # the thread must survive anything one batch does
            log.exception("ingest batch of %d sightings failed", len(sightings))
            for _, _, future in waiters:
                future.set_exception(err)
            return
        for start, end, future in waiters:
            future.set_result(results[start:end])
        for start, end, done in told:
            _tell(done, results[start:end])
        if self._on_batch is not None:
            self._on_batch(results)

    def _apply_statuses(self, items: list[_Item]) -> None:
        try:
            self.pipeline.apply_statuses([item.status for item in items if item.status])
        except Exception:  # as for sightings: count nothing as done, keep the thread
            log.exception("writing %d observer status messages failed", len(items))
            return
        for item in items:
            if item.done is not None:
                _tell(item.done, ())


def _tell(done: OnDone, results: Sequence[Result]) -> None:
    """Call a sender's callback; what it raises is logged, never the worker's end."""
    try:
        done(results)
    except Exception:  # a source's bookkeeping must not stop the one writer
        log.exception("an ingest completion callback failed")
