"""Fixtures for the recomputer tests: a fake clock and a scripted produce."""

from __future__ import annotations

import pytest

from meshlens.records import FakeClock
from tests.recomputer.producers import Scripted


@pytest.fixture
def clock() -> FakeClock:
    """A clock that moves only when the test says so."""
    return FakeClock()


@pytest.fixture
def produce(clock: FakeClock) -> Scripted:
    """A scripted produce bound to the fake clock."""
    return Scripted(clock)
