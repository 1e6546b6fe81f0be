"""spec/recomputer.md, point by point: each test is named after the point it checks."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import gzip
import logging
import os
import threading
import time
from concurrent.futures import wait as wait_futures

import pytest

from meshlens.config.sections import AnalyticsSettings, RecomputeIntervals
from meshlens.recomputer import (
    ForkRunner,
    OnDemandCache,
    Outcome,
    Recomputer,
    RecomputerSet,
    Rendered,
    render,
    submitted,
)
from meshlens.records import FakeClock
from tests.recomputer.producers import NONE, RAISE, Scripted

WAIT_S = 10.0  # upper bound for waits on real threads; never reached when things work


def body(r: Recomputer) -> bytes:
    """The body of the recomputer's snapshot (which must exist)."""
    latest = r.load()
    assert latest is not None
    return latest.body


def test_point_1_start_runs_first_compute_before_returning(
    clock: FakeClock, produce: Scripted
) -> None:
    r = Recomputer("a", produce, interval_s=300, clock=clock)
    first = r.start()
    try:
        assert first.done()
        assert body(r) == b"call 1"
        again = r.start()  # a second start does nothing
        assert again is first
        assert produce.calls == 1
    finally:
        assert r.stop()


def test_point_2_recomputes_every_interval(clock: FakeClock, produce: Scripted) -> None:
    r = Recomputer("a", produce, interval_s=60, clock=clock)
    assert r.tick() is Outcome.PUBLISHED  # due at once when never run
    clock.advance(59.9)
    assert r.tick() is None
    clock.advance(0.1)
    assert r.tick() is Outcome.PUBLISHED
    assert body(r) == b"call 2"


def test_point_2_worker_recomputes_when_the_interval_has_passed(
    clock: FakeClock, produce: Scripted
) -> None:
    published = threading.Event()
    r = Recomputer("a", produce, interval_s=60, clock=clock, on_publish=lambda _: published.set())
    r.start()
    try:
        published.clear()
        clock.advance(59)
        r.wake()
        clock.advance(1)
        r.wake()
        assert published.wait(WAIT_S)
        assert r.stats().runs == 2
        assert body(r) == b"call 2"
    finally:
        r.stop()


def test_point_2_overrun_skips_ticks_and_never_queues(clock: FakeClock) -> None:
    slow = Scripted(clock, duration_s=350)  # each compute takes 3.5 intervals
    r = Recomputer("a", slow, interval_s=100, clock=clock)
    assert r.run_once() is Outcome.PUBLISHED
    # The three ticks missed during the compute collapse into one, due at once...
    assert r.tick() is Outcome.PUBLISHED
    slow.duration_s = 0
    assert r.tick() is Outcome.PUBLISHED
    # ...and then the cadence resumes: nothing more is owed.
    assert r.tick() is None
    assert slow.calls == 3
    assert r.stats().overruns == 2


def test_point_2_a_tick_during_a_compute_is_dropped_not_overlapped(
    clock: FakeClock, produce: Scripted
) -> None:
    r = Recomputer("a", produce, interval_s=10, clock=clock)
    gate = produce.hold()
    runner = threading.Thread(target=r.run_once)
    runner.start()
    assert produce.entered.wait(WAIT_S)
    clock.advance(30)
    assert r.tick() is Outcome.BUSY
    gate.set()
    runner.join(WAIT_S)
    assert produce.calls == 1
    assert produce.max_active == 1


def test_point_2_computes_never_overlap_under_concurrent_callers() -> None:
    produce = Scripted()
    r = Recomputer("a", produce, interval_s=0.001)
    r.start()
    callers = [
        threading.Thread(target=lambda: [r.run_once(force=True) for _ in range(50)]),
        threading.Thread(target=lambda: [r.tick() for _ in range(50)]),
        threading.Thread(target=lambda: [r.refresh().result() for _ in range(50)]),
    ]
    for t in callers:
        t.start()
    for t in callers:
        t.join(WAIT_S)
    r.stop()
    assert produce.calls > 50
    assert produce.max_active == 1


