"""The recomputer: one result recomputed in the background, read with one attribute load.

A `Recomputer` calls a `produce()` callable on a cadence and publishes what it returns as
an immutable `Published`. Readers call `load()`, which never blocks. The primitive knows
nothing of analytics, HTTP, stores or runners: it takes callables, a clock and an interval
(the way dogpile's `Lock` takes a creator). Contract: docs/architecture.md and
spec/recomputer.md; every numbered point there has a test in tests/recomputer/.

Threading: one worker thread per started recomputer. At most one compute is in flight at
a time, whoever started it (the worker, `run_once`, `tick` or `refresh`); `self._lock`
guards the bookkeeping only and is never held while `produce` or `generation` runs.
"""

from __future__ import annotations

import enum
import logging
import random
import threading
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import wait as wait_futures

from meshlens.recomputer.published import Published, Rendered
from meshlens.recomputer.stats import FailureLog, RecomputerStats
from meshlens.records import Clock, SystemClock

logger = logging.getLogger("meshlens.recomputer")

Produce = Callable[[], Rendered | None]
Generation = Callable[[], int]


class Outcome(enum.Enum):
    """What one recompute attempt did."""

    PUBLISHED = "published"  # a new snapshot replaced the previous one
    KEPT = "kept"  # produce returned None: the previous snapshot stays
    FAILED = "failed"  # produce (or generation) raised: the previous snapshot stays
    SKIPPED = "skipped"  # the generation had not moved: nothing was computed
    BUSY = "busy"  # tick() found a compute in flight: the tick is dropped, not queued


