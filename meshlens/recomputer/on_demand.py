"""A bounded, single-flight cache for the shapes nobody precomputes (region, time window).

Concurrent requests for the same key wait for one compute; an entry past its TTL is
served stale while one background refresh runs; entries are evicted least recently used
when there are too many or they hold too many bytes. The cache lives on one asyncio event
loop and is not thread-safe: every method must run on that loop, which is why it needs
no lock and a reader never waits for anything but an in-flight compute of its own key.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Generic, TypeVar

from meshlens.recomputer.published import Published
from meshlens.recomputer.runners import Runner
from meshlens.records import Clock, SystemClock

logger = logging.getLogger("meshlens.recomputer")

V = TypeVar("V")
Compute = Callable[[], Awaitable[V]]


def published_size(value: Published) -> int:
    """What a Published costs the cache: its bytes."""
    return value.size_bytes


def submitted(runner: Runner, job: Callable[[], V]) -> Compute[V]:
    """A cache compute that runs `job` on `runner` and awaits it without blocking the loop."""

    async def compute() -> V:
        future: Future[V] = runner.submit(job)
        return await asyncio.wrap_future(future)

    return compute


@dataclass(frozen=True, slots=True)
class OnDemandStats:
    """Counters of one OnDemandCache."""

    hits: int
    misses: int
    stale: int  # served past TTL while a refresh ran
    joins: int  # waited for another request's compute of the same key
    errors: int
    evictions: int
    entries: int
    bytes: int


@dataclass(slots=True)
class _Entry(Generic[V]):
    value: V
    stored_s: float
    size: int


class OnDemandCache(Generic[V]):
    """A bounded TTL cache with single-flight and stale-while-revalidate, for one event loop."""

    def __init__(
        self,
        *,
        ttl_s: float,
        size_of: Callable[[V], int],
        max_entries: int = 256,
        max_bytes: int = 64 << 20,
        stale_for_s: float | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._ttl_s = ttl_s
        # Past ttl + stale_for the entry is too old to serve even once: a plain miss.
        self._stale_for_s = ttl_s if stale_for_s is None else stale_for_s
        self._size_of = size_of
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self._clock: Clock = clock if clock is not None else SystemClock()
        self._entries: OrderedDict[Hashable, _Entry[V]] = OrderedDict()
        self._inflight: dict[Hashable, asyncio.Task[V]] = {}
        self._bytes = 0
        self._hits = self._misses = self._stale = self._joins = self._errors = 0
        self._evictions = 0

    async def get(self, key: Hashable, compute: Compute[V]) -> V:
        """The value for `key`: cached, stale (refreshing behind), or computed once for all."""
        entry = self._entries.get(key)
        if entry is not None:
            age_s = self._clock.monotonic_s() - entry.stored_s
            if age_s < self._ttl_s:
                self._hits += 1
                self._entries.move_to_end(key)
                return entry.value
            if age_s < self._ttl_s + self._stale_for_s:
                self._stale += 1
                self._entries.move_to_end(key)
                if key not in self._inflight:
                    self._spawn(key, compute)
                return entry.value
            self._forget(key)
        task = self._inflight.get(key)
        if task is None:
            self._misses += 1
            task = self._spawn(key, compute)
        else:
            self._joins += 1
        # shield: one caller giving up (client gone) must not cancel the others' compute.
        return await asyncio.shield(task)

    def _spawn(self, key: Hashable, compute: Compute[V]) -> asyncio.Task[V]:
        async def run() -> V:
            value = await compute()
            self._store(key, value)
            return value

        task = asyncio.ensure_future(run())
        self._inflight[key] = task
        task.add_done_callback(lambda done: self._done(key, done))
        return task

    def _done(self, key: Hashable, task: asyncio.Task[V]) -> None:
        if self._inflight.get(key) is task:
            del self._inflight[key]
        if task.cancelled():
            return
        exc = task.exception()  # also marks it retrieved when every waiter has gone
        if exc is not None:
            self._errors += 1
            logger.warning("on-demand compute of %r failed: %s", key, exc)

    def _store(self, key: Hashable, value: V) -> None:
        size = self._size_of(value)
        self._forget(key)
        if size > self._max_bytes:  # would evict everything else and still not fit
            return
        self._entries[key] = _Entry(value, self._clock.monotonic_s(), size)
        self._bytes += size
        while len(self._entries) > self._max_entries or self._bytes > self._max_bytes:
            _, evicted = self._entries.popitem(last=False)
            self._bytes -= evicted.size
            self._evictions += 1

    def _forget(self, key: Hashable) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._bytes -= entry.size

    def stats(self) -> OnDemandStats:
        """A copy of the counters."""
        return OnDemandStats(
            hits=self._hits,
            misses=self._misses,
            stale=self._stale,
            joins=self._joins,
            errors=self._errors,
            evictions=self._evictions,
            entries=len(self._entries),
            bytes=self._bytes,
        )
