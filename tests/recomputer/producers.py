"""Scripted `produce` callables for the recomputer tests."""

from __future__ import annotations

import threading
from collections import deque

from meshlens.recomputer import Rendered, render
from meshlens.records import FakeClock

RAISE = "raise"
NONE = "none"


class Scripted:
    """A produce callable: renders b"call N", or follows a script of raise/none steps.

    It can hold each call on a gate (to keep a compute in flight), advance a FakeClock by
    a duration (to simulate slow computes without sleeping) and track overlap.
    """

    def __init__(self, clock: FakeClock | None = None, duration_s: float = 0.0) -> None:
        self.clock = clock
        self.duration_s = duration_s
        self.calls = 0
        self.script: deque[str] = deque()
        self.gate: threading.Event | None = None
        self.entered = threading.Event()
        self.done = threading.Event()
        self.active = 0
        self.max_active = 0
        self._lock = threading.Lock()

    def hold(self) -> threading.Event:
        """Make every call wait until the returned event is set."""
        self.gate = threading.Event()
        return self.gate

    def __call__(self) -> Rendered | None:
        with self._lock:
            self.calls += 1
            call = self.calls
            self.active += 1
            self.max_active = max(self.max_active, self.active)
            step = self.script.popleft() if self.script else ""
        self.entered.set()
        try:
            if self.gate is not None:
                assert self.gate.wait(10), "test gate never opened"
            if self.clock is not None and self.duration_s:
                self.clock.advance(self.duration_s)
            if step == RAISE:
                raise RuntimeError(f"scripted failure on call {call}")
            if step == NONE:
                return None
            return render(f"call {call}".encode())
        finally:
            with self._lock:
                self.active -= 1
            self.done.set()
