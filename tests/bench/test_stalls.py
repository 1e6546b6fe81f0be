"""The calibration stalls of bench/stalls.py: their syntax and their pacing."""

from __future__ import annotations

import pytest

from bench.stalls import Stall, StallLoad, parse_stall, run_pattern


def test_parse_stall_reads_size_rate_and_place() -> None:
    assert parse_stall("2@10") == Stall(2.0, 10.0)
    assert parse_stall("0.2@100:process") == Stall(0.2, 100.0, process=True)
    assert parse_stall("20@1").ms_per_s == 20.0
    assert str(parse_stall("0.5@40:process")) == "0.5@40:process"


@pytest.mark.parametrize("text", ["2", "2@", "a@1", "2@10:thread", "0@10", "2@-1", "100@10"])
def test_parse_stall_refuses_what_it_cannot_run(text: str) -> None:
    with pytest.raises(ValueError, match="stall"):
        parse_stall(text)


class _Stop:
    """A stop that is set from the `checks`+1st look on, recording each wait asked for."""

    def __init__(self, checks: int) -> None:
        self.checks = checks
        self.waits: list[float] = []

    def is_set(self) -> bool:
        self.checks -= 1
        return self.checks < 0

    def wait(self, seconds: float) -> bool:
        self.waits.append(seconds)
        return False


def test_run_pattern_runs_at_once_then_once_a_period_until_stopped() -> None:
    stop = _Stop(3)
    assert run_pattern(10, 0.5, stop) == 4  # type: ignore[arg-type]
    # Each waits for its own period's start: about 0.5, 1.0 and 1.5 s after the first.
    assert [round(w, 1) for w in stop.waits] == [0.5, 1.0, 1.5]


@pytest.mark.parametrize("process", [False, True], ids=["thread", "process"])
def test_a_stall_load_starts_and_stops_cleanly(process: bool) -> None:
    load = StallLoad(Stall(0.5, 50, process=process))
    load.start()
    load.stop()  # at once: the first stall runs as it starts, then the stop ends it
    if process:
        assert load.exit_status == 0  # it imported the pattern, ran and ended on end of input
    else:
        assert load.count >= 1
