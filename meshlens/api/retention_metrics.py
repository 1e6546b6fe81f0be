"""meshlens_retention_*: what retention has pruned, for /metrics."""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from meshlens.api.metrics import unlabelled
from meshlens.ingest.retention import Retention


class RetentionCollector:
    """Totals over every retention pass since start, and the last pass's figures."""

    def __init__(self, retention: Retention) -> None:
        self._retention = retention

    def collect(self) -> Iterable[Metric]:
        """Read the totals once (one immutable record)."""
        r = self._retention
        t = r.totals
        out = [
            unlabelled(CounterMetricFamily, f"meshlens_retention_{name}", doc, value)
            for name, value, doc in (
                ("passes", t.passes, "Retention passes run."),
                ("transmissions", t.transmissions, "Transmissions pruned."),
                ("observations", t.observations, "Observations pruned."),
                ("observers_inactivated", t.observers_inactivated, "Observers marked inactive."),
                ("metrics_deleted", t.metrics_deleted, "Observer metrics rows deleted."),
            )
        ]
        last = r.last_report
        if last is not None and r.last_pass_ms is not None:
            gauges: tuple[tuple[str, float, str], ...] = (
                ("last_pass_timestamp_seconds", r.last_pass_ms / 1000.0, "Last pass."),
                ("last_store_swap_seconds", last.store_swap_s, "Ingest held for the swap."),
                ("database_file_bytes", last.file_bytes_after, "File size after the pass."),
            )
            out += [
                unlabelled(GaugeMetricFamily, f"meshlens_retention_{gauge_name}", text, level)
                for gauge_name, level, text in gauges
            ]
        return out
