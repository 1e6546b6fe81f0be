"""The registry: complete, unambiguous, documented, and holding CoreScope's defaults."""

from __future__ import annotations

import dataclasses
from operator import attrgetter
from pathlib import Path

import pytest

from meshlens.config import SETTINGS, Settings
from meshlens.config.mqtt_sources import LOCAL_SOURCE
from meshlens.config.registry import env_name


def test_every_settings_field_is_a_registered_setting_section_or_derived() -> None:
    def check(cls: type, prefix: str) -> set[str]:
        seen = set()
        for f in dataclasses.fields(cls):
            kinds = {"setting", "section", "derived"} & set(f.metadata)
            assert len(kinds) == 1, f"{prefix}{f.name} must be declared with setting/section"
            if "section" in kinds:
                seen |= check(f.default_factory, prefix + f.name + ".")  # type: ignore[arg-type]
            elif "setting" in kinds:
                seen.add(prefix + f.name)
        return seen

    assert check(Settings, "") == {s.attr for s in SETTINGS}


def test_keys_and_environment_names_are_unique() -> None:
    keys = [s.key for s in SETTINGS]
    names = [name for s in SETTINGS for name in s.env]
    assert len(keys) == len(set(keys))
    assert len(names) == len(set(names))


def test_every_setting_has_a_sentence_of_help() -> None:
    for setting in SETTINGS:
        assert setting.help[:1].isupper() or setting.help[:1] == "`", setting.key
        assert setting.help.endswith((".", ")")), setting.key


def test_registry_defaults_are_what_settings_holds() -> None:
    defaults = Settings()
    for setting in SETTINGS:
        assert attrgetter(setting.attr)(defaults) == setting.default, setting.key


@pytest.mark.parametrize(
    ("key", "env"),
    [
        ("port", "MESHLENS_PORT"),
        ("cacheTTL.analyticsRF", "MESHLENS_CACHE_TTL_ANALYTICS_RF"),
        ("observerIATAWhitelist", "MESHLENS_OBSERVER_IATA_WHITELIST"),
        ("packetStore.maxMemoryMB", "MESHLENS_PACKET_STORE_MAX_MEMORY_MB"),
        ("geo_filter", "MESHLENS_GEO_FILTER"),
        ("meshlens.host", "MESHLENS_HOST"),
        ("meshlens.ingest.batchSize", "MESHLENS_INGEST_BATCH_SIZE"),
    ],
)
def test_environment_names_follow_the_key_path(key: str, env: str) -> None:
    assert env_name(key) == env


# The defaults the specs give, with the section that gives them.
SPEC_DEFAULTS: dict[str, object] = {
    "ingestBufferSize": 50000,  # protocol §2.1
    "validateSignatures": True,  # protocol §7
    "foreignAdverts.mode": "flag",  # protocol §18
    "clientRxCoverage.enabled": False,  # protocol §2.7 (opt-in)
    "metrics.sampleIntervalSec": 300,  # protocol §11
    "retention.nodeDays": 7,  # protocol §12
    "retention.observerDays": 14,  # protocol §11
    "retention.metricsDays": 30,  # protocol §11
    "retention.packetDays": 0,  # protocol §12 (0 = keep)
    "packetStore.retentionHours": 0,  # analytics-part-a §1.2 (0 = unlimited)
    "analytics.defaultIntervalSeconds": 300,  # analytics-part-b §7.3, recomputer.md 8
    "cacheTTL.analyticsRF": 60.0,  # analytics-part-b §0.6
    "cacheTTL.analyticsHashSizes": 3600.0,  # analytics-part-b §0.6
    "cacheTTL.invalidationDebounce": 300.0,  # analytics-part-b §0.6
    "listLimits.packetsMax": 10000,  # api-resources §0.2
    "listLimits.nodesMax": 2000,
    "listLimits.channelMessagesMax": 500,
    "listLimits.bulkHealthMax": 200,
    "listLimits.analyticsMax": 200,
    "healthThresholds.infraDegradedHours": 24.0,  # api-resources §6
    "healthThresholds.infraSilentHours": 72.0,
    "healthThresholds.nodeDegradedHours": 1.0,
    "healthThresholds.nodeSilentHours": 24.0,
    "healthThresholds.relayActiveHours": 24.0,  # api-resources §4
    "compression.gzip": False,  # api-resources §0.1
    "observersCache.ttlSeconds": 30,  # api-resources §7
    "corsAllowedOrigins": (),  # api-resources §0.1
    "mqttSources": (LOCAL_SOURCE,),  # protocol §2.1
}


@pytest.mark.parametrize(("key", "expected"), SPEC_DEFAULTS.items())
def test_defaults_equal_the_specs(key: str, expected: object) -> None:
    (setting,) = [s for s in SETTINGS if s.key == key]
    assert setting.default == expected


def test_every_analytic_interval_defaults_to_the_default_interval() -> None:
    analytics = Settings().analytics
    names = [s.key.rsplit(".", 1)[1] for s in SETTINGS if ".recomputeIntervalSeconds." in s.key]
    assert names == [
        "topology",
        "rf",
        "distance",
        "channels",
        "hashCollisions",
        "hashSizes",
        "roles",
        "observersClockSkew",
        "nodesClockSkew",
    ]
    assert {analytics.interval_s(name) for name in names} == {300}


def test_local_source_and_meshlens_defaults() -> None:
    settings = Settings()
    assert str(LOCAL_SOURCE.broker) == "mqtt://localhost:1883"
    assert LOCAL_SOURCE.topics == ("meshcore/+/+/packets", "meshcore/+/+/status")
    assert LOCAL_SOURCE.connect_timeout_s == 30
    assert settings.db_path == Path("data/meshlens.db")
    assert settings.analytics.compute_in == "fork"
