"""The loop meshlens serves on: `run_loop` runs a coroutine to its end on uvloop."""

from __future__ import annotations

import asyncio

import pytest
import uvloop

from meshlens.api.server import run_loop


def test_run_loop_runs_the_coroutine_on_uvloop_and_returns_its_value() -> None:
    async def answer() -> tuple[bool, int]:
        await asyncio.sleep(0)
        return isinstance(asyncio.get_running_loop(), uvloop.Loop), 42

    assert run_loop(answer()) == (True, 42)


def test_run_loop_raises_what_the_coroutine_raises_and_closes_its_loop() -> None:
    loops: list[asyncio.AbstractEventLoop] = []

    async def fail() -> None:
        loops.append(asyncio.get_running_loop())
        raise LookupError("no such analytic")

    with pytest.raises(LookupError, match="no such analytic"):
        run_loop(fail())
    assert loops[0].is_closed()
