"""Fixtures for the API tests: servers on port 0, fed through a real database."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from meshlens.config import Settings
from meshlens.records import Sighting
from meshlens.wire.channels import PUBLIC_KEY_HEX
from tests.api.probe import REGISTRY
from tests.api.running import Running, settings_for, start
from tests.ingest.helpers import T0, channel_frame, sighting

Serve = Callable[..., Running]


def chatter(n: int, *, observers: int = 3, start_ms: int = T0) -> list[Sighting]:
    """n distinct Public-channel messages, each heard by one of `observers` observers."""
    key = bytes.fromhex(PUBLIC_KEY_HEX)
    out = []
    for i in range(n):
        observer = i % observers
        raw = channel_frame(key, f"message {i}", timestamp=start_ms // 1000 + i)
        out.append(
            sighting(
                raw,
                f"OBS{observer}",
                name=f"Observer {observer}",
                region=("SEA", "PDX", "SFO")[observer % 3],
                at_ms=start_ms + i * 1000,
            )
        )
    return out


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Default settings on a fresh database."""
    return settings_for(tmp_path)


@pytest.fixture
def serve(settings: Settings) -> Iterator[Serve]:
    """Start servers (the probe registry unless told otherwise); all stopped at the end."""
    running: list[Running] = []

    def factory(custom: Settings | None = None, **options: Any) -> Running:
        options.setdefault("analytics", REGISTRY)
        server = start(custom or settings, **options)
        running.append(server)
        return server

    yield factory
    for server in running:
        server.stop()
