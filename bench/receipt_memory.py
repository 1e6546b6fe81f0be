"""Memory of an MQTT receipt process (`meshlens.ingest.mqttChildProcess: true`), one source.

A real MqttFeed with `child_process=True` subscribes to the machine's Mosquitto from this
process, which has imported what `meshlens serve` imports; once the source has subscribed,
the proportional set size (PSS) of each process this one started is its receipt's.

    flock /work/bench.lock env PYTHONPATH=. python -m bench.receipt_memory
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import psutil

import meshlens.cli  # noqa: F401 - the server's imports, whose pages the child shares or not
from bench.load import pss_kb
from bench.mqtt_load import SHARED_PORT
from bench.suite import Context, Row
from meshlens.config import Settings
from meshlens.config.mqtt_sources import BrokerUrl, MqttSource
from meshlens.ingest.mqtt import MqttFeed
from meshlens.ingest.routing import RoutingRules
from meshlens.ingest.worker import IngestWorker
from meshlens.storage import open_storage

ORDER = 56


def measure() -> dict[str, float]:
    """PSS of the receipt process of one subscribed source, and how many processes it is."""
    source = MqttSource("memory", BrokerUrl("mqtt", "127.0.0.1", SHARED_PORT),
                        topics=("meshlens-bench-memory/+/+/packets",))  # fmt: skip
    feed = MqttFeed(source, RoutingRules(), child_process=True)
    with tempfile.TemporaryDirectory(prefix="meshlens-bench-") as tmp:
        storage = open_storage(Settings(db_path=Path(tmp) / "receipt.db"))
        worker = IngestWorker(storage.pipeline)
        worker.start()
        feed.start(worker)
        try:
            if not feed.wait_subscribed(timeout_s=30):
                raise RuntimeError("the receipt process did not subscribe")
            time.sleep(0.5)  # let it settle after the subscription
            children = psutil.Process().children(recursive=True)
            return {"pss_kb": sum(pss_kb(p.pid) for p in children), "processes": len(children)}
        finally:
            feed.stop()
            worker.stop()
            storage.close()


def rows(ctx: Context) -> list[Row]:
    """The receipt process's PSS."""
    del ctx
    m = measure()
    return [
        Row(
            "ingest",
            "PSS of an MQTT receipt process (`mqttChildProcess: true`), per source",
            f"{m['pss_kb'] / 1024:.0f} MB",
            note=f"{int(m['processes'])} process(es) beside the server, once subscribed",
        )
    ]


def main() -> None:
    """Print the receipt process's PSS."""
    m = measure()
    print(f"receipt process: {m['pss_kb'] / 1024:.1f} MB PSS in {int(m['processes'])} process(es)")


if __name__ == "__main__":
    main()
