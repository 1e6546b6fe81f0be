"""OnDemandCache: bounded, single-flight, stale-while-revalidate, on one event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from meshlens.recomputer import (
    InlineRunner,
    OnDemandCache,
    Published,
    ThreadRunner,
    published_size,
    render,
    submitted,
)
from meshlens.records import FakeClock


def constant(value: bytes, calls: list[bytes] | None = None) -> Callable[[], Awaitable[bytes]]:
    async def compute() -> bytes:
        if calls is not None:
            calls.append(value)
        return value

    return compute


def test_least_recently_used_entry_goes_first_when_over_the_entry_limit(
    clock: FakeClock,
) -> None:
    async def scenario() -> None:
        cache: OnDemandCache[bytes] = OnDemandCache(
            ttl_s=60, size_of=len, max_entries=2, clock=clock
        )
        calls: list[bytes] = []
        await cache.get("a", constant(b"a", calls))
        await cache.get("b", constant(b"b", calls))
        await cache.get("a", constant(b"a", calls))  # a is now the most recent
        await cache.get("c", constant(b"c", calls))  # evicts b
        await cache.get("a", constant(b"a", calls))
        await cache.get("b", constant(b"b", calls))
        assert calls == [b"a", b"b", b"c", b"b"]
        assert cache.stats().evictions == 2

    asyncio.run(scenario())


def test_the_byte_limit_evicts_and_an_oversized_value_is_never_kept(clock: FakeClock) -> None:
    async def scenario() -> None:
        cache: OnDemandCache[bytes] = OnDemandCache(
            ttl_s=60, size_of=len, max_bytes=10, clock=clock
        )
        calls: list[bytes] = []
        for key in ("a", "b", "c"):
            await cache.get(key, constant(key.encode() * 4, calls))
        assert cache.stats().entries == 2 and cache.stats().bytes == 8
        await cache.get("big", constant(b"x" * 11, calls))
        await cache.get("big", constant(b"x" * 11, calls))
        assert calls.count(b"x" * 11) == 2  # served, never cached
        assert cache.stats().entries == 2

    asyncio.run(scenario())


def test_an_entry_past_ttl_and_stale_window_is_a_plain_miss(clock: FakeClock) -> None:
    async def scenario() -> None:
        cache: OnDemandCache[bytes] = OnDemandCache(
            ttl_s=10, stale_for_s=5, size_of=len, clock=clock
        )
        await cache.get("k", constant(b"old"))
        clock.advance(15)
        assert await cache.get("k", constant(b"new")) == b"new"  # waited, not stale
        assert cache.stats().stale == 0 and cache.stats().misses == 2

    asyncio.run(scenario())


def test_a_failed_compute_reaches_every_waiter_and_is_not_cached(clock: FakeClock) -> None:
    async def scenario() -> None:
        cache: OnDemandCache[bytes] = OnDemandCache(ttl_s=10, size_of=len, clock=clock)
        calls = []

        async def broken() -> bytes:
            calls.append(1)
            await asyncio.sleep(0)
            raise ValueError("bad shape")

        results = await asyncio.gather(
            *(cache.get("k", broken) for _ in range(3)), return_exceptions=True
        )
        assert all(isinstance(r, ValueError) for r in results)
        assert len(calls) == 1
        assert await cache.get("k", constant(b"ok")) == b"ok"
        assert cache.stats().errors == 1

    asyncio.run(scenario())


def test_a_failed_background_refresh_keeps_serving_the_stale_entry(clock: FakeClock) -> None:
    async def scenario() -> None:
        cache: OnDemandCache[bytes] = OnDemandCache(ttl_s=10, size_of=len, clock=clock)
        await cache.get("k", constant(b"old"))
        clock.advance(11)

        async def broken() -> bytes:
            raise ValueError("refresh failed")

        assert await cache.get("k", broken) == b"old"
        for _ in range(3):
            await asyncio.sleep(0)
        assert cache.stats().errors == 1
        assert await cache.get("k", constant(b"new")) == b"old"  # still stale, refreshing
        for _ in range(3):
            await asyncio.sleep(0)
        assert await cache.get("k", constant(b"unused")) == b"new"

    asyncio.run(scenario())


def test_a_reader_giving_up_does_not_cancel_the_shared_compute(clock: FakeClock) -> None:
    async def scenario() -> None:
        cache: OnDemandCache[bytes] = OnDemandCache(ttl_s=10, size_of=len, clock=clock)
        release = asyncio.Event()

        async def slow() -> bytes:
            await release.wait()
            return b"done"

        quitter = asyncio.ensure_future(cache.get("k", slow))
        stayer = asyncio.ensure_future(cache.get("k", slow))
        await asyncio.sleep(0)
        quitter.cancel()
        release.set()
        assert await stayer == b"done"
        with pytest.raises(asyncio.CancelledError):
            await quitter

    asyncio.run(scenario())


def test_readers_of_other_keys_never_wait_for_a_compute(clock: FakeClock) -> None:
    async def scenario() -> None:
        cache: OnDemandCache[bytes] = OnDemandCache(ttl_s=10, size_of=len, clock=clock)
        await cache.get("cached", constant(b"hit"))
        release = asyncio.Event()

        async def slow() -> bytes:
            await release.wait()
            return b"slow"

        pending = asyncio.ensure_future(cache.get("slow", slow))
        await asyncio.sleep(0)
        assert await cache.get("cached", constant(b"unused")) == b"hit"
        assert await cache.get("other", constant(b"other")) == b"other"
        assert not pending.done()
        release.set()
        assert await pending == b"slow"

    asyncio.run(scenario())


def test_submitted_runs_a_job_on_a_runner_and_sizes_published_values(clock: FakeClock) -> None:
    thread_runner = ThreadRunner()

    def job() -> Published:
        return Published.stamp(render(b"[1]"), computed_at_ms=0, generation=1, duration_s=0.0)

    async def scenario() -> None:
        cache: OnDemandCache[Published] = OnDemandCache(
            ttl_s=10, size_of=published_size, clock=clock
        )
        from_thread = await cache.get("t", submitted(thread_runner, job))
        inline = await cache.get("i", submitted(InlineRunner(), job))
        assert from_thread.body == inline.body == b"[1]"
        assert cache.stats().bytes == 2 * from_thread.size_bytes

    try:
        asyncio.run(scenario())
    finally:
        thread_runner.stop()
