"""Fixtures for config tests: write a config.json and load it with a given environment."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from meshlens.config import Settings, load_settings

Load = Callable[..., tuple[Settings, list[str]]]


@pytest.fixture
def load(tmp_path: Path) -> Load:
    """load(config, env=..., overrides=...): config is a dict (as JSON), raw text, or None."""

    def run(
        config: object = None,
        env: Mapping[str, str] | None = None,
        overrides: Mapping[str, object] | None = None,
    ) -> tuple[Settings, list[str]]:
        path = None
        if config is not None:
            path = tmp_path / "config.json"
            text = config if isinstance(config, str) else json.dumps(config)
            path.write_text(text, encoding="utf-8")
        return load_settings(path, env or {}, overrides or {})

    return run
