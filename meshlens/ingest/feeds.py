"""The server's live feeds of sightings: what one is, and the MQTT ones the settings name."""

from __future__ import annotations

from typing import Protocol

from meshlens.config import Settings
from meshlens.ingest.mqtt import MqttFeed, mqtt_feeds
from meshlens.ingest.routing import RoutingRules
from meshlens.ingest.worker import IngestWorker


class Feed(Protocol):
    """A live source of sightings: an MQTT source, or the demo simulator."""

    name: str

    def start(self, worker: IngestWorker) -> None:
        """Begin offering sightings to `worker` (they queue while the store loads)."""
        ...

    def stop(self) -> None:
        """Stop offering; return once nothing more will be offered."""
        ...


def routing_rules(settings: Settings) -> RoutingRules:
    """protocol §2.3's filters shared by every source (each adds its own iataFilter)."""
    return RoutingRules(
        observer_blacklist=frozenset(settings.observer_blacklist),
        iata_whitelist=frozenset(settings.observer_iata_whitelist),
    )


def live_feeds(settings: Settings) -> list[MqttFeed]:
    """One feed per configured MQTT source."""
    return mqtt_feeds(
        settings.mqtt_sources,
        routing_rules(settings),
        child_process=settings.meshlens.ingest.mqtt_child_process,
    )
