"""The nested sections of Settings, one frozen dataclass per JSON object.

Field order is the order of docs/configuration.md. Defaults are CoreScope's unless a
setting is marked `origin="meshlens"`.
"""

from __future__ import annotations

from dataclasses import dataclass

from meshlens.config.registry import section, setting
from meshlens.config.values import (
    BOOLEAN,
    choice,
    fraction,
    integer,
    optional_positive_int,
    positive_int,
    positive_number,
)

DEFAULT_INTERVAL_S = 300
# A round of the nine analytics at the staging profile takes ~0.5-0.6 s of CPU
# (bench/compute_round.py): paced at 2 % of a CPU (only while reads are busy) it
# finishes within ~30 s, inside the 300 s cadence.
DEFAULT_COMPUTE_CPU_SHARE = 0.02


@dataclass(frozen=True, slots=True)
class ForeignAdvertSettings:
    """What happens to adverts from outside `geo_filter` (protocol §18)."""

    mode: str = setting(
        "mode",
        "flag",
        choice("flag", "drop"),
        "`flag` stores adverts from outside `geo_filter` and marks their node foreign;"
        " `drop` discards them.",
    )


@dataclass(frozen=True, slots=True)
class ClientRxCoverageSettings:
    """Mobile client RX coverage (protocol §2.7)."""

    enabled: bool = setting(
        "enabled",
        False,
        BOOLEAN,
        "Record what phones on `meshcore/client/<pubkey>/packets` heard and where (protocol"
        " §2.7). Not built yet: turning it on logs a warning at start, and those messages"
        " are stored as any observer's packets, as with it off.",
    )


@dataclass(frozen=True, slots=True)
class MetricsSettings:
    """Observer status metrics (protocol §11)."""

    sample_interval_s: int = setting(
        "sampleIntervalSec",
        300,
        positive_int(300),
        "Observer status metrics are stored at most once per this many seconds per observer"
        " (timestamps rounded to a multiple of it).",
    )


@dataclass(frozen=True, slots=True)
class RetentionSettings:
    """How long stored data is kept (protocol §11, §12)."""

    node_days: int = setting(
        "nodeDays",
        7,
        positive_int(7),
        "Nodes not heard for this many days move to the inactive list (CoreScope; not"
        " applied by meshlens yet, which keeps every node).",
    )
    observer_days: int = setting(
        "observerDays",
        14,
        integer(-1),
        "Observers silent for this many days are marked inactive and their metrics"
        " deleted; -1 keeps them forever.",
    )
    metrics_days: int = setting(
        "metricsDays",
        30,
        positive_int(30),
        "Observer metrics older than this many days are deleted (each retention pass).",
    )
    packet_days: int = setting(
        "packetDays",
        0,
        integer(0),
        "Transmissions whose latest sighting is older than this many days are deleted, with"
        " their observations, from the database and from memory; 0 keeps them all.",
    )
    max_database_mb: int = setting(
        "maxDatabaseMB",
        0,
        integer(0),
        "When the data in the database file grows past this many MB, the oldest"
        " transmissions are deleted until it is a tenth under, and the file shrinks;"
        " 0 means no limit.",
        origin="meshlens",
    )
    check_interval_min: int = setting(
        "checkIntervalMinutes",
        60,
        positive_int(60),
        "How often retention runs (the first pass one interval after the store has loaded).",
        origin="meshlens",
    )


@dataclass(frozen=True, slots=True)
class PacketStoreSettings:
    """The in-memory window that analytics and packet lists read (protocol §15)."""

    retention_hours: int = setting(
        "retentionHours",
        0,
        integer(0),
        "Only transmissions seen in the last this-many hours are held in memory; 0 holds"
        " everything (CoreScope's example config uses 168).",
    )
    max_memory_mb: int = setting(
        "maxMemoryMB",
        0,
        integer(0),
        "Cap on the in-memory store in MB; the oldest transmissions are evicted first."
        " 0 means no cap.",
    )
    hot_startup_hours: int = setting(
        "hotStartupHours",
        0,
        integer(0),
        "At startup load only this many recent hours before serving, then the rest in the"
        " background; 0 loads everything first.",
    )


def _interval(key: str, analytic: str) -> int | None:
    return setting(
        key,
        None,
        optional_positive_int(),
        f"Seconds between recomputes of {analytic}.",
        shown="`analytics.defaultIntervalSeconds`",
    )


