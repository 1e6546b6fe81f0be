"""A named set of recomputers started and stopped together, behind one readiness gate.

The set adds what one recomputer cannot know: where snapshots are published (a
`publish(name, Published)` sink, so a later deployment can publish to a shared store
instead of a dict), how first ticks are staggered and intervals jittered so members do
not all fire at once, and when the whole set may serve (the warm-up gate: not before the
store has finished loading and each member has computed over the complete store).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from concurrent.futures import wait as wait_futures

from meshlens.recomputer.published import Published
from meshlens.recomputer.recomputer import Generation, Outcome, Produce, Recomputer
from meshlens.recomputer.stats import RecomputerStats
from meshlens.records import Clock, SystemClock

PublishSink = Callable[[str, Published], None]
StopHandle = Callable[[], bool]


class SnapshotBoard:
    """An in-process publish sink: the latest snapshot per name, read with one dict lookup."""

    def __init__(self) -> None:
        self._latest: dict[str, Published] = {}

    def publish(self, name: str, published: Published) -> None:
        """Pin `published` as the latest for `name` (one atomic dict store)."""
        self._latest[name] = published

    def load(self, name: str) -> Published | None:
        """The latest snapshot for `name`, or None; never blocks."""
        return self._latest.get(name)


class RecomputerSet:
    """Recomputers started and stopped together, publishing through one sink."""

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        publish: PublishSink | None = None,
        jitter_fraction: float = 0.05,
        stagger: bool = True,
        force_ready_after_s: float | None = 60.0,
        rng: random.Random | None = None,
    ) -> None:
        self._clock: Clock = clock if clock is not None else SystemClock()
        self._publish = publish
        self._jitter_fraction = jitter_fraction
        self._stagger = stagger
        # A member whose compute keeps failing must not hold the API at 503 forever.
        self._force_ready_after_s = force_ready_after_s
        self._rng = rng if rng is not None else random.Random()
        self._lock = threading.Lock()
        self._members: dict[str, Recomputer] = {}
        self._started = False
        self._loaded_at_s: float | None = None
        self._load_marks: dict[str, int] = {}

    def add(
        self,
        name: str,
        produce: Produce,
        *,
        interval_s: float,
        generation: Generation | None = None,
        max_staleness_s: float | None = None,
        refresh_unchanged_after_s: float | None = None,
    ) -> Recomputer:
        """Create a member recomputer wired to this set's clock, jitter and sink."""
        with self._lock:
            if self._started:
                raise RuntimeError(f"recomputer {name!r} added after the set started")
            if name in self._members:
                raise ValueError(f"recomputer {name!r} added twice")
            member = Recomputer(
                name,
                produce,
                interval_s=interval_s,
                clock=self._clock,
                jitter_s=interval_s * self._jitter_fraction,
                generation=generation,
                max_staleness_s=max_staleness_s,
                refresh_unchanged_after_s=refresh_unchanged_after_s,
                on_publish=self._sink_for(name),
                rng=random.Random(self._rng.random()),
            )
            self._members[name] = member
            return member

    def _sink_for(self, name: str) -> Callable[[Published], None] | None:
        sink = self._publish
        if sink is None:
            return None
        return lambda published: sink(name, published)

    def __getitem__(self, name: str) -> Recomputer:
        return self._members[name]

    def __iter__(self) -> Iterator[Recomputer]:
        return iter(list(self._members.values()))

    def __len__(self) -> int:
        return len(self._members)

    # --- lifecycle -------------------------------------------------------------------

    def start(self, *, wait: bool = True, wait_timeout_s: float | None = None) -> StopHandle:
        """Start every member; with `wait`, return after their first computes.

        First computes run side by side (so a fork runner gathers them into one round);
        the following ticks are staggered across each member's interval. Starting twice
        does nothing more and returns the same usable stop handle.
        """
        with self._lock:
            first_time = not self._started
            self._started = True
            members = list(self._members.values())
        if first_time:
            futures = [
                member.start(wait=False, first_tick_after_s=self._first_gap(i, len(members)))
                for i, member in enumerate(members)
            ]
            if wait:
                wait_futures(futures, timeout=wait_timeout_s)
        return self.stop

    def _first_gap(self, index: int, count: int) -> float | None:
        """Member `index` first ticks at (index+1)/count of its interval: spread, never late."""
        if not self._stagger or count <= 1:
            return None
        member = list(self._members.values())[index]
        return member.interval_s * (index + 1) / count

    def stop(self, timeout_s: float = 5.0) -> bool:
        """Stop every member within one shared budget; safe twice and before start."""
        members = list(self._members.values())
        for member in members:  # signal all first, so their waits overlap
            member.stop(timeout_s=0)
        deadline = time.monotonic() + timeout_s
        clean = True
        for member in members:
            clean &= member.stop(timeout_s=max(0.0, deadline - time.monotonic()))
        return clean

    # --- readiness -------------------------------------------------------------------

    def mark_loaded(self) -> list[Future[Outcome]]:
        """The store holds everything now: recompute every member at once (decision 12).

        The gate lifts for a member when an attempt that started after this call has
        returned; a compute already in flight began on partial data and does not count.
        Returns the futures of those recomputes (empty when the set has not started yet:
        then the first computes at start are the ones that count). Idempotent.
        """
        with self._lock:
            if self._loaded_at_s is not None:
                return []
            members = list(self._members.values())
            self._load_marks = {m.name: m.attempts_started() for m in members}
            self._loaded_at_s = self._clock.monotonic_s()
            started = self._started
        if not started:
            return []
        return [member.refresh(join_in_flight=False) for member in members]

    @property
    def loaded(self) -> bool:
        """True once `mark_loaded` has been called."""
        return self._loaded_at_s is not None

    def is_ready(self, name: str) -> bool:
        """True when `name` may serve its default shape (otherwise: 503 + Retry-After)."""
        loaded_at = self._loaded_at_s
        if loaded_at is None:
            return False
        if self._members[name].returned_since(self._load_marks.get(name, 0)):
            return True
        limit = self._force_ready_after_s
        return limit is not None and self._clock.monotonic_s() - loaded_at >= limit

    def ready(self) -> bool:
        """True when every member is ready (and the store has loaded)."""
        return self.loaded and all(self.is_ready(name) for name in list(self._members))

    def stats(self) -> list[RecomputerStats]:
        """Each member's counters, in the order they were added."""
        return [member.stats() for member in list(self._members.values())]
