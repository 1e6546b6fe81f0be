"""The Settings tree's root: top-level keys of config.json and meshlens' own block.

Field order is the order of docs/configuration.md. Build it with `load_settings`; a bare
`Settings()` holds every default and suits tests.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from meshlens.config.geo import AREAS, GEO_FILTER, Area, GeoFilter
from meshlens.config.mqtt_sources import LOCAL_SOURCE, MQTT_SOURCES, MqttSource
from meshlens.config.registry import derived, section, setting
from meshlens.config.secret import Secret
from meshlens.config.sections import (
    AnalyticsSettings,
    CacheTTLSettings,
    ClientRxCoverageSettings,
    CompressionSettings,
    ForeignAdvertSettings,
    HealthThresholds,
    IngestSettings,
    ListLimits,
    MetricsSettings,
    ObserversCacheSettings,
    PacketStoreSettings,
    RetentionSettings,
)
from meshlens.config.values import (
    BOOLEAN,
    CHANNEL_KEYS,
    OPTIONAL_PATH,
    OPTIONAL_SECRET,
    PATH,
    choice,
    hashtag,
    integer,
    lower,
    positive_int,
    strings,
    text,
    upper,
)

_NO_KEYS: Mapping[str, Secret] = MappingProxyType({})
_NO_AREAS: Mapping[str, Area] = MappingProxyType({})

DATABASE_NAME = "meshlens.db"  # dbPath defaults to this file inside meshlens.dataDir


@dataclass(frozen=True, slots=True)
class MeshlensSettings:
    """meshlens' own settings, kept under one `meshlens` object so CoreScope ignores them."""

    data_dir: Path = setting(
        "dataDir",
        Path("data"),
        PATH,
        "Directory for the database and other state; `dbPath` defaults to meshlens.db in it.",
        origin="meshlens",
    )
    host: str = setting(
        "host",
        "0.0.0.0",
        text(allow_empty=False),
        "Address the HTTP server binds (0.0.0.0: every interface, as CoreScope;"
        " 127.0.0.1: this machine only).",
        origin="meshlens",
    )
    log_level: str = setting(
        "logLevel",
        "info",
        choice("debug", "info", "warning", "error"),
        "Least severe log level written.",
        origin="meshlens",
    )
    demo: bool = setting(
        "demo",
        False,
        BOOLEAN,
        "Feed the server from the built-in mesh simulator instead of MQTT, for trying"
        " meshlens without radios.",
        origin="meshlens",
    )
    reserve_serving_cpu: bool = setting(
        "reserveServingCpu",
        True,
        BOOLEAN,
        "With two CPUs or more, keep one for the event loop while reads keep it busy (and for"
        " granian's threads while a compute child lives), and run computes and ingest's"
        " threads on the others, so a compute never empties the caches the loop works from"
        ' (docs/architecture.md, "The serving CPU"); false: every thread may run on any CPU.',
        origin="meshlens",
    )
    ingest: IngestSettings = section("ingest", IngestSettings, "Write batching.")


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything meshlens is configured with; built once at startup and passed down."""

    port: int = setting(
        "port",
        3000,
        integer(0, 65535),
        "TCP port of the HTTP API and dashboard (0 picks a free port).",
        env=("PORT",),
    )
    db_path: Path = setting(
        "dbPath",
        Path("data") / DATABASE_NAME,
        PATH,
        "The SQLite database file (created if missing).",
        env=("DB_PATH",),
        shown="`<meshlens.dataDir>/meshlens.db`",
    )
    api_key: Secret | None = setting(
        "apiKey",
        None,
        OPTIONAL_SECRET,
        "Key that clients send in the `X-API-Key` header to use the write and admin"
        " endpoints; empty means none is configured (see docs/api.md).",
    )
    mqtt_sources: tuple[MqttSource, ...] = setting(
        "mqttSources",
        (LOCAL_SOURCE,),
        MQTT_SOURCES,
        "Brokers to subscribe to: objects with `name`, `broker` (mqtt://, mqtts://, ws://,"
        " wss://), `username`, `password`, `rejectUnauthorized` (true), `topics`"
        ' (["meshcore/+/+/packets", "meshcore/+/+/status"]; `$share/<group>/...` for an MQTT v5'
        " shared subscription), `iataFilter`, `region`, `connectTimeoutSec` (30), `qos` (0 or 1),"
        " `clientId`, `persistentSession` (false; with qos 1 the broker keeps what arrives"
        " while meshlens is down), `sessionExpirySec` (604800), `reconnectMaxSec` (4, the cap"
        " of the reconnect backoff). Also see `mqtt`, `MQTT_BROKER` and `MQTT_TOPIC` below.",
        shown="one source `local` at `mqtt://localhost:1883`",
    )
    ingest_buffer_size: int = setting(
        "ingestBufferSize",
        50000,
        positive_int(50000),
        "Messages that may wait between MQTT and the writer; one arriving when the queue is"
        " full is dropped and counted.",
    )
    observer_blacklist: tuple[str, ...] = setting(
        "observerBlacklist",
        (),
        strings(lower),
        "Observer ids whose messages are dropped and who are hidden from the API"
        " (compared trimmed, case-insensitively).",
    )
    observer_iata_whitelist: tuple[str, ...] = setting(
        "observerIATAWhitelist",
        (),
        strings(upper),
        "When non-empty, only messages whose topic region is one of these IATA codes are ingested.",
    )
    validate_signatures: bool = setting(
        "validateSignatures",
        True,
        BOOLEAN,
        "Drop adverts whose Ed25519 signature does not verify (protocol §7).",
    )
    geo_filter: GeoFilter | None = setting(
        "geo_filter",
        None,
        GEO_FILTER,
        "Region whose adverts count as local: `polygon` ([[lat, lon], ...], at least 3) with"
        " optional `bufferKm`, or `latMin`/`latMax`/`lonMin`/`lonMax` (protocol §18).",
        shown="none (every position is local)",
    )
    foreign_adverts: ForeignAdvertSettings = section(
        "foreignAdverts", ForeignAdvertSettings, "Adverts from outside `geo_filter`."
    )
    client_rx_coverage: ClientRxCoverageSettings = section(
        "clientRxCoverage", ClientRxCoverageSettings, "Mobile client RX coverage."
    )
    channel_keys: Mapping[str, Secret] = setting(
        "channelKeys",
        _NO_KEYS,
        CHANNEL_KEYS,
        "Private channel keys: channel name -> 32 hex characters. Applied last, so they"
        " replace rainbow or hashtag keys of the same name (protocol §4.4).",
    )
    hash_channels: tuple[str, ...] = setting(
        "hashChannels",
        (),
        strings(hashtag),
        "Hashtag channels whose key is derived from the name (`#` added when missing).",
    )
    channel_keys_path: Path | None = setting(
        "channelKeysPath",
        None,
        OPTIONAL_PATH,
        "JSON file of channel name -> hex key (a rainbow table); a missing file is an error"
        " when named here.",
        env=("CHANNEL_KEYS_PATH",),
        shown="`channel-rainbow.json` beside the config file, if present",
    )
    rainbow_keys: Mapping[str, Secret] = derived(_NO_KEYS, "The keys read from `channelKeysPath`.")
    hash_regions: tuple[str, ...] = setting(
        "hashRegions",
        (),
        strings(hashtag),
        "Region scope names to recognise in transport codes (`#` added when missing, protocol §8).",
    )
    node_blacklist: tuple[str, ...] = setting(
        "nodeBlacklist",
        (),
        strings(lower),
        "Node public keys hidden from every list and analytic (compared trimmed,"
        " case-insensitively).",
    )
    hidden_name_prefixes: tuple[str, ...] = setting(
        "hiddenNamePrefixes",
        (),
        strings(),
        "Nodes whose name starts with any of these (case-sensitive) are hidden.",
    )
    areas: Mapping[str, Area] = setting(
        "areas",
        _NO_AREAS,
        AREAS,
        "Named map areas for `?area=<key>`: each has a `label` and a `polygon` or"
        " `latMin`/`latMax`/`lonMin`/`lonMax`.",
    )
    cors_allowed_origins: tuple[str, ...] = setting(
        "corsAllowedOrigins",
        (),
        strings(),
        'Origins allowed to call the API from a browser ("*" for any); empty sends no CORS'
        " headers. The variables take a comma-separated list.",
        env=("CORS_ALLOWED_ORIGINS",),
    )
    compression: CompressionSettings = section(
        "compression", CompressionSettings, "Response compression."
    )
    list_limits: ListLimits = section("listLimits", ListLimits, "Caps on `?limit=`.")
    health_thresholds: HealthThresholds = section(
        "healthThresholds", HealthThresholds, "Node health thresholds."
    )
    observers_cache: ObserversCacheSettings = section(
        "observersCache", ObserversCacheSettings, "The observers list cache."
    )
    cache_ttl: CacheTTLSettings = section(
        "cacheTTL", CacheTTLSettings, "Caches of filtered analytics."
    )
    metrics: MetricsSettings = section("metrics", MetricsSettings, "Observer metrics.")
    retention: RetentionSettings = section("retention", RetentionSettings, "Data retention.")
    packet_store: PacketStoreSettings = section(
        "packetStore", PacketStoreSettings, "The in-memory store."
    )
    analytics: AnalyticsSettings = section("analytics", AnalyticsSettings, "Background recomputes.")
    meshlens: MeshlensSettings = section("meshlens", MeshlensSettings, "meshlens' own settings.")
