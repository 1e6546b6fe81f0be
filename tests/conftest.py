"""Shared fixtures: where ../shared lives, and the rule that CI never skips."""

from __future__ import annotations

import _thread
import os
import shutil
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.shared_data import REPO, SHARED

# REPO and SHARED are imported from here by the tests; they live in bench.shared_data.
__all__ = ["REPO", "REQUIRE_ALL", "SHARED", "require"]

REQUIRE_ALL = os.environ.get("MESHLENS_REQUIRE_ALL") == "1"


def require(available: bool, what: str) -> None:
    """Skip when a real part is missing on a user's machine; fail in CI (.ci/run)."""
    if available:
        return
    if REQUIRE_ALL:
        pytest.fail(f"{what} is required in CI (MESHLENS_REQUIRE_ALL=1) but missing")
    pytest.skip(f"{what} not available")


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The ../shared folder (spec vectors and real data)."""
    require((SHARED / "spec" / "vectors.jsonl").is_file(), f"../shared at {SHARED}")
    return SHARED


def _mosquitto_available() -> bool:
    """A broker on 127.0.0.1:1883, or the mosquitto binary to start one."""
    if shutil.which("mosquitto") or Path("/usr/sbin/mosquitto").is_file():
        return True
    try:
        with socket.create_connection(("127.0.0.1", 1883), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture(autouse=True)
def _broker_tests_need_a_broker(request: pytest.FixtureRequest) -> None:
    """Tests marked `broker` skip without Mosquitto, except in CI where they must run."""
    if request.node.get_closest_marker("broker") is not None:
        require(_mosquitto_available(), "Mosquitto (a broker on 1883 or the mosquitto binary)")


@pytest.fixture
def raw_thread() -> Iterator[int]:
    """A thread started below `threading` (as a C library starts one); yields its kernel id."""
    started, release = threading.Event(), _thread.allocate_lock()
    release.acquire()
    ids: list[int] = []

    def run() -> None:
        ids.append(_thread.get_native_id())
        started.set()
        release.acquire()  # until the test is done with it

    _thread.start_new_thread(run, ())
    assert started.wait(10)
    yield ids[0]
    release.release()