def test_point_3_load_never_blocks_and_snapshots_are_immutable(
    clock: FakeClock, produce: Scripted
) -> None:
    r = Recomputer("a", produce, interval_s=10, clock=clock)
    r.run_once()
    before = r.load()
    assert before is not None
    gate = produce.hold()
    runner = threading.Thread(target=lambda: r.run_once(force=True))
    runner.start()
    assert produce.entered.wait(WAIT_S)
    assert r.load() is before  # mid-compute: the previous snapshot, at once
    with pytest.raises(dataclasses.FrozenInstanceError):
        before.body = b"changed"  # type: ignore[misc]
    gate.set()
    runner.join(WAIT_S)
    assert r.load() is not before
    assert before.body == b"call 1"  # the old snapshot was replaced, never changed


def test_point_4_produce_runs_without_any_recomputer_lock(clock: FakeClock) -> None:
    seen: list[object] = []

    def produce() -> Rendered:
        # Each of these takes the recomputer's lock: they deadlock if produce held it.
        seen.extend([r.stats().in_flight, r.is_stale(), r.attempts_started(), r.load()])
        seen.append(r.refresh())  # joins the attempt in flight instead of deadlocking
        return render(b"ok")

    r = Recomputer("a", produce, interval_s=10, clock=clock)
    worker = threading.Thread(target=r.run_once)
    worker.start()
    worker.join(WAIT_S)
    assert not worker.is_alive()
    assert seen[0] is True
    assert body(r) == b"ok"


def test_point_5_a_raising_compute_keeps_the_previous_snapshot(
    clock: FakeClock, produce: Scripted
) -> None:
    r = Recomputer("a", produce, interval_s=10, clock=clock)
    r.run_once()
    kept = r.load()
    produce.script.extend([RAISE, NONE])
    assert r.run_once(force=True) is Outcome.FAILED
    assert r.load() is kept
    assert r.run_once(force=True) is Outcome.KEPT
    assert r.load() is kept


def test_point_5_none_before_any_snapshot_leaves_load_empty(
    clock: FakeClock, produce: Scripted
) -> None:
    produce.script.append(NONE)
    r = Recomputer("a", produce, interval_s=10, clock=clock)
    assert r.run_once() is Outcome.KEPT
    assert r.load() is None


def test_point_6_stats_count_runs_and_the_last_duration(clock: FakeClock) -> None:
    produce = Scripted(clock, duration_s=2.5)
    r = Recomputer("a", produce, interval_s=10, clock=clock)
    r.run_once()
    r.run_once(force=True)
    stats = r.stats()
    assert stats.runs == 2
    assert stats.last_duration_s == pytest.approx(2.5)
    latest = r.load()
    assert latest is not None
    assert latest.duration_s == pytest.approx(2.5)


def test_point_7_stop_before_start_returns_at_once_and_twice_is_safe(
    clock: FakeClock, produce: Scripted
) -> None:
    r = Recomputer("a", produce, interval_s=10, clock=clock)
    started = time.monotonic()
    assert r.stop()
    assert r.stop()
    assert time.monotonic() - started < 1.0  # the reference system waited its full 5 s
    assert r.start().cancelled()  # a stopped recomputer stays stopped
    assert produce.calls == 0


def test_point_7_stop_ends_the_worker_and_is_bounded(clock: FakeClock, produce: Scripted) -> None:
    r = Recomputer("a", produce, interval_s=10, clock=clock)
    r.start()
    assert r.stop()
    assert r.stop()
    assert not any(t.name == "recompute-a" for t in threading.enumerate())

    stuck = Scripted(clock)
    gate = stuck.hold()
    r2 = Recomputer("b", stuck, interval_s=10, clock=clock)
    r2.start(wait=False)
    assert stuck.entered.wait(WAIT_S)
    started = time.monotonic()
    assert r2.stop(timeout_s=0.05) is False  # still computing: bounded wait, then report
    assert time.monotonic() - started < 1.0
    gate.set()
    assert r2.stop(timeout_s=WAIT_S)


