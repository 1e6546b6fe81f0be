"""load_settings: precedence, environment variables, legacy MQTT, files and warnings."""

from __future__ import annotations

import argparse
import dataclasses
import json
from operator import attrgetter
from pathlib import Path

import pytest

from meshlens.config import (
    SETTINGS,
    Secret,
    Setting,
    Settings,
    find_config_path,
    overrides_from_args,
)
from meshlens.config.mqtt_sources import DEFAULT_TOPICS, LOCAL_SOURCE, BrokerUrl
from tests.config.conftest import Load

KEY = "8b3387e9c5cdea6ac9e5edbaa115cd72"


def test_no_config_and_no_env_gives_the_defaults(load: Load) -> None:
    assert load() == (Settings(), [])


def test_an_empty_config_object_gives_the_defaults(load: Load) -> None:
    assert load({}) == (Settings(), [])


def test_precedence_is_defaults_then_config_then_env_then_cli(load: Load) -> None:
    assert load({"port": 1})[0].port == 1
    assert load({"port": 1}, env={"PORT": "2"})[0].port == 2
    assert load({"port": 1}, env={"PORT": "2", "MESHLENS_PORT": "3"})[0].port == 3
    settings, _ = load({"port": 1}, env={"MESHLENS_PORT": "3"}, overrides={"port": 4})
    assert settings.port == 4


def test_nested_config_values_land_in_their_section(load: Load) -> None:
    settings, warnings = load(
        {
            "cacheTTL": {"analyticsRF": 30, "invalidationDebounce": 30.5},
            "analytics": {"defaultIntervalSeconds": 120, "recomputeIntervalSeconds": {"rf": 60}},
            "retention": {"observerDays": -1},
        }
    )
    assert warnings == []
    assert settings.cache_ttl.analytics_rf_s == 30.0
    assert settings.cache_ttl.invalidation_debounce_s == 30.5
    assert settings.analytics.interval_s("rf") == 60
    assert settings.analytics.interval_s("topology") == 120
    assert settings.retention.observer_days == -1


def test_zero_means_the_default_as_in_corescope(load: Load) -> None:
    settings, _ = load(
        {
            "analytics": {"defaultIntervalSeconds": 0, "recomputeIntervalSeconds": {"rf": 0}},
            "listLimits": {"packetsMax": 0},
            "cacheTTL": {"analyticsRF": 0},
        }
    )
    assert settings.analytics.interval_s("rf") == 300
    assert settings.list_limits.packets_max == 10000
    assert settings.cache_ttl.analytics_rf_s == 60.0


def test_null_in_config_means_unset(load: Load) -> None:
    assert load({"port": None, "cacheTTL": None}) == (Settings(), [])


def test_interval_lookup_accepts_config_keys_and_route_names() -> None:
    analytics = dataclasses.replace(
        Settings().analytics,
        recompute_intervals=dataclasses.replace(
            Settings().analytics.recompute_intervals, hash_collisions=42
        ),
    )
    assert analytics.interval_s("hashCollisions") == 42
    assert analytics.interval_s("hash-collisions") == 42
    assert analytics.interval_s("hash_collisions") == 42
    assert analytics.interval_s("some-new-analytic") == 300
    assert analytics.staleness_limit_s("hash-collisions") == 126
    assert dataclasses.replace(analytics, max_staleness_s=10).staleness_limit_s("rf") == 10


# One valid environment string per setting, and the value it must produce. Settings whose
# sample is not obvious from their kind are listed here; the rest follow from the kind.
_SAMPLES: dict[str, str] = {
    "dbPath": "/var/lib/meshlens/x.db",
    "apiKey": "s3cret",
    "mqttSources": '[{"name": "a", "broker": "mqtts://b.example"}]',
    "geo_filter": '{"polygon": [[1, 2], [3, 4], [5, 6]]}',
    "foreignAdverts.mode": "drop",
    "channelKeys": json.dumps({"#x": KEY}),
    "areas": '{"sea": {"polygon": [[1, 2], [3, 4], [5, 6]]}}',
    "analytics.computeIn": "thread",
    "analytics.computeCpuShare": "0.25",
    "meshlens.dataDir": "/srv/meshlens",
    "meshlens.host": "127.0.0.1",
    "meshlens.logLevel": "debug",
    "observerBlacklist": "ab, CD",
    "observerIATAWhitelist": "sea,pdx",
    "hashChannels": "test,#other",
    "hashRegions": "belgium",
    "nodeBlacklist": "AA",
    "hiddenNamePrefixes": "test-",
    "corsAllowedOrigins": "https://a.example, https://b.example",
}
_BY_KIND = {"integer": "9", "number": "7.5"}


