"""Build Settings from defaults < config.json < environment < command-line overrides.

`load_settings` takes the environment as a mapping (the CLI passes `os.environ`), so tests
and other callers never touch the process environment. Reading files is kept apart from
parsing their text: `parse_config_text` and `parse_rainbow` take strings.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from meshlens.config.mqtt_sources import LOCAL_SOURCE, env_source, legacy_source
from meshlens.config.rainbow import RAINBOW_FILE, parse_rainbow
from meshlens.config.registry import (
    ENV_PREFIX,
    Setting,
    build,
    leaves,
    section_class,
    sections,
    walk,
)
from meshlens.config.settings import DATABASE_NAME, Settings
from meshlens.config.values import unknown_keys
from meshlens.errors import ConfigError

SETTINGS: tuple[Setting, ...] = tuple(walk(Settings))
"""Every setting, in docs order: the one table that docs and tests are generated from."""

BY_KEY: Mapping[str, Setting] = {s.key: s for s in SETTINGS}

CONFIG_ENV = "MESHLENS_CONFIG"  # path of config.json when --config is not given

# Keys that are not settings but are understood: the legacy MQTT block (protocol §2.1).
LEGACY_KEYS: Mapping[str, str] = {
    "mqtt.broker": "Legacy single broker; becomes one source named `default` when"
    " `mqttSources` is empty.",
    "mqtt.topic": 'Legacy topic; the `default` source subscribes to it and "meshcore/#".',
}

# CoreScope keys meshlens knows of and deliberately does not use.
UNUSED_CORESCOPE_KEYS = frozenset({"analytics.loraPreset", "neighborGraph"})

# MESHLENS_* variables that are not settings: the config path and the test harness's own.
OTHER_ENV = frozenset({CONFIG_ENV, "MESHLENS_SHARED", "MESHLENS_REQUIRE_ALL"})

Values = dict[str, object]  # key path -> parsed value, later layers overwrite earlier


def load_settings(
    config_path: Path | None, env: Mapping[str, str], overrides: Mapping[str, object]
) -> tuple[Settings, list[str]]:
    """Build Settings and the warnings met on the way; raise ConfigError on a bad value."""
    warnings: list[str] = []
    raw: dict[str, object] = {}
    if config_path is not None:
        raw, notes = parse_config_text(read_text(config_path, "--config"), str(config_path))
        warnings += notes
    values: Values = {}
    _read_section(Settings, raw, "", values, warnings)
    _apply_legacy_mqtt(raw, values, warnings)
    _read_env(env, values, warnings)
    _read_overrides(overrides, values)
    _fill_derived_defaults(values)
    settings = build(Settings, values)
    settings = _with_rainbow(settings, "channelKeysPath" in values, config_path, warnings)
    warnings += _channel_name_notes(settings)
    warnings += _client_rx_notes(settings)
    return settings, warnings


def read_text(path: Path, key: str) -> str:
    """Read a UTF-8 file (a BOM is tolerated); a missing or unreadable one is a ConfigError."""
    try:
        return path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise ConfigError(key, f"a readable UTF-8 file ({reason})", str(path)) from None


def parse_config_text(text: str, where: str) -> tuple[dict[str, object], list[str]]:
    """Parse config.json text into its top-level object; warn about repeated keys."""
    notes: list[str] = []

    def pairs(items: list[tuple[str, object]]) -> dict[str, object]:
        seen: dict[str, object] = {}
        for name, value in items:
            if name in seen:
                notes.append(f"config key {name!r} appears twice in {where}; the last one wins")
            seen[name] = value
        return seen

    try:
        raw = json.loads(text, object_pairs_hook=pairs)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            where, f"valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
        ) from None
    if not isinstance(raw, dict):
        raise ConfigError(where, "a JSON object at the top level", type(raw).__name__)
    return raw, notes


def _read_section(
    cls: type[Any], raw: Mapping[str, object], prefix: str, values: Values, warnings: list[str]
) -> None:
    """Parse one JSON object against one settings dataclass, recursing into sections."""
    known: list[str] = []
    for _, spec in leaves(cls):
        known.append(spec.key)
        value = raw.get(spec.key)
        if value is None:  # absent or null: a lower layer or the default applies
            continue
        path = prefix + spec.key
        setting = BY_KEY[path]
        if setting.parser.notes is not None:
            warnings += setting.parser.notes(value, path)
        values[path] = setting.parser(value, path)
    for f, section_spec in sections(cls):
        known.append(section_spec.key)
        sub = raw.get(section_spec.key)
        if sub is None:
            continue
        path = prefix + section_spec.key
        if not isinstance(sub, dict):
            raise ConfigError(path, "a JSON object", sub)
        _read_section(section_class(f), sub, path + ".", values, warnings)
    unused = {key[len(prefix) :] for key in UNUSED_CORESCOPE_KEYS if _directly_under(key, prefix)}
    for name in sorted(unused & raw.keys()):
        warnings.append(
            f"config key {prefix + name!r} is a CoreScope setting meshlens does not use"
        )
    known += [*unused, "mqtt"] if not prefix else unused
    others = [s.key for s in SETTINGS if not _directly_under(s.key, prefix)]
    warnings += unknown_keys(raw, known, prefix.rstrip("."), others)


def _directly_under(key: str, prefix: str) -> bool:
    return key.startswith(prefix) and "." not in key[len(prefix) :]


def _apply_legacy_mqtt(raw: Mapping[str, object], values: Values, warnings: list[str]) -> None:
    """protocol §2.1: `mqtt: {broker, topic}` counts only when `mqttSources` is empty."""
    legacy = raw.get("mqtt")
    if legacy is None:
        return
    if values.get("mqttSources"):
        warnings.append("config key 'mqtt' ignored: 'mqttSources' is set and takes precedence")
        return
    source, notes = legacy_source(legacy, "mqtt")
    warnings += notes
    values["mqttSources"] = (source,)


def _read_env(env: Mapping[str, str], values: Values, warnings: list[str]) -> None:
    """Apply environment variables: MESHLENS_<KEY> beats CoreScope's name for the same key."""
    for setting in SETTINGS:
        for name in setting.env:
            text = env.get(name, "")
            if text.strip():  # an empty variable counts as unset (docker env files)
                values[setting.key] = setting.parser.from_text(text, name)
                break
    meshlens_sources = env.get(BY_KEY["mqttSources"].env[0], "").strip()
    broker = env.get("MQTT_BROKER", "").strip()
    if broker and not meshlens_sources:
        values["mqttSources"] = (env_source(broker, env.get("MQTT_TOPIC")),)
    elif env.get("MQTT_TOPIC", "").strip() and not broker:
        warnings.append("environment variable 'MQTT_TOPIC' ignored: it needs MQTT_BROKER")
    known = {name for setting in SETTINGS for name in setting.env} | OTHER_ENV
    strays = {name: "" for name in env if name.startswith(ENV_PREFIX) and name not in known}
    for note in unknown_keys(strays, known, ""):
        warnings.append(note.replace("unknown config key", "unknown environment variable"))