def test_point_8_intervals_come_from_config_and_missing_or_zero_mean_the_default(
    clock: FakeClock,
) -> None:
    # meshlens.config resolves the keys (tests/config covers every rule); the set takes
    # whatever interval and staleness limit it resolves, per analytic.
    analytics = AnalyticsSettings(
        default_interval_s=120, recompute_intervals=RecomputeIntervals(rf=60, topology=None)
    )
    rs = RecomputerSet(clock=clock)
    for name in ("rf", "topology", "hashCollisions"):
        rs.add(
            name,
            Scripted(clock),
            interval_s=analytics.interval_s(name),
            max_staleness_s=analytics.staleness_limit_s(name),
        )
    assert [(s.name, s.interval_s) for s in rs.stats()] == [
        ("rf", 60),
        ("topology", 120),
        ("hashCollisions", 120),
    ]
    assert rs["rf"].max_staleness_s == 180
    assert AnalyticsSettings().interval_s("roles") == 300
    with pytest.raises(ValueError, match="interval_s must be > 0"):
        Recomputer("a", Scripted(clock), interval_s=0, clock=clock)


def test_point_9_only_the_default_shape_is_precomputed(clock: FakeClock, produce: Scripted) -> None:
    r = Recomputer("rf", produce, interval_s=10, clock=clock)  # produce takes no query
    r.run_once()
    cache: OnDemandCache[bytes] = OnDemandCache(ttl_s=60, size_of=len, clock=clock)

    async def filtered(region: str) -> bytes:
        async def compute() -> bytes:
            return f"rf for {region}".encode()

        return await cache.get(("rf", region), compute)

    assert asyncio.run(filtered("SJC")) == b"rf for SJC"
    assert produce.calls == 1  # the filtered shape never went through the recomputer
    assert body(r) == b"call 1"


def test_point_10_starting_the_set_twice_returns_a_usable_stop_handle(clock: FakeClock) -> None:
    producers = [Scripted(clock) for _ in range(3)]
    rs = RecomputerSet(clock=clock)
    for i, p in enumerate(producers):
        rs.add(f"r{i}", p, interval_s=60)
    stop_first = rs.start()
    stop_again = rs.start()
    assert [p.calls for p in producers] == [1, 1, 1]
    assert stop_again()  # the second handle really stops the set
    assert not any(t.name.startswith("recompute-r") for t in threading.enumerate())
    assert stop_first()  # and calling a handle twice is harmless


def test_point_11_snapshots_are_bytes_with_etag_and_gzip(clock: FakeClock) -> None:
    big = b'{"rows": [' + b",".join(b'{"n": %d}' % i for i in range(2000)) + b"]}"
    r = Recomputer("a", lambda: render(big), interval_s=10, clock=clock)
    r.run_once()
    latest = r.load()
    assert latest is not None
    assert latest.body is big  # served as stored: no re-encoding on read
    assert latest.etag.startswith('"') and latest.etag.endswith('"')  # strong, quoted
    assert latest.etag == render(big).etag  # same bytes, same tag
    assert latest.gzip_body is not None and gzip.decompress(latest.gzip_body) == big
    assert latest.computed_at_ms == clock.now_ms()
    clock.advance(7)
    assert latest.age_s(clock.now_ms()) == pytest.approx(7)
    assert render(b"{}").gzip_body is None  # too small for gzip to help


def test_point_12_failures_are_logged_rate_limited_counted_and_staleness_flagged(
    clock: FakeClock, produce: Scripted, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="meshlens.recomputer")
    r = Recomputer("a", produce, interval_s=10, clock=clock, max_staleness_s=25)
    r.run_once()
    success_ms = clock.now_ms()
    produce.script.extend([RAISE] * 4)
    for _ in range(3):
        clock.advance(10)
        assert r.run_once(force=True) is Outcome.FAILED
    failures = [rec for rec in caplog.records if "failed" in rec.getMessage()]
    assert len(failures) == 1  # the next two fell within the rate limit
    assert failures[0].exc_info is not None  # with its traceback
    stats = r.stats()
    assert (stats.failures, stats.consecutive_failures) == (3, 3)
    assert stats.last_error == "RuntimeError: scripted failure on call 4"
    assert stats.last_success_ms == success_ms
    assert stats.snapshot_age_s == pytest.approx(30)
    assert stats.stale and r.is_stale()
    clock.advance(60)
    r.run_once(force=True)
    failures = [rec for rec in caplog.records if "failed" in rec.getMessage()]
    assert len(failures) == 2
    assert "2 similar not logged" in failures[1].getMessage()
    r.run_once(force=True)
    assert not r.is_stale()
    assert r.stats().consecutive_failures == 0


