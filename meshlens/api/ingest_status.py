"""GET /api/ingest/status and the meshlens_mqtt_* metrics: live ingest, per source.

`pipeline` counts what reached the writer from any source (MQTT, the demo, POSTs);
`mqtt.sources` counts each broker's messages from receipt on, and `mqtt.total` sums them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from meshlens.ingest.counters import CounterSnapshot
from meshlens.ingest.mqtt import MqttFeed
from meshlens.ingest.pipeline_process import PipelineProcess
from meshlens.ingest.source_counters import SourceSnapshot
from meshlens.ingest.worker import IngestWorker
from meshlens.records import JSONObject
from meshlens.times import iso_millis


def _at(ms: int | None) -> str | None:
    return None if ms is None else iso_millis(ms)


def _pipeline_json(c: CounterSnapshot) -> JSONObject:
    return {
        "received": c.received,
        "storedObservations": c.stored_observations,
        "newTransmissions": c.new_transmissions,
        "duplicates": c.duplicates,
        "dropped": c.dropped,
        "rejected": dict(sorted(c.rejected.items())),
        "lastMessageAt": _at(c.last_message_ms),
    }


def _process_json(pipeline: object) -> JSONObject | None:
    """The pipeline's child process (ingest.pipelineProcess), or None when it runs here."""
    if not isinstance(pipeline, PipelineProcess):
        return None
    return {"pid": pipeline.pid, "restarts": pipeline.restarts}


def _counts_json(s: SourceSnapshot) -> JSONObject:
    return {
        "received": s.received,
        "decoded": s.decoded,
        "storedObservations": s.stored,
        "newTransmissions": s.new_transmissions,
        "duplicates": s.duplicates,
        "statusMessages": s.statuses,
        "dropped": s.dropped,
        "rejected": dict(sorted(s.rejected.items())),
        "filtered": dict(sorted(s.filtered.items())),
        "lastMessageAt": _at(s.last_message_ms),
    }


def _source_json(feed: MqttFeed) -> JSONObject:
    state, source = feed.state, feed.source
    return {
        "name": feed.name,
        "broker": str(source.broker),
        "topics": list(source.topics),
        "qos": source.qos,
        "connected": state.connected,
        "subscribed": state.subscribed,
        "connects": state.connects,
        "disconnects": state.disconnects,
        "failures": state.failures,
        "lastError": state.last_error,
        "since": _at(state.since_ms),
        "sessionPresent": state.session_present,
        "protocolErrors": state.protocol_errors,
        **_counts_json(feed.snapshot()),
    }


def total(snapshots: Sequence[SourceSnapshot]) -> SourceSnapshot:
    """The sum of several sources' counters."""
    rejected: Counter[str] = Counter()
    filtered: Counter[str] = Counter()
    for s in snapshots:
        rejected.update(s.rejected)
        filtered.update(s.filtered)
    lasts = [s.last_message_ms for s in snapshots if s.last_message_ms is not None]
    return SourceSnapshot(
        name="total",
        received=sum(s.received for s in snapshots),
        decoded=sum(s.decoded for s in snapshots),
        stored=sum(s.stored for s in snapshots),
        new_transmissions=sum(s.new_transmissions for s in snapshots),
        duplicates=sum(s.duplicates for s in snapshots),
        statuses=sum(s.statuses for s in snapshots),
        dropped=sum(s.dropped for s in snapshots),
        rejected=dict(rejected),
        filtered=dict(filtered),
        last_message_ms=max(lasts) if lasts else None,
    )


def ingest_status(worker: IngestWorker, feeds: Sequence[MqttFeed]) -> JSONObject:
    """The body of GET /api/ingest/status."""
    return {
        "queue": {"depth": worker.depth, "capacity": worker.capacity},
        "pipeline": _pipeline_json(worker.counters.snapshot()),
        "pipelineProcess": _process_json(worker.pipeline),
        "mqtt": {
            "total": _counts_json(total([feed.snapshot() for feed in feeds])),
            "sources": [_source_json(feed) for feed in feeds],
        },
    }


_COUNTS = (
    ("received", "MQTT messages received."),
    ("decoded", "Packet messages whose frame decoded (stored or duplicate)."),
    ("stored", "Observations written."),
    ("duplicates", "Packet messages already stored (same observer and path)."),
    ("statuses", "Observer status messages applied."),
    ("dropped", "Messages lost to a full ingest queue."),
)


class MqttCollector:
    """meshlens_mqtt_*: one series per source."""

    def __init__(self, feeds: Sequence[MqttFeed]) -> None:
        self._feeds = tuple(feeds)

    def collect(self) -> Iterable[Metric]:
        """Read every source's counters and connection once."""
        lab = ["source"]
        families = {
            name: CounterMetricFamily(f"meshlens_mqtt_{name}", doc, labels=lab)
            for name, doc in _COUNTS
        }
        rejected = CounterMetricFamily(
            "meshlens_mqtt_rejected", "Messages refused, by reason.", labels=["source", "reason"]
        )
        filtered = CounterMetricFamily(
            "meshlens_mqtt_filtered",
            "Messages a rule skipped, by rule.",
            labels=["source", "reason"],
        )
        connected = GaugeMetricFamily("meshlens_mqtt_connected", "1 while connected.", labels=lab)
        connects = CounterMetricFamily("meshlens_mqtt_connects", "Successful connects.", labels=lab)
        last = GaugeMetricFamily(
            "meshlens_mqtt_last_message_timestamp_seconds", "Last message.", labels=lab
        )
        for feed in self._feeds:
            s, state, name = feed.snapshot(), feed.state, [feed.name]
            for field, _ in _COUNTS:
                families[field].add_metric(name, getattr(s, field))
            for reason, count in sorted(s.rejected.items()):
                rejected.add_metric([feed.name, reason], count)
            for reason, count in sorted(s.filtered.items()):
                filtered.add_metric([feed.name, reason], count)
            connected.add_metric(name, float(state.connected))
            connects.add_metric(name, state.connects)
            if s.last_message_ms is not None:
                last.add_metric(name, s.last_message_ms / 1000.0)
        return [*families.values(), rejected, filtered, connected, connects, last]
