"""RecomputerSet details: the sink, the readiness gate's edges, staggering, lifecycle."""

from __future__ import annotations

from concurrent.futures import wait as wait_futures

import pytest

from meshlens.recomputer import Published, RecomputerSet, SnapshotBoard
from meshlens.records import FakeClock
from tests.recomputer.producers import RAISE, Scripted

WAIT_S = 10.0


def test_members_publish_through_the_sink(clock: FakeClock) -> None:
    board = SnapshotBoard()
    seen: list[tuple[str, Published]] = []

    def sink(name: str, published: Published) -> None:
        seen.append((name, published))
        board.publish(name, published)

    rs = RecomputerSet(clock=clock, publish=sink)
    rs.add("rf", Scripted(clock), interval_s=60)
    rs.add("roles", Scripted(clock), interval_s=60)
    rs.start()
    rs.stop()
    assert sorted(name for name, _ in seen) == ["rf", "roles"]
    assert board.load("rf") is rs["rf"].load()
    assert board.load("missing") is None
    assert len(rs) == 2 and [m.name for m in rs] == ["rf", "roles"]
    assert [s.name for s in rs.stats()] == ["rf", "roles"]


def test_members_are_added_once_and_before_start(clock: FakeClock) -> None:
    rs = RecomputerSet(clock=clock)
    rs.add("rf", Scripted(clock), interval_s=60)
    with pytest.raises(ValueError, match="twice"):
        rs.add("rf", Scripted(clock), interval_s=60)
    rs.start()
    with pytest.raises(RuntimeError, match="after the set started"):
        rs.add("late", Scripted(clock), interval_s=60)
    rs.stop()


def test_loaded_before_start_lets_the_first_computes_count(clock: FakeClock) -> None:
    rs = RecomputerSet(clock=clock)
    rs.add("rf", Scripted(clock), interval_s=60)
    assert not rs.ready()
    assert rs.mark_loaded() == []
    assert rs.mark_loaded() == []  # idempotent
    assert not rs.ready()  # loaded, but nothing computed yet
    rs.start()
    assert rs.ready() and rs.loaded
    rs.stop()


def test_computed_but_not_loaded_is_not_ready(clock: FakeClock) -> None:
    rs = RecomputerSet(clock=clock)
    rs.add("rf", Scripted(clock), interval_s=60)
    rs.start()
    assert rs["rf"].load() is not None
    assert not rs.ready() and not rs.is_ready("rf")
    rs.stop()


def test_a_failing_member_is_forced_ready_after_the_timeout(clock: FakeClock) -> None:
    failing = Scripted(clock)
    rs = RecomputerSet(clock=clock, force_ready_after_s=60)
    rs.add("ok", Scripted(clock), interval_s=300)
    rs.add("bad", failing, interval_s=300)
    rs.start()
    failing.script.extend([RAISE] * 5)
    wait_futures(rs.mark_loaded(), timeout=WAIT_S)
    assert rs.is_ready("ok") and not rs.is_ready("bad") and not rs.ready()
    clock.advance(60)
    assert rs.ready()  # degraded: serves its pre-load snapshot rather than 503 forever
    rs.stop()


def test_a_member_whose_post_load_compute_failed_is_ready_after_its_next_success(
    clock: FakeClock,
) -> None:
    flaky = Scripted(clock)
    rs = RecomputerSet(clock=clock, force_ready_after_s=None)
    member = rs.add("rf", flaky, interval_s=300, generation=lambda: 5)
    rs.start()
    flaky.script.append(RAISE)
    wait_futures(rs.mark_loaded(), timeout=WAIT_S)
    assert not rs.ready()
    rs.stop()
    member.run_once()  # the next tick, same generation: retried, not skipped
    assert rs.ready()


def test_without_stagger_every_member_first_ticks_one_interval_later(clock: FakeClock) -> None:
    rs = RecomputerSet(clock=clock, stagger=False, jitter_fraction=0)
    members = [rs.add(f"r{i}", Scripted(clock), interval_s=100) for i in range(3)]
    rs.start()
    assert [m.next_due_in_s() for m in members] == pytest.approx([100, 100, 100])
    rs.stop()


def test_stopping_a_set_never_started_returns_at_once(clock: FakeClock) -> None:
    rs = RecomputerSet(clock=clock)
    rs.add("rf", Scripted(clock), interval_s=60)
    assert rs.stop()
    assert rs.stop()