def _sample(setting: Setting) -> str:
    if setting.key in _SAMPLES:
        return _SAMPLES[setting.key]
    if setting.parser.kind == "boolean":
        return "false" if setting.default else "true"
    return _BY_KIND[setting.parser.kind]


_ENV_CASES = [
    pytest.param(setting, name, id=name)
    for setting in SETTINGS
    if setting.key != "channelKeysPath"  # needs a real file: see the rainbow tests
    for name in setting.env
]


# Settings whose non-default value is itself worth a warning (see each one's own test).
_WARNED_WHEN_SET = {"clientRxCoverage.enabled"}


@pytest.mark.parametrize(("setting", "name"), _ENV_CASES)
def test_each_environment_variable_sets_its_key(load: Load, setting: Setting, name: str) -> None:
    text = _sample(setting)
    settings, warnings = load(env={name: text})
    value = attrgetter(setting.attr)(settings)
    assert value == setting.parser.from_text(text, name)
    assert value != setting.default
    assert len(warnings) == (setting.key in _WARNED_WHEN_SET)


def test_environment_list_values_are_comma_separated_and_normalised(load: Load) -> None:
    settings, _ = load(
        env={
            "CORS_ALLOWED_ORIGINS": " https://a.example ,, https://b.example ",
            "MESHLENS_OBSERVER_BLACKLIST": " AB ,cd",
            "MESHLENS_OBSERVER_IATA_WHITELIST": '["sea"]',
            "MESHLENS_HASH_REGIONS": "belgium, #test, belgium",
        }
    )
    assert settings.cors_allowed_origins == ("https://a.example", "https://b.example")
    assert settings.observer_blacklist == ("ab", "cd")
    assert settings.observer_iata_whitelist == ("SEA",)
    assert settings.hash_regions == ("#belgium", "#test")


def test_an_empty_environment_variable_counts_as_unset(load: Load) -> None:
    assert load({"port": 81}, env={"PORT": "", "MESHLENS_PORT": " "})[0].port == 81


def test_environment_booleans_accept_common_spellings(load: Load) -> None:
    for text, expected in [("1", True), ("YES", True), ("on", True), ("0", False), ("Off", False)]:
        settings, _ = load(env={"MESHLENS_COMPRESSION_GZIP": text})
        assert settings.compression.gzip is expected


def test_legacy_mqtt_becomes_one_source_named_default(load: Load) -> None:
    settings, warnings = load({"mqtt": {"broker": "mqtt://b.example:1884", "topic": "x/#"}})
    assert warnings == []
    (source,) = settings.mqtt_sources
    assert source.name == "default"
    assert source.broker == BrokerUrl("mqtt", "b.example", 1884)
    assert source.topics == ("x/#", "meshcore/#")


def test_legacy_mqtt_without_topic_subscribes_to_meshcore(load: Load) -> None:
    settings, _ = load({"mqtt": {"broker": "mqtt://b.example"}})
    assert settings.mqtt_sources[0].topics == ("meshcore/#",)


def test_legacy_mqtt_is_ignored_when_sources_are_set(load: Load) -> None:
    settings, warnings = load(
        {"mqtt": {"broker": "mqtt://old"}, "mqttSources": [{"broker": "mqtt://new"}]}
    )
    assert [s.broker.host for s in settings.mqtt_sources] == ["new"]
    assert warnings == ["config key 'mqtt' ignored: 'mqttSources' is set and takes precedence"]


def test_legacy_mqtt_applies_when_sources_are_empty(load: Load) -> None:
    settings, _ = load({"mqtt": {"broker": "mqtt://old"}, "mqttSources": []})
    assert settings.mqtt_sources[0].name == "default"


