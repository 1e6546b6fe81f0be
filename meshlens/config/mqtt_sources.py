"""MQTT sources (protocol §2.1): where observers' frames come from, and how to log in."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import unquote, urlsplit

from meshlens.config.secret import Secret
from meshlens.config.values import (
    BOOLEAN,
    OPTIONAL_SECRET,
    Parser,
    as_int,
    integer,
    positive_int,
    positive_number,
    text,
    unknown_keys,
)
from meshlens.errors import ConfigError

T = TypeVar("T")

DEFAULT_TOPIC = "meshcore/#"  # the legacy `mqtt` block's and MQTT_BROKER's (protocol §2.1)
# A source object without `topics`: the two kinds meshcoretomqtt publishes that meshlens
# reads, so the broker does not send debug and other chatter only to have it dropped.
DEFAULT_TOPICS = ("meshcore/+/+/packets", "meshcore/+/+/status")
DEFAULT_RECONNECT_MAX_S = 4.0  # a broker that comes back is reconnected to within this
DEFAULT_SESSION_EXPIRY_S = 7 * 86400

# Scheme -> (TLS, transport, default port). mqtt/mqtts are CoreScope's; tcp/ssl/tls are
# the Go and paho spellings of the same two, accepted so copied URLs keep working.
_SCHEMES: dict[str, tuple[bool, str, int]] = {
    "mqtt": (False, "tcp", 1883),
    "tcp": (False, "tcp", 1883),
    "mqtts": (True, "tcp", 8883),
    "ssl": (True, "tcp", 8883),
    "tls": (True, "tcp", 8883),
    "ws": (False, "websockets", 80),
    "wss": (True, "websockets", 443),
}
_USERINFO = re.compile(r"([^:/@]+):[^@/]*@")  # the user:password@ part of a URL
_BROKER_EXPECTED = "a broker URL like mqtt://host:1883 (schemes: " + ", ".join(_SCHEMES) + ")"


@dataclass(frozen=True, slots=True)
class BrokerUrl:
    """A parsed broker address; never holds credentials (those go to MqttSource)."""

    scheme: str
    host: str
    port: int
    path: str = ""  # the websocket path; "" for TCP

    @property
    def tls(self) -> bool:
        """Whether the connection is encrypted (mqtts, ssl, tls, wss)."""
        return _SCHEMES[self.scheme][0]

    @property
    def transport(self) -> str:
        """The transport: "tcp" (TLS or not) or "websockets"."""
        return _SCHEMES[self.scheme][1]

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}{self.path}"


@dataclass(frozen=True, slots=True)
class MqttSource:
    """One broker to subscribe to, with its topics and per-source filters."""

    name: str
    broker: BrokerUrl
    username: str | None = None
    password: Secret | None = None
    reject_unauthorized: bool = True  # false: accept any TLS certificate
    topics: tuple[str, ...] = DEFAULT_TOPICS
    iata_filter: tuple[str, ...] = ()  # exact, case-sensitive topic regions (packets only)
    region: str = ""  # IATA code for topics that carry none
    connect_timeout_s: int = 30
    qos: int = 0  # 1: the broker redelivers what meshlens has not acknowledged
    client_id: str = ""  # "" : meshlens-<name>-<random> (a fixed one for persistent sessions)
    persistent_session: bool = False  # clean_start false: the broker queues while we are away
    session_expiry_s: int = DEFAULT_SESSION_EXPIRY_S
    reconnect_max_s: float = DEFAULT_RECONNECT_MAX_S  # cap of the exponential backoff


LOCAL_SOURCE = MqttSource("local", BrokerUrl("mqtt", "localhost", 1883))
"""protocol §2.1: with no source configured, listen to a broker on this machine."""


def parse_broker(value: object, key: str) -> tuple[BrokerUrl, str | None, str | None]:
    """Parse a broker URL into its address and any user/password embedded in it."""
    if not isinstance(value, str) or "://" not in value:
        raise ConfigError(key, _BROKER_EXPECTED, _without_password(value))
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        raise ConfigError(key, _BROKER_EXPECTED, _without_password(value)) from None
    scheme = parts.scheme.lower()
    if scheme not in _SCHEMES or not parts.hostname:
        raise ConfigError(key, _BROKER_EXPECTED, _without_password(value))
    path = parts.path if _SCHEMES[scheme][1] == "websockets" else ""
    broker = BrokerUrl(scheme, parts.hostname, port or _SCHEMES[scheme][2], path)
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else None
    return broker, user, password


def _without_password(value: object) -> object:
    """The value for an error message, with any user:password@ password masked."""
    if not isinstance(value, str):
        return value
    return _USERINFO.sub(r"\1:****@", value, count=1)


def check_topic_filter(topic: str, key: str) -> str:
    """An MQTT subscription filter: '#' only as the last level, '+' only as a whole level.

    `$share/<group>/<filter>` (an MQTT v5 shared subscription) splits one feed among
    every client subscribed with the same group.
    """
    levels = topic.split("/")
    if levels[0] == "$share":
        if len(levels) < 3 or not levels[1] or any(c in levels[1] for c in "+#"):
            raise ConfigError(key, "$share/<group>/<topic filter>", topic)
        levels = levels[2:]
    for index, level in enumerate(levels):
        bad_hash = "#" in level and (level != "#" or index != len(levels) - 1)
        if bad_hash or ("+" in level and level != "+"):
            raise ConfigError(key, "an MQTT topic filter ('#' last, '+' a whole level)", topic)
    return topic


def _topic_list(value: object, key: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise ConfigError(key, "a non-empty list of MQTT topic filters", value)
    topics: dict[str, None] = {}
    for index, item in enumerate(value):
        if not isinstance(item, str) or not item.strip():
            raise ConfigError(f"{key}[{index}]", "a non-empty topic string", item)
        topics[check_topic_filter(item.strip(), f"{key}[{index}]")] = None
    return tuple(topics)


def _plain_list(value: object, key: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(key, "a list of strings", value)
    return tuple(item for item in value if item)


_SOURCE_KEYS = (
    "name",
    "broker",
    "username",
    "password",
    "rejectUnauthorized",
    "topics",
    "iataFilter",
    "region",
    "connectTimeoutSec",
    "qos",
    "clientId",
    "persistentSession",
    "sessionExpirySec",
    "reconnectMaxSec",
    "protocolVersion",
)


def _protocol_version(value: object, key: str) -> int:
    # meshlens' own MQTT client speaks v5 only (docs/operations.md, "MQTT"): a 3.1.1-only
    # broker is refused here, at start, rather than at every connection attempt.
    number = as_int(value)
    if number != 5:
        raise ConfigError(key, "5 (MQTT v5; MQTT 3.1.1 is not supported)", value)
    return number


_PROTOCOL = Parser("integer", "5", _protocol_version)
_EXPIRY = positive_int(DEFAULT_SESSION_EXPIRY_S)
_BACKOFF = positive_number(DEFAULT_RECONNECT_MAX_S)


def parse_source(raw: object, key: str, index: int) -> MqttSource:
    """Parse one object of `mqttSources`."""
    if not isinstance(raw, dict):
        raise ConfigError(key, "an object with at least a 'broker'", raw)
    if raw.get("broker") is None:
        raise ConfigError(f"{key}.broker", _BROKER_EXPECTED)
    broker, url_user, url_password = parse_broker(raw["broker"], f"{key}.broker")
    username = _get(raw, "username", text(), key, "") or url_user
    password = _get(raw, "password", OPTIONAL_SECRET, key, None)
    if password is None and url_password:
        password = Secret(url_password)
    topics = raw.get("topics")
    _get(raw, "protocolVersion", _PROTOCOL, key, 5)  # checked only: v5 is all there is
    return MqttSource(
        name=_get(raw, "name", text(allow_empty=False), key, f"source{index + 1}"),
        broker=broker,
        username=username,
        password=password,
        reject_unauthorized=_get(raw, "rejectUnauthorized", BOOLEAN, key, True),
        topics=_topic_list(topics, f"{key}.topics") if topics else DEFAULT_TOPICS,
        iata_filter=_plain_list(raw.get("iataFilter") or [], f"{key}.iataFilter"),
        region=_get(raw, "region", text(), key, ""),
        connect_timeout_s=_get(raw, "connectTimeoutSec", positive_int(30), key, 30),
        qos=_get(raw, "qos", integer(0, 1), key, 0),
        client_id=_get(raw, "clientId", text(), key, ""),
        persistent_session=_get(raw, "persistentSession", BOOLEAN, key, False),
        session_expiry_s=_get(raw, "sessionExpirySec", _EXPIRY, key, DEFAULT_SESSION_EXPIRY_S),
        reconnect_max_s=_get(raw, "reconnectMaxSec", _BACKOFF, key, DEFAULT_RECONNECT_MAX_S),
    )


def _get(raw: Mapping[str, object], name: str, parser: Parser[T], key: str, default: T) -> T:
    value = raw.get(name)
    return default if value is None else parser(value, f"{key}.{name}")


def _parse_sources(value: object, key: str) -> tuple[MqttSource, ...]:
    if not isinstance(value, list):
        raise ConfigError(key, "a list of source objects", value)
    sources = tuple(parse_source(raw, f"{key}[{i}]", i) for i, raw in enumerate(value))
    seen: set[str] = set()
    for index, source in enumerate(sources):
        if source.name in seen:
            raise ConfigError(f"{key}[{index}].name", "a name no other source uses", source.name)
        seen.add(source.name)
    return sources


def _source_notes(value: object, key: str) -> list[str]:
    if not isinstance(value, list):
        return []
    notes: list[str] = []
    for index, raw in enumerate(value):
        if isinstance(raw, dict):
            notes += unknown_keys(raw, _SOURCE_KEYS, f"{key}[{index}]")
    return notes


MQTT_SOURCES: Parser[tuple[MqttSource, ...]] = Parser(
    "list", "a list of source objects", _parse_sources, _source_notes
)


def legacy_source(raw: object, key: str) -> tuple[MqttSource, list[str]]:
    """protocol §2.1: the old `mqtt: {broker, topic}` becomes one source named `default`."""
    if not isinstance(raw, dict):
        raise ConfigError(key, "an object with 'broker' and optional 'topic'", raw)
    notes = unknown_keys(raw, ("broker", "topic"), key)
    broker, user, password = parse_broker(raw.get("broker"), f"{key}.broker")
    topic = _get(raw, "topic", text(), key, "")
    topics = (check_topic_filter(topic, f"{key}.topic"), DEFAULT_TOPIC) if topic else ()
    return _simple_source("default", broker, user, password, topics), notes


def env_source(broker_url: str, topic: str | None) -> MqttSource:
    """protocol §2.1: MQTT_BROKER (and MQTT_TOPIC) replace every source with one named `env`."""
    broker, user, password = parse_broker(broker_url, "MQTT_BROKER")
    topic = (topic or "").strip()
    topics = (check_topic_filter(topic, "MQTT_TOPIC"),) if topic else ()
    return _simple_source("env", broker, user, password, topics)


def _simple_source(
    name: str, broker: BrokerUrl, user: str | None, password: str | None, topics: tuple[str, ...]
) -> MqttSource:
    return MqttSource(
        name=name,
        broker=broker,
        username=user,
        password=Secret(password) if password else None,
        topics=tuple(dict.fromkeys(topics)) or (DEFAULT_TOPIC,),
    )


def subscription_topic(topic_filter: str) -> str:
    """The filter that received topics match: a shared subscription without `$share/<group>/`."""
    if topic_filter.startswith("$share/"):
        return topic_filter.split("/", 2)[2]
    return topic_filter
