"""What the API's endpoints read: the parts the composition root built, in one record."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry

from meshlens.api.analytics import AnalyticsService
from meshlens.api.loop_lag import LoopLag
from meshlens.api.metrics import RequestStats
from meshlens.api.resources.service import ResourceService
from meshlens.config import Settings
from meshlens.ingest.mqtt import MqttFeed
from meshlens.ingest.worker import IngestWorker
from meshlens.recomputer import RecomputerSet, Runner
from meshlens.records import Clock
from meshlens.store.store import PacketStore
from meshlens.wire import ChannelKeys, RegionKeys


@dataclass(slots=True)
class ServerStatus:
    """The server's life as the API reports it; written by the composition root only."""

    started_ms: int
    started_s: float  # monotonic
    demo: bool = False
    loaded: bool = False
    load_error: str | None = None


@dataclass(frozen=True, slots=True)
class ApiContext:
    """Everything an endpoint may read; built once per server."""

    settings: Settings
    service: AnalyticsService
    recomputers: RecomputerSet
    store: PacketStore
    worker: IngestWorker
    runner: Runner
    clock: Clock
    keys: ChannelKeys
    regions: RegionKeys
    requests: RequestStats
    loop_lag: LoopLag
    registry: CollectorRegistry
    status: ServerStatus
    resources: ResourceService
    feeds: tuple[MqttFeed, ...] = ()  # the live MQTT sources, for /api/ingest/status
