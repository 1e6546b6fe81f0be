"""The calibration stalls of bench/stalls.py: their syntax, and that they start and stop."""

from __future__ import annotations

import pytest

from bench.stalls import Stall, StallLoad, parse_stall


def test_parse_stall_reads_size_rate_and_place() -> None:
    assert parse_stall("2@10") == Stall(2.0, 10.0)
    assert parse_stall("0.2@100:process") == Stall(0.2, 100.0, "process")
    assert str(parse_stall("0.5@40:process")) == "0.5@40:process"
    assert parse_stall("999@1:idle") == Stall(999.0, 1.0, "idle")
    assert parse_stall("999@1:idle").process and not parse_stall("2@10").process
    assert str(parse_stall("999@1:idle")) == "999@1:idle"


@pytest.mark.parametrize("text", ["2", "2@", "a@1", "2@10:thread", "0@10", "2@-1", "100@10"])
def test_parse_stall_refuses_what_it_cannot_run(text: str) -> None:
    with pytest.raises(ValueError, match="stall"):
        parse_stall(text)


@pytest.mark.parametrize("where", ["", "process", "idle"], ids=["thread", "process", "idle"])
def test_a_stall_load_starts_and_stops_cleanly(where: str) -> None:
    load = StallLoad(parse_stall(f"0.5@50:{where}" if where else "0.5@50"))
    load.start()
    load.stop()  # at once: the first stall runs as it starts, then the stop ends it
    if where:
        assert load.exit_status == 0  # it imported the pattern, ran and ended on end of input
        assert str(load) == f"stall 0.5@50:{where}"
    else:
        assert load.count >= 1
        assert str(load) == f"stall 0.5@50 ({load.count} stalls)"