class Recomputer:
    """Recomputes one result on a cadence and serves the latest with one attribute read."""

    def __init__(
        self,
        name: str,
        produce: Produce,
        *,
        interval_s: float,
        clock: Clock | None = None,
        jitter_s: float = 0.0,
        generation: Generation | None = None,
        max_staleness_s: float | None = None,
        refresh_unchanged_after_s: float | None = None,
        on_publish: Callable[[Published], None] | None = None,
        rng: random.Random | None = None,
        log_every_s: float = 60.0,
    ) -> None:
        if not interval_s > 0:
            raise ValueError(f"recomputer {name!r}: interval_s must be > 0, got {interval_s!r}")
        if not 0 <= jitter_s < interval_s:
            raise ValueError(f"recomputer {name!r}: jitter_s must be in [0, interval_s)")
        self.name = name
        self.interval_s = float(interval_s)
        self._produce = produce
        self._clock: Clock = clock if clock is not None else SystemClock()
        self._jitter_s = jitter_s
        self._generation = generation
        # None: three intervals, i.e. two recomputes in a row have failed or not run.
        self.max_staleness_s = max_staleness_s if max_staleness_s else 3 * self.interval_s
        # Results that read "now" change without the store changing; this bounds the skip.
        self._refresh_unchanged_after_s = refresh_unchanged_after_s
        self._on_publish = on_publish
        self._rng = rng if rng is not None else random.Random()
        self._failure_log = FailureLog(name, log_every_s)

        self._latest: Published | None = None
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._first: Future[Outcome] | None = None
        self._inflight: Future[Outcome] | None = None
        self._pending: Future[Outcome] | None = None  # a refresh the next attempt serves
        self._next_due_s = self._clock.monotonic_s()
        self._first_gap_s: float | None = None
        self._attempts = 0
        self._ok_attempt = 0  # number of the latest attempt that returned (not raised)
        self._runs = self._skipped = self._failures = self._consecutive = self._overruns = 0
        self._last_error: str | None = None
        self._last_duration_s: float | None = None
        self._last_success_ms: int | None = None
        self._verified_ms: int | None = None
        self._computed_generation: int | None = None
        self._computed_s = 0.0

    # --- reading ---------------------------------------------------------------------

    def load(self) -> Published | None:
        """The latest published snapshot, or None before the first success; never blocks."""
        return self._latest

    def is_stale(self) -> bool:
        """True when the snapshot has not been confirmed current for max_staleness_s."""
        verified = self._verified_ms
        if self._latest is None or verified is None:
            return False
        return (self._clock.now_ms() - verified) / 1000.0 > self.max_staleness_s

    def stats(self) -> RecomputerStats:
        """A consistent copy of the counters."""
        now_ms = self._clock.now_ms()
        latest = self._latest
        with self._lock:
            verified = self._verified_ms
            return RecomputerStats(
                name=self.name,
                interval_s=self.interval_s,
                runs=self._runs,
                skipped=self._skipped,
                failures=self._failures,
                consecutive_failures=self._consecutive,
                overruns=self._overruns,
                last_error=self._last_error,
                last_duration_s=self._last_duration_s,
                last_success_ms=self._last_success_ms,
                snapshot_age_s=latest.age_s(now_ms) if latest is not None else None,
                unverified_s=None if verified is None else max(0.0, (now_ms - verified) / 1000),
                stale=self.is_stale(),
                in_flight=self._inflight is not None,
                next_due_in_s=self._next_due_s - self._clock.monotonic_s(),
                generation=latest.generation if latest is not None else None,
            )

    def next_due_in_s(self) -> float:
        """Seconds until the next scheduled attempt (zero or less: due now)."""
        with self._lock:
            return self._next_due_s - self._clock.monotonic_s()

    def attempts_started(self) -> int:
        """How many attempts have started so far: a mark for `returned_since`."""
        with self._lock:
            return self._attempts

    def returned_since(self, mark: int) -> bool:
        """True once an attempt started after `mark` has returned without raising."""
        with self._lock:
            return self._ok_attempt > mark

    # --- lifecycle -------------------------------------------------------------------

    def start(
        self, *, wait: bool = True, first_tick_after_s: float | None = None
    ) -> Future[Outcome]:
        """Start the worker; its first compute runs at once and, with `wait`, before we return.

        Calling it again does nothing and returns the first compute's future. After the
        first compute the worker ticks every interval; `first_tick_after_s` replaces the
        first gap (RecomputerSet staggers members with it).
        """
        with self._lock:
            if self._first is not None:
                return self._first
            if self._stopping:  # stopped before it ever started: it stays stopped
                self._first = Future()
                self._first.cancel()
                return self._first
            first = self._pending if self._pending is not None else Future()
            self._pending = self._first = first
            self._first_gap_s = first_tick_after_s
            thread = threading.Thread(target=self._loop, name=f"recompute-{self.name}", daemon=True)
            self._thread = thread
        thread.start()
        if wait:
            wait_futures([first])
        return first

    def stop(self, timeout_s: float = 5.0) -> bool:
        """End the worker and wait for it (bounded); safe twice and before start.

        Returns False when the worker was still busy in a compute after `timeout_s`.
        """
        with self._lock:
            self._stopping = True
            thread = self._thread
            pending, self._pending = self._pending, None
        if pending is not None:
            pending.cancel()
        self._wake.set()
        if thread is None or thread is threading.current_thread():
            return True
        thread.join(timeout_s)
        return not thread.is_alive()

    def wake(self) -> None:
        """Make the worker re-read the clock now (tests advance a FakeClock, then wake)."""
        self._wake.set()

    # --- asking for computes -----------------------------------------------------------

    def refresh(self, *, join_in_flight: bool = True) -> Future[Outcome]:
        """Ask for an immediate recompute; the future resolves when it is done.

        A compute already in flight is joined rather than doubled. With
        `join_in_flight=False` the caller wants data newer than this call, so one more
        compute is queued behind the one in flight (several such calls share it).
        """
        with self._lock:
            if join_in_flight and self._inflight is not None:
                return self._inflight
            worker = self._thread is not None and not self._stopping
            if worker:
                if self._pending is None:
                    self._pending = Future()
                queued = self._pending
            elif self._stopping:
                queued = Future()
                queued.cancel()
                return queued
        if worker:
            self._wake.set()
            return queued
        done: Future[Outcome] = Future()
        done.set_result(self._run_now(force=True, join=join_in_flight))
        return done

    def run_once(self, *, force: bool = False) -> Outcome:
        """Run one attempt on the calling thread now; join the one in flight if any.

        Without `force` the attempt is change-aware (skipped when the generation has not
        moved), as a scheduled tick is.
        """
        return self._run_now(force=force, join=True)

    def tick(self) -> Outcome | None:
        """Run a scheduled attempt on the calling thread if one is due, else return None.

        A due tick that finds a compute in flight is dropped (BUSY), never queued.
        """
        with self._lock:
            if self._pending is None and self._clock.monotonic_s() < self._next_due_s:
                return None
            claimed = self._claim()
        if claimed is None:
            return Outcome.BUSY
        future, took_refresh = claimed
        return self._run_claimed(future, force=took_refresh)

    # --- internals ---------------------------------------------------------------------

    def _run_now(self, *, force: bool, join: bool) -> Outcome:
        while True:
            with self._lock:
                claimed = self._claim()
                other = self._inflight
            if claimed is not None:
                future, took_refresh = claimed
                return self._run_claimed(future, force=force or took_refresh)
            assert other is not None
            joined = other.result()
            if join:
                return joined

    def _claim(self) -> tuple[Future[Outcome], bool] | None:
        """Under the lock: make this caller the one attempt in flight, or return None."""
        if self._inflight is not None:
            return None
        future, took_refresh = self._pending, self._pending is not None
        self._pending = None
        if future is None or not future.set_running_or_notify_cancel():
            future = Future()
            future.set_running_or_notify_cancel()
        self._inflight = future
        self._attempts += 1
        return future, took_refresh

    def _run_claimed(self, future: Future[Outcome], *, force: bool) -> Outcome:
        started_s = self._clock.monotonic_s()
        try:
            outcome = self._attempt(force=force, started_s=started_s)
        except BaseException as exc:  # KeyboardInterrupt and the like: release, then re-raise
            self._release(started_s)
            future.set_exception(exc)
            raise
        self._release(started_s)
        future.set_result(outcome)
        return outcome

    def _attempt(self, *, force: bool, started_s: float) -> Outcome:
        started_ms = self._clock.now_ms()
        try:
            # Read before the compute: data appended meanwhile moves the generation, so
            # the next tick recomputes instead of wrongly skipping.
            generation = self._generation() if self._generation is not None else None
            if not force and self._unchanged(generation, started_s):
                with self._lock:
                    self._skipped += 1
                    self._verified_ms = started_ms
                return Outcome.SKIPPED
            rendered = self._produce()
        except Exception as exc:  # a failed compute keeps the previous snapshot (point 5)
            if self._stopping:  # its runner was stopped under it: the process is ending
                logger.debug("recompute %s ended by stop: %r", self.name, exc)
                return Outcome.KEPT
            self._record_failure(exc)
            return Outcome.FAILED
        duration_s = max(0.0, self._clock.monotonic_s() - started_s)
        published = None
        if rendered is not None:
            published = Published.stamp(
                rendered,
                computed_at_ms=started_ms,
                generation=generation if generation is not None else 0,
                duration_s=duration_s,
            )
            self._latest = published  # the one place a snapshot is swapped in
        self._record_success(generation, started_s, started_ms, duration_s)
        if published is not None and self._on_publish is not None:
            try:
                self._on_publish(published)
            except Exception:  # the sink's failure is not the compute's: log and go on
                logger.exception("recompute %s: publishing failed", self.name)
        return Outcome.PUBLISHED if published is not None else Outcome.KEPT

    def _unchanged(self, generation: int | None, now_s: float) -> bool:
        with self._lock:
            if generation is None or generation != self._computed_generation:
                return False
            if self._consecutive:  # retry a failing compute even on unchanged data
                return False
            limit = self._refresh_unchanged_after_s
            return limit is None or now_s - self._computed_s < limit

    def _record_success(
        self, generation: int | None, started_s: float, started_ms: int, duration_s: float
    ) -> None:
        with self._lock:
            recovered_after = self._consecutive
            self._runs += 1
            self._consecutive = 0
            self._overruns += duration_s > self.interval_s
            self._last_duration_s = duration_s
            self._last_success_ms = self._clock.now_ms()
            self._verified_ms = started_ms
            self._computed_generation = generation
            self._computed_s = started_s
            self._ok_attempt = self._attempts
        if recovered_after:
            self._failure_log.recovered(recovered_after)

    def _record_failure(self, exc: Exception) -> None:
        with self._lock:
            self._failures += 1
            self._consecutive += 1
            self._last_error = f"{type(exc).__name__}: {exc}"
            consecutive = self._consecutive
        self._failure_log.failed(exc, self._clock.monotonic_s(), consecutive)

    def _release(self, started_s: float) -> None:
        """Under the lock: end the attempt in flight and schedule the next tick."""
        with self._lock:
            self._inflight = None
            if self._first_gap_s is not None:
                gap, self._first_gap_s = self._first_gap_s, None
            else:
                gap = self.interval_s + self._rng.uniform(-self._jitter_s, self._jitter_s)
            # An overrun makes the next attempt due at once: ticks skipped, never queued.
            self._next_due_s = max(started_s + gap, self._clock.monotonic_s())
        self._wake.set()

    def _loop(self) -> None:
        while True:
            self._wake.clear()  # before reading state, so a later wake() is never lost
            with self._lock:
                if self._stopping:
                    return
                due_in_s = 0.0
                if self._pending is None:
                    due_in_s = self._next_due_s - self._clock.monotonic_s()
                claimed = self._claim() if due_in_s <= 0 else None
                other = self._inflight
            if due_in_s > 0:
                self._wake.wait(due_in_s)
            elif claimed is None:  # someone else's attempt is in flight: wait for it
                assert other is not None
                wait_futures([other])
            else:
                future, took_refresh = claimed
                try:
                    self._run_claimed(future, force=took_refresh)
                except Exception:  # a bug in the bookkeeping must not kill the worker
                    logger.exception("recompute %s: worker error", self.name)