def test_point_13_gate_lifts_only_after_a_pass_over_the_loaded_store(clock: FakeClock) -> None:
    loaded = threading.Event()
    seen_loaded: dict[str, bool] = {}

    def analytic(name: str) -> Rendered:
        seen_loaded[name] = loaded.is_set()
        return render(f"{name} loaded={loaded.is_set()}".encode())

    rs = RecomputerSet(clock=clock, force_ready_after_s=None)
    for name in ("rf", "topology", "roles"):
        rs.add(name, functools.partial(analytic, name), interval_s=300)
    rs.start()
    assert not rs.ready()  # first passes ran on a partial store: not servable
    assert seen_loaded == {"rf": False, "topology": False, "roles": False}
    loaded.set()
    futures = rs.mark_loaded()  # the end of loading triggers the pass at once
    wait_futures(futures, timeout=WAIT_S)
    assert rs.ready()
    assert seen_loaded == {"rf": True, "topology": True, "roles": True}
    assert body(rs["rf"]) == b"rf loaded=True"
    rs.stop()


def test_point_13_a_compute_in_flight_at_load_end_does_not_lift_the_gate(
    clock: FakeClock,
) -> None:
    produce = Scripted(clock)
    rs = RecomputerSet(clock=clock, force_ready_after_s=None)
    rs.add("rf", produce, interval_s=300)
    rs.start()
    gate = produce.hold()
    produce.entered.clear()
    in_flight = rs["rf"].refresh()  # started before the load ends
    assert produce.entered.wait(WAIT_S)
    futures = rs.mark_loaded()
    gate.set()
    in_flight.result(WAIT_S)
    wait_futures(futures, timeout=WAIT_S)
    assert produce.calls == 3  # the in-flight one did not count: one more ran after it
    assert rs.ready()
    rs.stop()


def test_point_14_first_ticks_are_staggered_and_intervals_jittered(clock: FakeClock) -> None:
    rs = RecomputerSet(clock=clock, jitter_fraction=0.1)
    members = [rs.add(f"r{i}", Scripted(clock), interval_s=100) for i in range(4)]
    rs.start()
    firsts = [m.next_due_in_s() for m in members]
    assert firsts == pytest.approx([25, 50, 75, 100])
    rs.stop()

    import random

    r = Recomputer(
        "a", Scripted(clock), interval_s=100, clock=clock, jitter_s=10, rng=random.Random(7)
    )
    gaps = []
    for _ in range(20):
        r.run_once(force=True)
        gaps.append(r.next_due_in_s())
    assert all(90 <= g <= 110 for g in gaps)
    assert len(set(gaps)) > 10


def test_point_15_an_unchanged_generation_skips_the_tick_and_counts_it(
    clock: FakeClock, produce: Scripted
) -> None:
    generation = [7]
    r = Recomputer("a", produce, interval_s=10, clock=clock, generation=lambda: generation[0])
    assert r.tick() is Outcome.PUBLISHED
    clock.advance(10)
    assert r.tick() is Outcome.SKIPPED
    assert produce.calls == 1 and r.stats().skipped == 1
    generation[0] = 8
    clock.advance(10)
    assert r.tick() is Outcome.PUBLISHED
    latest = r.load()
    assert latest is not None and latest.generation == 8


def test_point_16_refresh_asks_for_an_immediate_recompute(
    clock: FakeClock, produce: Scripted
) -> None:
    r = Recomputer("a", produce, interval_s=300, clock=clock)
    r.start()
    try:
        produce.done.clear()
        assert r.refresh().result(WAIT_S) is Outcome.PUBLISHED  # no need to wait 300 s
        assert body(r) == b"call 2"
    finally:
        r.stop()