def _read_overrides(overrides: Mapping[str, object], values: Values) -> None:
    """Apply command-line values, keyed by JSON key path; strings are read like env values."""
    for key, value in overrides.items():
        if value is None:
            continue
        setting = BY_KEY.get(key)
        if setting is None:
            raise ConfigError(key, "a known setting key path", value)
        if isinstance(value, str | Path):
            values[key] = setting.parser.from_text(str(value), key)
        else:
            values[key] = setting.parser(value, key)


def _fill_derived_defaults(values: Values) -> None:
    """Defaults that depend on other settings: the database lives in the data directory."""
    if "dbPath" not in values:
        data_dir = values.get("meshlens.dataDir", BY_KEY["meshlens.dataDir"].default)
        assert isinstance(data_dir, Path)
        values["dbPath"] = data_dir / DATABASE_NAME
    if not values.get("mqttSources", True):
        values["mqttSources"] = (LOCAL_SOURCE,)  # protocol §2.1: no sources -> local broker


def _with_rainbow(
    settings: Settings, named: bool, config_path: Path | None, warnings: list[str]
) -> Settings:
    """Load the rainbow table: the named file (which must exist) or one beside the config."""
    path = settings.channel_keys_path
    if path is None and not named and config_path is not None:
        beside = config_path.parent / RAINBOW_FILE
        path = beside if beside.is_file() else None
    if path is None:
        return dataclasses.replace(settings, channel_keys_path=None)
    keys, notes = parse_rainbow(read_text(path, "channelKeysPath"), str(path))
    warnings += notes
    return dataclasses.replace(settings, channel_keys_path=path, rainbow_keys=keys)


def _channel_name_notes(settings: Settings) -> list[str]:
    """protocol §4.4: only the exact spelling `Public` replaces the built-in Public key."""
    return [
        f"channelKeys entry {name!r} is ignored: the built-in 'Public' key always exists;"
        " spell it 'Public' to replace it"
        for name in settings.channel_keys
        if name.lower() == "public" and name != "Public"
    ]


def _client_rx_notes(settings: Settings) -> list[str]:
    """protocol §2.7 is not built yet: an operator who turns it on is told, not ignored."""
    if not settings.client_rx_coverage.enabled:
        return []
    return [
        "clientRxCoverage.enabled is set, but meshlens does not record phones' RX coverage yet"
        " (protocol §2.7): messages on meshcore/client/<pubkey>/packets are stored as the"
        " packets of an observer in region CLIENT, as with the setting off"
    ]


def find_config_path(
    explicit: str | Path | None, env: Mapping[str, str], cwd: Path | None = None
) -> Path | None:
    """The config file to read: --config, else $MESHLENS_CONFIG, else ./config.json if any."""
    if explicit:
        return Path(explicit)
    if env.get(CONFIG_ENV, "").strip():
        return Path(env[CONFIG_ENV].strip())
    candidate = (cwd or Path()) / "config.json"
    return candidate if candidate.is_file() else None


# Command-line flag (argparse dest) -> the key path it overrides.
FLAG_KEYS: Mapping[str, str] = {"db": "dbPath", "port": "port", "host": "meshlens.host"}


def overrides_from_args(args: argparse.Namespace) -> dict[str, object]:
    """The overrides mapping for load_settings from parsed --db/--port/--host flags."""
    out: dict[str, object] = {}
    for dest, key in FLAG_KEYS.items():
        value = getattr(args, dest, None)
        if value is not None:
            out[key] = value
    return out
