"""Hostile config: every kind of bad value is a ConfigError naming the key and the expectation."""

from __future__ import annotations

from pathlib import Path

import pytest

from meshlens.config import load_settings, parse_config_text
from meshlens.errors import ConfigError, MeshlensError
from tests.config.conftest import Load

_SCHEMES = "mqtt, tcp, mqtts, ssl, tls, ws, wss"

# (config, exact error message): one row per class of bad value.
_BAD_CONFIG: list[tuple[object, str]] = [
    (
        {"port": "80"},
        "config key 'port': expected an integer from 0 to 65535, got '80'",
    ),
    (
        {"port": 70000},
        "config key 'port': expected an integer from 0 to 65535, got 70000",
    ),
    (
        {"ingestBufferSize": True},
        "config key 'ingestBufferSize': expected an integer > 0 (0 means the default), got True",
    ),
    (
        {"listLimits": {"nodesMax": 2.5}},
        "config key 'listLimits.nodesMax': expected an integer > 0 (0 means the default), got 2.5",
    ),
    (
        {"analytics": {"defaultIntervalSeconds": -5}},
        "config key 'analytics.defaultIntervalSeconds': expected an integer > 0"
        " (0 means the default), got -5",
    ),
    (
        {"analytics": {"recomputeIntervalSeconds": {"rf": -1}}},
        "config key 'analytics.recomputeIntervalSeconds.rf': expected an integer > 0"
        " (0 means the default), got -1",
    ),
    (
        {"cacheTTL": {"analyticsRF": -0.5}},
        "config key 'cacheTTL.analyticsRF': expected a number > 0 (0 means the default), got -0.5",
    ),
    (
        {"healthThresholds": {"nodeSilentHours": False}},
        "config key 'healthThresholds.nodeSilentHours': expected a number > 0"
        " (0 means the default), got False",
    ),
    (
        {"retention": {"observerDays": -2}},
        "config key 'retention.observerDays': expected an integer >= -1, got -2",
    ),
    (
        {"validateSignatures": "yes"},
        "config key 'validateSignatures': expected true or false, got 'yes'",
    ),
    (
        {"compression": {"gzip": 1}},
        "config key 'compression.gzip': expected true or false, got 1",
    ),
    (
        {"foreignAdverts": {"mode": "delete"}},
        "config key 'foreignAdverts.mode': expected one of 'flag', 'drop', got 'delete'",
    ),
    (
        {"analytics": {"computeIn": "process"}},
        "config key 'analytics.computeIn': expected one of 'thread', 'fork', 'replica',"
        " got 'process'",
    ),
    (
        {"cacheTTL": 60},
        "config key 'cacheTTL': expected a JSON object, got 60",
    ),
    (
        {"nodeBlacklist": "abc"},
        "config key 'nodeBlacklist': expected a list of strings, got 'abc'",
    ),
    (
        {"observerBlacklist": ["ok", 5]},
        "config key 'observerBlacklist[1]': expected a string, got 5",
    ),
    (
        {"dbPath": ""},
        "config key 'dbPath': expected a file or directory path, got ''",
    ),
    (
        {"mqttSources": {"broker": "mqtt://x"}},
        "config key 'mqttSources': expected a list of source objects, got {'broker': 'mqtt://x'}",
    ),
    (
        {"mqttSources": [{"broker": "mqtt://b.example", "protocolVersion": 4}]},
        "config key 'mqttSources[0].protocolVersion': expected 5 (MQTT v5; MQTT 3.1.1 is not"
        " supported), got 4",
    ),
    (
        {"mqttSources": [{"name": "a"}]},
        "config key 'mqttSources[0].broker': expected a broker URL like mqtt://host:1883"
        f" (schemes: {_SCHEMES})",
    ),
    (
        {"mqttSources": [{"broker": "http://b.example"}]},
        "config key 'mqttSources[0].broker': expected a broker URL like mqtt://host:1883"
        f" (schemes: {_SCHEMES}), got 'http://b.example'",
    ),
    (
        {"mqttSources": [{"broker": "b.example:1883"}]},
        "config key 'mqttSources[0].broker': expected a broker URL like mqtt://host:1883"
        f" (schemes: {_SCHEMES}), got 'b.example:1883'",
    ),
    (
        {"mqttSources": [{"broker": "mqtt://user:hunter2@b.example:99999"}]},
        "config key 'mqttSources[0].broker': expected a broker URL like mqtt://host:1883"
        f" (schemes: {_SCHEMES}), got 'mqtt://user:****@b.example:99999'",
    ),
    (
        {"mqttSources": [{"broker": "mqtt://a", "topics": ["meshcore/#/x"]}]},
        "config key 'mqttSources[0].topics[0]': expected an MQTT topic filter"
        " ('#' last, '+' a whole level), got 'meshcore/#/x'",
    ),
    (
        {"mqttSources": [{"broker": "mqtt://a", "qos": 2}]},
        "config key 'mqttSources[0].qos': expected an integer from 0 to 1, got 2",
    ),
    (
        {"mqttSources": [{"broker": "mqtt://a", "topics": ["$share//meshcore/#"]}]},
        "config key 'mqttSources[0].topics[0]': expected $share/<group>/<topic filter>,"
        " got '$share//meshcore/#'",
    ),
    (
        {"mqttSources": [{"broker": "mqtt://a", "connectTimeoutSec": -1}]},
        "config key 'mqttSources[0].connectTimeoutSec': expected an integer > 0"
        " (0 means the default), got -1",
    ),
    (
        {"mqttSources": [{"name": "a", "broker": "mqtt://a"}, {"name": "a", "broker": "mqtt://b"}]},
        "config key 'mqttSources[1].name': expected a name no other source uses, got 'a'",
    ),
    (
        {"mqtt": {"broker": "udp://x"}},
        "config key 'mqtt.broker': expected a broker URL like mqtt://host:1883"
        f" (schemes: {_SCHEMES}), got 'udp://x'",
    ),
    (
        {"channelKeys": {"#ops": "zz"}},
        "config key 'channelKeys.#ops': expected 32 hex characters (a 16-byte key),"
        " got 2 characters with non-hex characters",
    ),
    (
        {"channelKeys": {"#ops": "8b3387e9c5cdea6ac9e5edbaa115cd"}},
        "config key 'channelKeys.#ops': expected 32 hex characters (a 16-byte key),"
        " got 30 characters",
    ),
    (
        {"channelKeys": ["#ops"]},
        "config key 'channelKeys': expected an object of channel name -> 32-hex-character key,"
        " got ['#ops']",
    ),
    (
        {"geo_filter": {"polygon": [[1, 2], [3, 4]]}},
        "config key 'geo_filter.polygon': expected a list of at least 3 [lat, lon] points,"
        " got [[1, 2], [3, 4]]",
    ),
    (
        {"geo_filter": {"polygon": [[1, 2], [3, 4], [95, 0]]}},
        "config key 'geo_filter.polygon[2]': expected a [lat, lon] pair with lat in -90..90"
        " and lon in -180..180, got [95, 0]",
    ),
    (
        {"geo_filter": {"latMin": 5, "latMax": 1, "lonMin": 0, "lonMax": 1}},
        "config key 'geo_filter.latMin': expected a value <= latMax (1), got 5.0",
    ),
    (
        {"geo_filter": {"polygon": [[1, 2], [3, 4], [5, 6]], "bufferKm": -1}},
        "config key 'geo_filter.bufferKm': expected a number >= 0, got -1",
    ),
    (
        {"areas": {"sea": {"label": "Seattle"}}},
        "config key 'areas.sea': expected a 'polygon' of at least 3 points or all of"
        " latMin/latMax/lonMin/lonMax",
    ),
    (
        {"areas": {"sea": {"latMin": 1, "latMax": 2, "lonMin": 3, "lonMax": "4"}}},
        "config key 'areas.sea.lonMax': expected a number from -180 to 180, got '4'",
    ),
]