def test_mqtt_broker_env_replaces_every_source_with_one_named_env(load: Load) -> None:
    config = {"mqttSources": [{"name": "a", "broker": "mqtt://a"}, {"broker": "mqtt://b"}]}
    settings, _ = load(config, env={"MQTT_BROKER": "wss://u:p@e.example/mqtt"})
    (source,) = settings.mqtt_sources
    assert source.name == "env"
    assert source.broker == BrokerUrl("wss", "e.example", 443, "/mqtt")
    assert source.topics == ("meshcore/#",)
    assert source.username == "u"
    assert source.password is not None and source.password.reveal() == "p"
    settings, _ = load(config, env={"MQTT_BROKER": "mqtt://e", "MQTT_TOPIC": "meshcore/SEA/#"})
    assert settings.mqtt_sources[0].topics == ("meshcore/SEA/#",)


def test_mqtt_topic_alone_changes_nothing_and_warns(load: Load) -> None:
    assert load(env={"MQTT_TOPIC": "x/#"}) == (
        Settings(),
        ["environment variable 'MQTT_TOPIC' ignored: it needs MQTT_BROKER"],
    )


def test_meshlens_mqtt_sources_env_beats_mqtt_broker(load: Load) -> None:
    env = {"MQTT_BROKER": "mqtt://e", "MESHLENS_MQTT_SOURCES": '[{"broker": "mqtt://m"}]'}
    assert load(env=env)[0].mqtt_sources[0].broker.host == "m"


def test_no_sources_at_all_means_the_local_broker(load: Load) -> None:
    assert load({"mqttSources": []})[0].mqtt_sources == (LOCAL_SOURCE,)
    assert LOCAL_SOURCE.broker == BrokerUrl("mqtt", "localhost", 1883)


def test_mqtt_sources_are_parsed_with_their_defaults(load: Load) -> None:
    settings, warnings = load(
        {
            "mqttSources": [
                {
                    "name": "lets",
                    "broker": "mqtts://mqtt.example",
                    "username": "me",
                    "password": "pw",
                    "rejectUnauthorized": False,
                    "topics": ["meshcore/SEA/+/packets", "meshcore/SEA/+/status"],
                    "iataFilter": ["SEA"],
                    "region": "SEA",
                    "connectTimeoutSec": 5,
                },
                {"broker": "ws://10.0.0.1:9001/mqtt"},
            ]
        }
    )
    assert warnings == []
    first, second = settings.mqtt_sources
    assert (first.broker.tls, first.broker.transport, first.broker.port) == (True, "tcp", 8883)
    assert first.password is not None and first.password.reveal() == "pw"
    assert (first.reject_unauthorized, first.iata_filter, first.connect_timeout_s) == (
        False,
        ("SEA",),
        5,
    )
    assert second.name == "source2"
    assert str(second.broker) == "ws://10.0.0.1:9001/mqtt"
    assert (second.broker.transport, second.topics) == ("websockets", DEFAULT_TOPICS)


def test_db_path_defaults_into_the_data_directory(load: Load) -> None:
    assert load()[0].db_path == Path("data/meshlens.db")
    assert load({"meshlens": {"dataDir": "/srv/m"}})[0].db_path == Path("/srv/m/meshlens.db")
    settings, _ = load({"meshlens": {"dataDir": "/srv/m"}, "dbPath": "/x/y.db"})
    assert settings.db_path == Path("/x/y.db")
    assert load(env={"DB_PATH": "/e.db"}, overrides={"dbPath": "/cli.db"})[0].db_path == Path(
        "/cli.db"
    )


def test_rainbow_file_beside_the_config_is_loaded(load: Load, tmp_path: Path) -> None:
    (tmp_path / "channel-rainbow.json").write_text(json.dumps({"#test": KEY.upper()}))
    settings, warnings = load({})
    assert warnings == []
    assert settings.channel_keys_path == tmp_path / "channel-rainbow.json"
    assert {name: key.reveal() for name, key in settings.rainbow_keys.items()} == {"#test": KEY}


