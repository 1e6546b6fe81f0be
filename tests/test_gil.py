"""Turns at the GIL: a background loop pauses after each turn only while reads are busy."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from meshlens import gil
from meshlens.gil import PAUSE_S, TURN_S, Turns


class FakeTime:
    """A clock the test moves, and a sleep that records and moves it."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def fake() -> FakeTime:
    return FakeTime()


@pytest.fixture(autouse=True)
def calm() -> Iterator[None]:
    gil.share_with_reads(False)
    yield
    gil.share_with_reads(False)


def test_a_calm_server_never_pauses_a_loop(fake: FakeTime) -> None:
    turn = Turns(clock=fake.clock, sleep=fake.sleep)
    for _ in range(5):
        fake.now += 1.0  # however long the work takes
        turn()
    assert fake.slept == []


def test_while_reads_are_busy_a_loop_pauses_once_each_turn_is_over(fake: FakeTime) -> None:
    gil.share_with_reads(True)
    turn = Turns(clock=fake.clock, sleep=fake.sleep)
    fake.now += TURN_S / 2
    turn()  # within the first turn
    assert fake.slept == []
    fake.now += TURN_S  # 1.5 turns since it began: over
    turn()
    assert fake.slept == [PAUSE_S]
    fake.now += TURN_S / 2  # the next turn began after the pause
    turn()
    assert fake.slept == [PAUSE_S]
    fake.now += TURN_S
    turn()
    assert fake.slept == [PAUSE_S, PAUSE_S]


def test_a_turn_is_counted_from_when_the_loop_began(fake: FakeTime) -> None:
    turn = Turns(clock=fake.clock, sleep=fake.sleep)
    fake.now += 2 * TURN_S
    gil.share_with_reads(True)  # reads became busy in the middle of the loop
    turn()
    assert fake.slept == [PAUSE_S]


def test_sharing_follows_what_the_server_reports() -> None:
    assert gil.sharing() is False
    gil.share_with_reads(True)
    assert gil.sharing() is True
    gil.share_with_reads(False)
    assert gil.sharing() is False
