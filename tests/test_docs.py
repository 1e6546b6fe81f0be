"""The docs list every setting, nothing else, and the generated reference is current."""

from __future__ import annotations

import re
from pathlib import Path

from meshlens.config import SETTINGS, load_settings
from meshlens.config.docs import BEGIN, END, render_markdown
from meshlens.config.loader import LEGACY_KEYS

REPO = Path(__file__).resolve().parents[1]
CONFIGURATION = REPO / "docs" / "configuration.md"

_ROW_KEY = re.compile(r"^\| `([^`]+)` \|", re.MULTILINE)


def _documented_keys() -> set[str]:
    return set(_ROW_KEY.findall(CONFIGURATION.read_text(encoding="utf-8")))


def test_settings_are_documented() -> None:
    missing = {s.key for s in SETTINGS} - _documented_keys()
    assert not missing, f"add to docs/configuration.md (python -m meshlens.config): {missing}"


def test_documented_settings_exist() -> None:
    unknown = _documented_keys() - {s.key for s in SETTINGS} - set(LEGACY_KEYS)
    assert not unknown, f"docs/configuration.md lists settings that do not exist: {unknown}"


def test_configuration_reference_is_current() -> None:
    text = CONFIGURATION.read_text(encoding="utf-8")
    generated = text[text.index(BEGIN) : text.index(END) + len(END) + 1]
    assert generated == render_markdown(), (
        "docs/configuration.md is stale: run python -m meshlens.config --write"
        " docs/configuration.md"
    )


def test_every_environment_variable_is_documented() -> None:
    text = CONFIGURATION.read_text(encoding="utf-8")
    for setting in SETTINGS:
        for name in setting.env:
            assert f"`{name}`" in text, name
    for name in ("MQTT_BROKER", "MQTT_TOPIC", "MESHLENS_CONFIG"):
        assert f"`{name}`" in text, name


def test_example_config_loads_without_warnings() -> None:
    settings, warnings = load_settings(REPO / "config.example.json", {}, {})
    assert warnings == []
    assert [source.name for source in settings.mqtt_sources] == ["local", "regional"]