@dataclass(frozen=True, slots=True)
class RecomputeIntervals:
    """Per-analytic recompute intervals; None means `analytics.defaultIntervalSeconds`."""

    topology: int | None = _interval("topology", "topology")
    rf: int | None = _interval("rf", "RF")
    distance: int | None = _interval("distance", "distance")
    channels: int | None = _interval("channels", "channels")
    hash_collisions: int | None = _interval("hashCollisions", "hash collisions")
    hash_sizes: int | None = _interval("hashSizes", "hash sizes")
    roles: int | None = _interval("roles", "roles")
    observers_clock_skew: int | None = _interval("observersClockSkew", "observer clock skew")
    nodes_clock_skew: int | None = _interval("nodesClockSkew", "node clock skew")


def _squash(name: str) -> str:
    """hash-collisions, hash_collisions and hashCollisions all become hashcollisions."""
    return name.replace("-", "").replace("_", "").lower()


@dataclass(frozen=True, slots=True)
class AnalyticsSettings:
    """How often analytics are recomputed in the background (recomputer.md)."""

    default_interval_s: int = setting(
        "defaultIntervalSeconds",
        DEFAULT_INTERVAL_S,
        positive_int(DEFAULT_INTERVAL_S),
        "Seconds between background recomputes of each analytic's default view, unless"
        " `analytics.recomputeIntervalSeconds` names its own.",
    )
    recompute_intervals: RecomputeIntervals = section(
        "recomputeIntervalSeconds",
        RecomputeIntervals,
        "Per-analytic overrides of `analytics.defaultIntervalSeconds`.",
    )
    max_staleness_s: int = setting(
        "maxStalenessSeconds",
        0,
        integer(0),
        "A snapshot older than this is served with a staleness header; 0 means three times"
        " the analytic's own interval.",
        origin="meshlens",
    )
    compute_in: str = setting(
        "computeIn",
        "fork",
        choice("thread", "fork", "replica"),
        "Where computes run: `fork` (a forked, niced child per compute handing back encoded"
        " bytes, so reads never wait on the GIL), `replica` (the recomputers in one"
        " long-lived niced child that follows the store: no fork per round, but the child's"
        " copy of the store grows apart from the server's, up to ~200 MB more at staging"
        " size; filtered shapes still fork) or `thread` (worker threads in the server"
        " process; for platforms without fork).",
        origin="meshlens",
    )
    compute_cpu_share: float = setting(
        "computeCpuShare",
        DEFAULT_COMPUTE_CPU_SHARE,
        fraction(),
        "The share of one CPU the background recomputes may average while reads keep the"
        " server busy (its event loop's thread on the CPU half the time or more, until it"
        " falls below a quarter): each round of computes is then followed by a rest in"
        " proportion to its CPU time (1 means no rest). Reads on a busy machine slow down"
        " with the time computes run, whatever their priority (docs/benchmarks.md,"
        ' "Serving"). When reads are light, during the'
        " first pass, and for the filtered shapes a client waits for, computes are not paced.",
        origin="meshlens",
    )

    def interval_s(self, analytic: str) -> int:
        """The recompute interval of an analytic, by config key or route name."""
        wanted = _squash(analytic)
        for name in RecomputeIntervals.__dataclass_fields__:
            if _squash(name) == wanted:
                value: int | None = getattr(self.recompute_intervals, name)
                return value or self.default_interval_s
        return self.default_interval_s

    def staleness_limit_s(self, analytic: str) -> int:
        """Age past which an analytic's snapshot is reported stale."""
        return self.max_staleness_s or 3 * self.interval_s(analytic)


@dataclass(frozen=True, slots=True)
class CacheTTLSettings:
    """TTLs of the on-request caches for filtered shapes (analytics-part-b §0.6)."""

    analytics_rf_s: float = setting(
        "analyticsRF",
        60.0,
        positive_number(60.0),
        "Seconds a filtered (region or window) analytics result is reused: rf, topology,"
        " distance, channels and hash sizes.",
    )
    analytics_topology_s: float = setting(
        "analyticsTopology",
        1800.0,
        positive_number(1800.0),
        "Passed to the dashboard by /api/config/cache only; the server does not use it.",
    )
    analytics_channels_s: float = setting(
        "analyticsChannels",
        1800.0,
        positive_number(1800.0),
        "Passed to the dashboard by /api/config/cache only; the server does not use it.",
    )
    analytics_hash_sizes_s: float = setting(
        "analyticsHashSizes",
        3600.0,
        positive_number(3600.0),
        "Seconds a filtered hash-collisions result is reused (despite the name, not hash sizes).",
    )
    invalidation_debounce_s: float = setting(
        "invalidationDebounce",
        300.0,
        positive_number(300.0),
        "Ingest clears the filtered caches at most once per this many seconds.",
    )


