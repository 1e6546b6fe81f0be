"""Secret: values that never show up in repr, str, logs or error messages."""

from __future__ import annotations

import pytest

from meshlens.config import Secret
from meshlens.errors import ConfigError
from tests.config.conftest import Load

KEY = "8b3387e9c5cdea6ac9e5edbaa115cd72"


def test_secret_repr_and_str_hide_the_value() -> None:
    secret = Secret("hunter2")
    assert repr(secret) == "Secret('**********')"
    assert str(secret) == "**********"
    assert f"{secret}" == "**********"
    assert secret.reveal() == "hunter2"


def test_secret_matches_compares_strings_and_bytes() -> None:
    secret = Secret("k3y")
    assert secret.matches("k3y")
    assert secret.matches(b"k3y")
    assert not secret.matches("k3Y")
    assert not secret.matches("")
    assert not secret.matches("k3y ")


def test_settings_repr_hides_api_key_passwords_and_channel_keys(load: Load) -> None:
    settings, _ = load(
        {
            "apiKey": "topsecret-api",
            "mqttSources": [{"broker": "mqtt://u:urlpass@b", "name": "a"}],
            "channelKeys": {"#ops": KEY},
        }
    )
    text = repr(settings)
    assert "topsecret-api" not in text
    assert "urlpass" not in text
    assert KEY not in text
    assert settings.api_key is not None and settings.api_key.matches("topsecret-api")
    assert settings.mqtt_sources[0].password == Secret("urlpass")


def test_an_empty_api_key_means_none(load: Load) -> None:
    assert load({"apiKey": "  "})[0].api_key is None


def test_errors_about_secrets_do_not_echo_them(load: Load) -> None:
    near_miss = KEY[:-1] + "g"
    with pytest.raises(ConfigError) as raised:
        load({"channelKeys": {"#ops": near_miss}})
    assert near_miss not in str(raised.value)
    with pytest.raises(ConfigError) as raised:
        load({"apiKey": 12345})
    assert str(raised.value) == "config key 'apiKey': expected a string, got 'int'"
    for broker in ("mqtt://u:pw123@h:notaport", "u:pw123@h:1883", "http://u:pw123@h"):
        with pytest.raises(ConfigError) as raised:
            load({"mqttSources": [{"broker": broker}]})
        assert "pw123" not in str(raised.value)
        assert "u:****@h" in str(raised.value)
