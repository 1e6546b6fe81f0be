"""Fixtures for the MQTT tests: brokers and publishers (real ones, never mocks)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ingest.brokers import SHARED_PORT, Mosquitto, Publisher, require_shared_broker


@pytest.fixture
def shared_broker() -> int:
    """The machine's Mosquitto at 127.0.0.1:1883 (its port); mandatory in CI."""
    require_shared_broker()
    return SHARED_PORT


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[Mosquitto]:
    """A started Mosquitto of this test's own, stopped at the end."""
    broker = Mosquitto(tmp_path)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture
def publisher(shared_broker: int) -> Iterator[Publisher]:
    """A publisher on the shared broker."""
    client = Publisher(shared_broker)
    try:
        yield client
    finally:
        client.close()
