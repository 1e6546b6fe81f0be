"""Short turns at the GIL for background loops of the serving process, while reads are busy.

A busy event loop gives the GIL up many times a millisecond (uvloop runs libuv without
it, taking it for each batch of callbacks; asyncio's loop at every select and socket
call), and a background thread waiting for it takes it at once and keeps it until its
Python work is done: the switch interval only bounds how long the *waiting* thread waits,
and the loop, whose releases are voluntary, never waits long enough to force one. So a
2 ms loop over a batch's sightings is a 2 ms stall of every request in flight, however
short the switch interval. While reads keep the loop busy, a loop that calls its `Turns`
once an iteration sleeps PAUSE_S after each TURN_S of work, and the event loop runs in
the pause (docs/benchmarks.md, "Turns at the GIL").
"""

from __future__ import annotations

import time
from collections.abc import Callable

TURN_S = 0.0002  # the longest a background loop keeps the GIL from a busy event loop
PAUSE_S = 0.0002  # then the event loop's turn


class _Process:
    """What holds for every thread of this process: the GIL is the process's."""

    __slots__ = ("sharing",)

    def __init__(self) -> None:
        self.sharing = False


_PROCESS = _Process()


def share_with_reads(busy: bool) -> None:
    """Whether background loops take turns now (Server.reads_busy's report)."""
    _PROCESS.sharing = busy


def sharing() -> bool:
    """Whether background loops take turns now."""
    return _PROCESS.sharing


class Turns:
    """One loop's turns: call once an iteration; while sharing, it pauses after each turn."""

    __slots__ = ("_clock", "_ends", "_sleep")

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.perf_counter,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self._ends = clock() + TURN_S

    def __call__(self) -> None:
        """Pause (releasing the GIL) if this turn is over and reads are busy."""
        if _PROCESS.sharing:
            now = self._clock()
            if now > self._ends:
                self._sleep(PAUSE_S)
                self._ends = self._clock() + TURN_S
