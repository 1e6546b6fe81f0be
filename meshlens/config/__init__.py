"""Settings: one frozen tree built once from config.json, MESHLENS_* variables and CLI flags.

config.json uses CoreScope's keys so operators can point meshlens at their existing file;
meshlens' own keys live under `meshlens`. Only this package reads configuration; `app.py`
passes the Settings down. See docs/configuration.md (generated from `SETTINGS`).
"""

from __future__ import annotations

from meshlens.config.geo import Area, BoundingBox, GeoFilter
from meshlens.config.loader import (
    SETTINGS,
    find_config_path,
    load_settings,
    overrides_from_args,
    parse_config_text,
)
from meshlens.config.mqtt_sources import BrokerUrl, MqttSource
from meshlens.config.rainbow import parse_rainbow
from meshlens.config.registry import Setting
from meshlens.config.secret import Secret
from meshlens.config.sections import (
    AnalyticsSettings,
    CacheTTLSettings,
    HealthThresholds,
    ListLimits,
    PacketStoreSettings,
    RetentionSettings,
)
from meshlens.config.settings import MeshlensSettings, Settings

__all__ = [
    "SETTINGS",
    "AnalyticsSettings",
    "Area",
    "BoundingBox",
    "BrokerUrl",
    "CacheTTLSettings",
    "GeoFilter",
    "HealthThresholds",
    "ListLimits",
    "MeshlensSettings",
    "MqttSource",
    "PacketStoreSettings",
    "RetentionSettings",
    "Secret",
    "Setting",
    "Settings",
    "find_config_path",
    "load_settings",
    "overrides_from_args",
    "parse_config_text",
    "parse_rainbow",
]