@dataclass(frozen=True, slots=True)
class ListLimits:
    """Caps on `?limit=` for list endpoints (api-resources §0.2)."""

    packets_max: int = setting(
        "packetsMax", 10000, positive_int(10000), "Largest `limit` of /api/packets."
    )
    nodes_max: int = setting("nodesMax", 2000, positive_int(2000), "Largest `limit` of /api/nodes.")
    channel_messages_max: int = setting(
        "channelMessagesMax",
        500,
        positive_int(500),
        "Largest `limit` of /api/channels/{hash}/messages.",
    )
    bulk_health_max: int = setting(
        "bulkHealthMax", 200, positive_int(200), "Largest `limit` of /api/nodes/bulk-health."
    )
    analytics_max: int = setting(
        "analyticsMax", 200, positive_int(200), "Largest `limit` of analytics lists."
    )


@dataclass(frozen=True, slots=True)
class HealthThresholds:
    """When a node counts as degraded or silent (api-resources §5, §6)."""

    infra_degraded_hours: float = setting(
        "infraDegradedHours",
        24.0,
        positive_number(24.0),
        "A repeater or room not heard for this many hours is degraded.",
    )
    infra_silent_hours: float = setting(
        "infraSilentHours",
        72.0,
        positive_number(72.0),
        "A repeater or room not heard for this many hours is silent.",
    )
    node_degraded_hours: float = setting(
        "nodeDegradedHours",
        1.0,
        positive_number(1.0),
        "Any other node not heard for this many hours is degraded.",
    )
    node_silent_hours: float = setting(
        "nodeSilentHours",
        24.0,
        positive_number(24.0),
        "Any other node not heard for this many hours is silent.",
    )
    relay_active_hours: float = setting(
        "relayActiveHours",
        24.0,
        positive_number(24.0),
        "A repeater that relayed within this many hours is `relay_active`.",
    )


@dataclass(frozen=True, slots=True)
class CompressionSettings:
    """Response compression (api-resources §0.1)."""

    gzip: bool = setting("gzip", False, BOOLEAN, "Gzip JSON responses for clients that accept it.")


@dataclass(frozen=True, slots=True)
class ObserversCacheSettings:
    """The /api/observers snapshot (api-resources §7)."""

    ttl_s: int = setting(
        "ttlSeconds",
        30,
        positive_int(30),
        "Seconds the unfiltered /api/observers answer is reused.",
    )


@dataclass(frozen=True, slots=True)
class IngestSettings:
    """How the pipeline batches writes."""

    batch_size: int = setting(
        "batchSize",
        500,
        integer(1),
        "Frames a batch waits for (up to batchLatencyMs) before it is written; a backlog"
        " already queued is written up to 20,000 at a time.",
        origin="meshlens",
    )
    batch_latency_ms: int = setting(
        "batchLatencyMs",
        50,
        integer(0),
        "Longest a frame waits for its batch to fill before it is written anyway.",
        origin="meshlens",
    )
    busy_batch_latency_ms: int = setting(
        "busyBatchLatencyMs",
        1000,
        integer(0),
        "`batchLatencyMs` while the API is busy (its event loop's thread on the CPU at least"
        " half the time, until it falls below a quarter): fewer, larger batches take a"
        " quarter of the CPU time from the serving process that small ones do"
        ' (docs/benchmarks.md, "Serving").',
        origin="meshlens",
    )
    pipeline_process: bool = setting(
        "pipelineProcess",
        False,
        BOOLEAN,
        "Run the ingest pipeline (decoding and database writes) in a low-priority child"
        " process (~31 MB), the serving process only appending its rows to the store:"
        " with `mqttChildProcess` too, ingest's Python leaves the GIL that serves reads"
        ' (docs/architecture.md, "The pipeline process"); false: on a thread of the server.',
        origin="meshlens",
    )
    mqtt_child_process: bool = setting(
        "mqttChildProcess",
        False,
        BOOLEAN,
        "Receive and route each MQTT source in a child process of its own (~17 MB more per"
        " source), so receipt and writing use two cores; with `pipelineProcess`, ingest's"
        ' Python then stays out of the serving process (docs/architecture.md, "The pipeline'
        ' process"); false: on a thread of the server.',
        origin="meshlens",
    )