@pytest.mark.parametrize(("config", "message"), _BAD_CONFIG, ids=[m for _, m in _BAD_CONFIG])
def test_bad_config_values_name_the_key_and_the_expectation(
    load: Load, config: object, message: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        load(config)
    assert str(raised.value) == message
    assert raised.value.key == message.split("'")[1]


def test_a_nan_number_is_rejected(load: Load) -> None:
    with pytest.raises(ConfigError, match=r"^config key 'cacheTTL.analyticsRF': expected a num"):
        load('{"cacheTTL": {"analyticsRF": NaN}}')


def test_invalid_json_gives_line_and_column() -> None:
    with pytest.raises(ConfigError) as raised:
        parse_config_text('{\n  "port": 1\n  "dbPath": "x"\n}', "config.json")
    assert str(raised.value) == (
        "config key 'config.json': expected valid JSON (Expecting ',' delimiter at line 3 column 3)"
    )


@pytest.mark.parametrize(("text", "kind"), [("[1]", "list"), ('"x"', "str"), ("null", "NoneType")])
def test_a_config_that_is_not_an_object_is_rejected(text: str, kind: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_config_text(text, "c.json")
    assert str(raised.value) == (
        f"config key 'c.json': expected a JSON object at the top level, got {kind!r}"
    )


def test_a_missing_config_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(tmp_path / "nope.json", {}, {})
    assert str(raised.value) == (
        "config key '--config': expected a readable UTF-8 file (No such file or directory),"
        f" got '{tmp_path / 'nope.json'}'"
    )


def test_a_named_rainbow_file_that_is_missing_is_a_config_error(load: Load) -> None:
    with pytest.raises(ConfigError, match=r"^config key 'channelKeysPath': expected a readable"):
        load({"channelKeysPath": "/nonexistent/rainbow.json"})


def test_a_rainbow_file_that_is_not_an_object_is_a_config_error(load: Load, tmp_path: Path) -> None:
    (tmp_path / "channel-rainbow.json").write_text("[]")
    with pytest.raises(ConfigError, match="expected a JSON object of channel name -> hex key"):
        load({})


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PORT": "abc"}, "config key 'PORT': expected an integer from 0 to 65535, got 'abc'"),
        (
            {"MESHLENS_CACHE_TTL_ANALYTICS_RF": "-3"},
            "config key 'MESHLENS_CACHE_TTL_ANALYTICS_RF': expected a number > 0"
            " (0 means the default), got -3.0",
        ),
        (
            {"MESHLENS_DEMO": "maybe"},
            "config key 'MESHLENS_DEMO': expected true or false (also 1/0, yes/no, on/off),"
            " got 'maybe'",
        ),
        (
            {"MESHLENS_AREAS": "{bad"},
            "config key 'MESHLENS_AREAS': expected JSON text"
            " (Expecting property name enclosed in double quotes at column 2)",
        ),
        (
            {"MQTT_BROKER": "localhost"},
            "config key 'MQTT_BROKER': expected a broker URL like mqtt://host:1883"
            f" (schemes: {_SCHEMES}), got 'localhost'",
        ),
        (
            {"MQTT_BROKER": "mqtt://x", "MQTT_TOPIC": "a/#/b"},
            "config key 'MQTT_TOPIC': expected an MQTT topic filter"
            " ('#' last, '+' a whole level), got 'a/#/b'",
        ),
    ],
)
def test_bad_environment_values_name_the_variable(
    load: Load, env: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        load(env=env)
    assert str(raised.value) == message


def test_an_unknown_override_key_is_a_config_error(load: Load) -> None:
    with pytest.raises(ConfigError, match=r"^config key 'prot': expected a known setting key"):
        load(overrides={"prot": 1})


def test_config_errors_are_value_errors_of_meshlens() -> None:
    assert issubclass(ConfigError, ValueError)
    assert issubclass(ConfigError, MeshlensError)


def test_a_path_with_a_null_byte_is_a_config_error(load: Load) -> None:
    with pytest.raises(ConfigError, match=r"^config key 'CHANNEL_KEYS_PATH': expected a file"):
        load(env={"CHANNEL_KEYS_PATH": "a\0b"})
