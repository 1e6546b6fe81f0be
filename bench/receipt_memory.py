"""Memory of ingest's processes: an MQTT receipt process (one source), the pipeline process.

A real MqttFeed with `child_process=True` subscribes to the machine's Mosquitto from this
process, which has imported what `meshlens serve` imports, and offers to an IngestWorker
whose pipeline runs in the pipeline process, as `meshlens serve` runs them. Once the
source has subscribed and a batch of 500 sightings has been written, the proportional
set size (PSS) of each process is read. `meshlens serve` starts the pipeline process at
its first batch, so bench/memory.py's server, which ingests nothing, has none.

    flock /work/bench.lock env PYTHONPATH=. python -m bench.receipt_memory
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import psutil

import meshlens.cli  # noqa: F401 - the server's imports, whose pages the child shares or not
from bench.encoder_data import sightings
from bench.load import pss_kb
from bench.mqtt_load import SHARED_PORT
from bench.suite import Context, Row
from meshlens.config import Settings
from meshlens.config.mqtt_sources import BrokerUrl, MqttSource
from meshlens.db.database import Database
from meshlens.ingest.mqtt import MqttFeed
from meshlens.ingest.pipeline_process import PipelineProcess
from meshlens.ingest.routing import RoutingRules
from meshlens.ingest.worker import IngestWorker
from meshlens.placement import pipeline_spec
from meshlens.store.store import PacketStore

ORDER = 56


def measure() -> dict[str, float]:
    """PSS of one subscribed source's receipt process and of the pipeline process, in kB."""
    source = MqttSource("memory", BrokerUrl("mqtt", "127.0.0.1", SHARED_PORT),
                        topics=("meshlens-bench-memory/+/+/packets",))  # fmt: skip
    feed = MqttFeed(source, RoutingRules(), child_process=True)
    with tempfile.TemporaryDirectory(prefix="meshlens-bench-") as tmp:
        db = Database(Path(tmp) / "receipt.db")
        pipeline = PipelineProcess(pipeline_spec(Settings(db_path=db.path)), PacketStore())
        worker = IngestWorker(pipeline)
        worker.start()
        feed.start(worker)
        try:
            if not feed.wait_subscribed(timeout_s=30):
                raise RuntimeError("the receipt process did not subscribe")
            worker.submit(list(sightings(60))[:500]).result()
            time.sleep(0.5)  # let both settle
            children = psutil.Process().children(recursive=True)
            receipts = [p for p in children if p.pid != pipeline.pid]
            return {
                "receipt_kb": sum(pss_kb(p.pid) for p in receipts),
                "processes": len(receipts),
                "pipeline_kb": pss_kb(pipeline.pid) if pipeline.pid is not None else 0,
            }
        finally:
            feed.stop()
            worker.stop()
            pipeline.stop()
            db.close()


def rows(ctx: Context) -> list[Row]:
    """The PSS of the receipt process and of the pipeline process."""
    del ctx
    m = measure()
    return [
        Row(
            "ingest",
            "PSS of an MQTT receipt process (`mqttChildProcess`), per source",
            f"{m['receipt_kb'] / 1024:.0f} MB",
            note=f"{int(m['processes'])} process(es) beside the server, once subscribed",
        ),
        Row(
            "ingest",
            "PSS of the pipeline process (`pipelineProcess`)",
            f"{m['pipeline_kb'] / 1024:.0f} MB",
            note="after a batch of 500 sightings; started at a server's first batch",
        ),
    ]


def main() -> None:
    """Print both processes' PSS."""
    m = measure()
    print(f"receipt process: {m['receipt_kb'] / 1024:.1f} MB PSS in {int(m['processes'])}"
          f" process(es); pipeline process: {m['pipeline_kb'] / 1024:.1f} MB")  # fmt: skip


if __name__ == "__main__":
    main()