def test_point_16_refresh_joins_a_compute_already_in_flight(
    clock: FakeClock, produce: Scripted
) -> None:
    r = Recomputer("a", produce, interval_s=300, clock=clock)
    gate = produce.hold()
    running = threading.Thread(target=r.run_once)
    running.start()
    assert produce.entered.wait(WAIT_S)
    joined = [r.refresh() for _ in range(5)]
    assert all(f is joined[0] for f in joined)
    gate.set()
    assert joined[0].result(WAIT_S) is Outcome.PUBLISHED
    running.join(WAIT_S)
    assert produce.calls == 1


def test_point_17_filtered_shapes_single_flight_and_stale_while_revalidate(
    clock: FakeClock,
) -> None:
    calls = []

    async def scenario() -> None:
        cache: OnDemandCache[bytes] = OnDemandCache(ttl_s=60, size_of=len, clock=clock)
        release = asyncio.Event()

        async def compute() -> bytes:
            calls.append(1)
            await release.wait()
            return b"v%d" % len(calls)

        waiters = [asyncio.ensure_future(cache.get("SJC|24h", compute)) for _ in range(10)]
        await asyncio.sleep(0)
        release.set()
        assert await asyncio.gather(*waiters) == [b"v1"] * 10
        assert len(calls) == 1  # ten requests, one compute
        clock.advance(61)
        assert await cache.get("SJC|24h", compute) == b"v1"  # stale, served at once
        assert await cache.get("SJC|24h", compute) == b"v1"  # refresh already running
        for _ in range(3):
            await asyncio.sleep(0)
        assert len(calls) == 2  # one background refresh
        assert await cache.get("SJC|24h", compute) == b"v2"
        stats = cache.stats()
        assert (stats.misses, stats.joins, stats.stale, stats.hits) == (1, 9, 2, 1)

    asyncio.run(scenario())


def _where_and_how_nice() -> tuple[int, int]:
    return os.getpid(), os.getpriority(os.PRIO_PROCESS, 0)


def test_point_18_computes_run_in_another_process_at_lower_priority() -> None:
    runner = ForkRunner(niceness=5)
    heartbeats = 0

    async def scenario() -> tuple[int, int]:
        nonlocal heartbeats
        compute = submitted(runner, _where_and_how_nice)
        task = asyncio.ensure_future(compute())
        while not task.done():  # the event loop keeps serving while the child computes
            heartbeats += 1
            await asyncio.sleep(0.001)
        return task.result()

    try:
        pid, nice = asyncio.run(scenario())
    finally:
        runner.stop()
    assert pid != os.getpid()
    assert nice == min(19, os.getpriority(os.PRIO_PROCESS, 0) + 5)
    assert heartbeats >= 1


def test_point_19_a_fake_clock_and_manual_ticks_drive_everything(
    clock: FakeClock, produce: Scripted
) -> None:
    generation = [1]
    r = Recomputer("a", produce, interval_s=300, clock=clock, generation=lambda: generation[0])
    started = time.monotonic()
    outcomes = []
    for hour in range(12):  # an hour of ticks in fake time
        generation[0] += hour % 2
        outcomes.append(r.tick())
        clock.advance(300)
    assert time.monotonic() - started < 1.0
    assert outcomes.count(Outcome.PUBLISHED) == 7
    assert outcomes.count(Outcome.SKIPPED) == 5


def test_load_is_never_none_after_start_while_recomputing_every_few_ms() -> None:
    produce = Scripted()
    published = [0]
    enough = threading.Event()

    def count(_: object) -> None:
        published[0] += 1
        if published[0] >= 20:
            enough.set()

    r = Recomputer("a", produce, interval_s=0.002, on_publish=count)
    r.start()
    loads = [0] * 4
    empty = [0] * 4

    def reader(i: int) -> None:
        while not enough.is_set():
            loads[i] += 1
            empty[i] += r.load() is None

    readers = [threading.Thread(target=reader, args=(i,)) for i in range(4)]
    for t in readers:
        t.start()
    assert enough.wait(WAIT_S)
    for t in readers:
        t.join(WAIT_S)
    r.stop()
    assert sum(empty) == 0
    assert min(loads) > 0
    assert r.stats().runs >= 20
