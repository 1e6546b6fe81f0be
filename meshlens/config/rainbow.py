"""The rainbow table: a JSON file of channel name -> key, loaded before config keys (§4.4)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from types import MappingProxyType

from meshlens.config.secret import Secret
from meshlens.config.values import channel_key
from meshlens.errors import ConfigError

RAINBOW_FILE = "channel-rainbow.json"  # looked for beside the config file


def parse_rainbow(text: str, where: str) -> tuple[Mapping[str, Secret], list[str]]:
    """Parse a rainbow file; a bad entry is skipped with a warning, as CoreScope ignores it.

    Entries are skipped rather than fatal because the file is a shared table of hundreds of
    public hashtag channels, where one odd line should not stop the server.
    """
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            where, f"valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
        ) from None
    if not isinstance(raw, dict):
        raise ConfigError(where, "a JSON object of channel name -> hex key", type(raw).__name__)
    keys: dict[str, Secret] = {}
    warnings: list[str] = []
    for name, value in raw.items():
        try:
            keys[name] = channel_key(value, f"{where}: {name}")
        except ConfigError as exc:
            warnings.append(f"skipped rainbow entry: {exc}")
    return MappingProxyType(keys), warnings