def test_rainbow_env_path_beats_the_config_path(load: Load, tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text(json.dumps({"#a": KEY}))
    (tmp_path / "b.json").write_text(json.dumps({"#b": KEY}))
    config = {"channelKeysPath": str(tmp_path / "a.json")}
    assert list(load(config)[0].rainbow_keys) == ["#a"]
    settings, _ = load(config, env={"CHANNEL_KEYS_PATH": str(tmp_path / "b.json")})
    assert list(settings.rainbow_keys) == ["#b"]


def test_an_empty_channel_keys_path_turns_the_rainbow_file_off(load: Load, tmp_path: Path) -> None:
    (tmp_path / "channel-rainbow.json").write_text(json.dumps({"#test": KEY}))
    settings, _ = load({"channelKeysPath": ""})
    assert (settings.channel_keys_path, dict(settings.rainbow_keys)) == (None, {})


def test_bad_rainbow_entries_are_skipped_with_a_warning(load: Load, tmp_path: Path) -> None:
    path = tmp_path / "channel-rainbow.json"
    path.write_text(json.dumps({"#ok": KEY, "#short": "abcd", "#num": 5}))
    settings, warnings = load({})
    assert list(settings.rainbow_keys) == ["#ok"]
    assert warnings == [
        f"skipped rainbow entry: config key '{path}: #short': expected 32 hex characters"
        " (a 16-byte key), got 4 characters",
        f"skipped rainbow entry: config key '{path}: #num': expected 32 hex characters"
        " (a 16-byte key), got 'int'",
    ]


def test_channel_keys_keep_raw_names_and_warn_about_lowercase_public(load: Load) -> None:
    settings, warnings = load({"channelKeys": {"public": KEY, "#Ops": KEY.upper()}})
    assert list(settings.channel_keys) == ["public", "#Ops"]
    assert settings.channel_keys["#Ops"].reveal() == KEY
    assert warnings == [
        "channelKeys entry 'public' is ignored: the built-in 'Public' key always exists;"
        " spell it 'Public' to replace it"
    ]


def test_client_rx_coverage_turned_on_warns_that_it_is_not_built(load: Load) -> None:
    settings, warnings = load({"clientRxCoverage": {"enabled": True}})
    assert settings.client_rx_coverage.enabled
    assert warnings == [
        "clientRxCoverage.enabled is set, but meshlens does not record phones' RX coverage yet"
        " (protocol §2.7): messages on meshcore/client/<pubkey>/packets are stored as the"
        " packets of an observer in region CLIENT, as with the setting off"
    ]
    assert load({"clientRxCoverage": {"enabled": False}})[1] == []


def test_hash_channels_and_regions_are_trimmed_hashtagged_and_deduplicated(load: Load) -> None:
    settings, _ = load({"hashChannels": [" test", "#test", "", "ops"], "hashRegions": ["be "]})
    assert settings.hash_channels == ("#test", "#ops")
    assert settings.hash_regions == ("#be",)


def test_unknown_keys_warn_with_did_you_mean(load: Load) -> None:
    _, warnings = load(
        {
            "prot": 1,
            "cacheTTl": {},
            "retentionHours": 3,
            "analytics": {"recomputeIntervalSeconds": {"topolgy": 5}},
            "mqttSources": [{"broker": "mqtt://x", "pasword": "p"}],
            "completelyDifferent": 1,
        }
    )
    assert warnings == [
        "unknown config key 'mqttSources[0].pasword' ignored"
        " (did you mean 'mqttSources[0].password'?)",
        "unknown config key 'analytics.recomputeIntervalSeconds.topolgy' ignored"
        " (did you mean 'analytics.recomputeIntervalSeconds.topology'?)",
        "unknown config key 'prot' ignored (did you mean 'port'?)",
        "unknown config key 'cacheTTl' ignored (did you mean 'cacheTTL'?)",
        "unknown config key 'retentionHours' ignored (did you mean 'packetStore.retentionHours'?)",
        "unknown config key 'completelyDifferent' ignored",
    ]


def test_comments_are_silent_and_unused_corescope_keys_say_so(load: Load) -> None:
    _, warnings = load(
        {"_comment_analytics": "x", "analytics": {"loraPreset": {"sf": 8}}, "neighborGraph": {}}
    )
    assert warnings == [
        "config key 'analytics.loraPreset' is a CoreScope setting meshlens does not use",
        "config key 'neighborGraph' is a CoreScope setting meshlens does not use",
    ]


def test_unknown_meshlens_environment_variables_warn(load: Load) -> None:
    env = {"MESHLENS_PROT": "1", "MESHLENS_SHARED": "/x", "MESHLENS_REQUIRE_ALL": "1", "HOME": "/"}
    assert load(env=env)[1] == [
        "unknown environment variable 'MESHLENS_PROT' ignored (did you mean 'MESHLENS_PORT'?)"
    ]


def test_repeated_keys_warn_and_the_last_wins(load: Load) -> None:
    settings, warnings = load('{"port": 1, "port": 2}')
    assert settings.port == 2
    assert warnings[0].startswith("config key 'port' appears twice in ")


def test_a_byte_order_mark_is_tolerated(load: Load) -> None:
    assert load('\ufeff{"port": 5}')[0].port == 5


def test_cli_overrides_take_strings_or_typed_values(load: Load) -> None:
    assert load(overrides={"port": "8080"})[0].port == 8080
    assert load(overrides={"dbPath": Path("/a.db"), "meshlens.host": None})[0].db_path == Path(
        "/a.db"
    )


def test_overrides_from_args_maps_flags_to_key_paths() -> None:
    args = argparse.Namespace(config="c.json", db="/x.db", port=None, host="::1", command="serve")
    assert overrides_from_args(args) == {"dbPath": "/x.db", "meshlens.host": "::1"}
    assert overrides_from_args(argparse.Namespace()) == {}


def test_find_config_path_prefers_flag_then_env_then_cwd(tmp_path: Path) -> None:
    assert find_config_path("a.json", {"MESHLENS_CONFIG": "b.json"}, tmp_path) == Path("a.json")
    assert find_config_path(None, {"MESHLENS_CONFIG": "b.json"}, tmp_path) == Path("b.json")
    assert find_config_path(None, {}, tmp_path) is None
    (tmp_path / "config.json").write_text("{}")
    assert find_config_path(None, {}, tmp_path) == tmp_path / "config.json"


def test_settings_are_frozen() -> None:
    settings = Settings()
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.port = 1  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.analytics.default_interval_s = 1  # type: ignore[misc]
    with pytest.raises(TypeError):
        settings.channel_keys["x"] = Secret(KEY)  # type: ignore[index]


def test_a_miscased_key_suggests_its_own_spelling_first(load: Load) -> None:
    _, warnings = load({"retention": {"NodeDays": 3, "port": 1}})
    assert warnings == [
        "unknown config key 'retention.NodeDays' ignored (did you mean 'retention.nodeDays'?)",
        "unknown config key 'retention.port' ignored (did you mean 'port'?)",
    ]


def test_a_source_reads_its_session_and_delivery_options(load: Load) -> None:
    settings, warnings = load({"mqttSources": [{
        "broker": "mqtt://b.example", "qos": 1, "clientId": "ingest-1",
        "persistentSession": True, "sessionExpirySec": 600, "reconnectMaxSec": 2.5,
        "protocolVersion": 5, "topics": ["$share/meshlens/meshcore/+/+/packets"],
    }]})  # fmt: skip
    assert warnings == []
    (source,) = settings.mqtt_sources
    assert (source.qos, source.client_id, source.persistent_session) == (1, "ingest-1", True)
    assert (source.session_expiry_s, source.reconnect_max_s) == (600, 2.5)
    assert source.topics == ("$share/meshlens/meshcore/+/+/packets",)


def test_a_source_without_topics_takes_packets_and_status(load: Load) -> None:
    settings, _ = load({"mqttSources": [{"broker": "mqtt://b.example"}]})
    assert settings.mqtt_sources[0].topics == ("meshcore/+/+/packets", "meshcore/+/+/status")
    assert settings.mqtt_sources[0].qos == 0
