"""Recomputer details beyond the numbered contract (see test_contract.py for those)."""

from __future__ import annotations

import logging
import threading

import pytest

from meshlens.recomputer import Outcome, Published, Recomputer, Rendered, render
from meshlens.records import FakeClock
from tests.recomputer.producers import RAISE, Scripted

WAIT_S = 10.0


def test_the_interval_and_jitter_are_checked(clock: FakeClock, produce: Scripted) -> None:
    with pytest.raises(ValueError, match="interval_s"):
        Recomputer("a", produce, interval_s=0, clock=clock)
    with pytest.raises(ValueError, match="jitter_s"):
        Recomputer("a", produce, interval_s=10, jitter_s=10, clock=clock)


def test_refresh_for_newer_data_queues_one_compute_behind_the_one_in_flight(
    clock: FakeClock, produce: Scripted
) -> None:
    r = Recomputer("a", produce, interval_s=300, clock=clock)
    r.start()
    gate = produce.hold()
    produce.entered.clear()
    in_flight = r.refresh()
    assert produce.entered.wait(WAIT_S)
    newer = [r.refresh(join_in_flight=False) for _ in range(3)]
    assert newer[0] is not in_flight and all(f is newer[0] for f in newer)
    gate.set()
    assert newer[0].result(WAIT_S) is Outcome.PUBLISHED
    assert produce.calls == 3  # the first, the one in flight, and one for all three asks
    r.stop()


def test_refresh_runs_inline_before_start_and_is_cancelled_after_stop(
    clock: FakeClock, produce: Scripted
) -> None:
    r = Recomputer("a", produce, interval_s=300, clock=clock)
    done = r.refresh()
    assert done.done() and done.result() is Outcome.PUBLISHED
    r.stop()
    assert r.refresh().cancelled()


def test_a_compute_cut_short_by_stop_is_not_a_failure(
    clock: FakeClock, produce: Scripted, caplog: pytest.LogCaptureFixture
) -> None:
    # At shutdown the runner is stopped under computes in flight, which then raise
    # (RunnerStoppedError, CancelledError): the process ending, nothing to report.
    caplog.set_level(logging.WARNING, logger="meshlens.recomputer")
    r = Recomputer("a", produce, interval_s=300, clock=clock)
    r.start()
    gate = produce.hold()
    produce.entered.clear()
    produce.script.append(RAISE)
    in_flight = r.refresh()
    assert produce.entered.wait(WAIT_S)
    r.stop(timeout_s=0)
    gate.set()
    assert in_flight.result(WAIT_S) is Outcome.KEPT
    assert r.stats().failures == 0 and r.load() is not None
    assert not [rec for rec in caplog.records if rec.levelno >= logging.WARNING]
    r.stop()


def test_refresh_ignores_an_unchanged_generation(clock: FakeClock, produce: Scripted) -> None:
    r = Recomputer("a", produce, interval_s=10, clock=clock, generation=lambda: 1)
    r.run_once()
    assert r.run_once() is Outcome.SKIPPED
    assert r.refresh().result() is Outcome.PUBLISHED


def test_a_failing_compute_is_retried_even_on_an_unchanged_generation(
    clock: FakeClock, produce: Scripted, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="meshlens.recomputer")
    r = Recomputer("a", produce, interval_s=10, clock=clock, generation=lambda: 1)
    r.run_once()
    produce.script.append(RAISE)
    assert r.run_once(force=True) is Outcome.FAILED
    assert r.run_once() is Outcome.PUBLISHED  # not SKIPPED: the last attempt failed
    assert r.run_once() is Outcome.SKIPPED
    assert any("recovered after 1 failures" in rec.getMessage() for rec in caplog.records)


def test_an_unchanged_generation_is_recomputed_once_the_snapshot_is_old_enough(
    clock: FakeClock, produce: Scripted
) -> None:
    r = Recomputer(
        "a", produce, interval_s=10, clock=clock, generation=lambda: 1, refresh_unchanged_after_s=30
    )
    r.run_once()
    clock.advance(20)
    assert r.run_once() is Outcome.SKIPPED
    clock.advance(10)
    assert r.run_once() is Outcome.PUBLISHED


def test_a_raising_generation_counts_as_a_failure(clock: FakeClock, produce: Scripted) -> None:
    def broken() -> int:
        raise OSError("store gone")

    r = Recomputer("a", produce, interval_s=10, clock=clock, generation=broken)
    assert r.run_once() is Outcome.FAILED
    assert produce.calls == 0 and r.stats().last_error == "OSError: store gone"


def test_a_failing_publish_sink_is_logged_and_the_snapshot_still_published(
    clock: FakeClock, produce: Scripted, caplog: pytest.LogCaptureFixture
) -> None:
    def sink(_: Published) -> None:
        raise ConnectionError("redis down")

    r = Recomputer("a", produce, interval_s=10, clock=clock, on_publish=sink)
    assert r.run_once() is Outcome.PUBLISHED
    assert r.load() is not None
    assert "publishing failed" in caplog.text


def test_skips_keep_the_snapshot_verified_so_it_is_not_stale(
    clock: FakeClock, produce: Scripted
) -> None:
    r = Recomputer(
        "a", produce, interval_s=10, clock=clock, generation=lambda: 1, max_staleness_s=25
    )
    r.run_once()
    for _ in range(5):
        clock.advance(10)
        assert r.run_once() is Outcome.SKIPPED
    stats = r.stats()
    assert not stats.stale and stats.unverified_s == 0
    assert stats.snapshot_age_s == pytest.approx(50)  # old bytes, but known current
    assert stats.generation == 1 and not stats.in_flight


def test_a_base_exception_propagates_and_frees_the_recomputer(clock: FakeClock) -> None:
    calls = [0]

    def produce() -> Rendered:
        calls[0] += 1
        if calls[0] == 1:
            raise KeyboardInterrupt
        return render(b"ok")

    r = Recomputer("a", produce, interval_s=10, clock=clock)
    with pytest.raises(KeyboardInterrupt):
        r.run_once()
    assert r.run_once() is Outcome.PUBLISHED


def test_start_without_waiting_returns_the_first_compute_future(
    clock: FakeClock, produce: Scripted
) -> None:
    gate = produce.hold()
    r = Recomputer("a", produce, interval_s=10, clock=clock)
    first = r.start(wait=False)
    assert not first.done() and r.load() is None
    gate.set()
    assert first.result(WAIT_S) is Outcome.PUBLISHED
    r.stop()
    assert not any(t.name == "recompute-a" for t in threading.enumerate())
