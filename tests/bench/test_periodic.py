"""bench/periodic.py: a steady rate, measured from the start."""

from __future__ import annotations

import threading

from bench.periodic import Periodic, run_every


class _Stop:
    """A stop set at the `waits`+1st wait, recording each wait asked for; time never passes."""

    def __init__(self, waits: int) -> None:
        self.left = waits
        self.waits: list[float] = []

    def wait(self, seconds: float) -> bool:
        self.waits.append(seconds)
        self.left -= 1
        return self.left < 0


def test_run_every_ticks_at_once_then_at_each_periods_start_until_stopped() -> None:
    stop, ticks = _Stop(3), []
    now = iter([10.0] * 9)
    assert run_every(0.5, lambda: ticks.append(1), stop, lambda: next(now)) == 4  # type: ignore[arg-type]
    assert len(ticks) == 4
    # Each wait is for its own period's start: 0.5, 1.0, 1.5 and 2.0 s after the first.
    assert stop.waits == [0.5, 1.0, 1.5, 2.0]


def test_a_tick_that_overran_is_followed_by_one_more_at_once_not_by_all_it_missed() -> None:
    stop = _Stop(1)
    # Started at 0; the first tick ended at 3.0 (three periods late); the second at 3.0.
    now = iter([0.0, 3.0, 3.0, 3.0, 3.0])
    assert run_every(1.0, lambda: None, stop, lambda: next(now)) == 2  # type: ignore[arg-type]
    assert stop.waits == [0.0, 1.0]


class _Counting(Periodic):
    def tick(self) -> None:
        pass


def test_periodic_ticks_on_its_thread_while_entered() -> None:
    with _Counting(3600.0, "counting") as counting:
        assert any(t.name == "counting" for t in threading.enumerate())
    assert counting.ticks == 1  # at once; the next would have been an hour on
