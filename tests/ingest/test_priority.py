"""Ingest's threads (and a receipt process) run at the niceness they are given, the rest do not."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from meshlens.config import Settings
from meshlens.config.mqtt_sources import BrokerUrl, MqttSource
from meshlens.db.database import Database
from meshlens.ingest.mqtt import MqttFeed
from meshlens.ingest.pipeline_process import PipelineProcess, PipelineSpec
from meshlens.ingest.routing import RoutingRules
from meshlens.ingest.worker import IngestWorker
from meshlens.priority import lower_thread_priority, lower_thread_priority_to
from meshlens.storage import open_storage
from meshlens.store.store import PacketStore
from tests.ingest.brokers import unique_prefix
from tests.ingest.helpers import T0, advert_frame, sighting
from tests.ingest.test_mqtt_end_to_end import wait_for

pytestmark = pytest.mark.skipif(not hasattr(os, "getpriority"), reason="POSIX niceness")


def niceness_of(thread_id: int) -> int:
    """A thread's (or a process's main thread's) niceness."""
    return os.getpriority(os.PRIO_PROCESS, thread_id)


def own_niceness() -> int:
    """The calling thread's niceness."""
    return niceness_of(threading.get_native_id())


def in_new_thread(niceness: int) -> tuple[int, int]:
    """A fresh thread's niceness before and after lowering it by `niceness`."""
    seen: list[int] = []

    def run() -> None:
        seen.append(own_niceness())
        lower_thread_priority(niceness)
        seen.append(own_niceness())

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    return seen[0], seen[1]


def test_lowering_a_thread_leaves_the_others_and_stops_at_19() -> None:
    base = own_niceness()
    assert in_new_thread(3) == (base, min(19, base + 3))
    assert in_new_thread(0) == (base, base)
    assert in_new_thread(40) == (base, 19)
    assert own_niceness() == base


def test_a_thread_lowered_to_a_niceness_gets_it_never_a_higher_priority() -> None:
    base = own_niceness()
    seen: list[int] = []

    def run() -> None:
        lower_thread_priority_to(base + 3)
        seen.append(own_niceness())
        lower_thread_priority_to(base + 1)  # would raise it again: not done
        seen.append(own_niceness())
        lower_thread_priority_to(40)
        seen.append(own_niceness())

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    assert seen == [min(19, base + 3), min(19, base + 3), 19]


def test_the_pipeline_process_runs_at_its_niceness_whoever_starts_it(tmp_path: Path) -> None:
    """Started from a thread already niced (the ingest worker's), it is not niced twice."""
    base = own_niceness()
    Database(tmp_path / "p.db").close()
    spec = PipelineSpec(tmp_path / "p.db", niceness=base + 7, idle=True)
    process = PipelineProcess(spec, PacketStore())
    seen: list[tuple[int, int]] = []

    def from_a_niced_thread() -> None:
        lower_thread_priority(5)
        process.process([sighting(advert_frame(1), at_ms=T0)])  # starts it
        assert process.pid is not None
        seen.append((niceness_of(process.pid), os.sched_getscheduler(process.pid)))

    try:
        thread = threading.Thread(target=from_a_niced_thread)
        thread.start()
        thread.join()
    finally:
        process.stop()
    assert seen == [(min(19, base + 7), os.SCHED_IDLE)]


def test_the_database_writer_runs_at_its_niceness(tmp_path: Path) -> None:
    base = own_niceness()
    db = Database(tmp_path / "nice.db", writer_niceness=4)
    try:
        writer = db.write(lambda conn: own_niceness())
    finally:
        db.close()
    assert writer == min(19, base + 4)


@contextmanager
def running_worker(tmp_path: Path, niceness: int) -> Iterator[IngestWorker]:
    """A started IngestWorker over a fresh database, stopped and closed afterwards."""
    storage = open_storage(Settings(db_path=tmp_path / "nice.db"))
    worker = IngestWorker(storage.pipeline, niceness=niceness)
    worker.start()
    try:
        yield worker
    finally:
        worker.stop()
        storage.close()


def test_the_ingest_worker_runs_at_its_niceness(tmp_path: Path) -> None:
    base = own_niceness()
    with running_worker(tmp_path, 5) as worker:
        assert worker.call(own_niceness).result(timeout=10) == min(19, base + 5)


@pytest.mark.broker
@pytest.mark.parametrize("child", [False, True])
def test_a_receipt_runs_at_the_niceness_of_the_worker_it_feeds(
    tmp_path: Path, shared_broker: int, child: bool
) -> None:
    base = own_niceness()
    source = MqttSource("nice", BrokerUrl("mqtt", "127.0.0.1", shared_broker),
                        topics=(f"{unique_prefix()}/+/+/packets",))  # fmt: skip
    feed = MqttFeed(source, RoutingRules(), child_process=child)
    with running_worker(tmp_path, 6) as worker:
        try:
            feed.start(worker)
            assert feed.wait_subscribed(timeout_s=30)
            receipt = next(t for t in threading.enumerate() if t.name == "mqtt-nice")
            assert receipt.native_id is not None
            assert niceness_of(receipt.native_id) == min(19, base + 6)
            if child:  # the receipt process inherits its parent thread's niceness
                wait_for(lambda: feed.receipt_pid is not None)
                assert feed.receipt_pid is not None
                assert niceness_of(feed.receipt_pid) == min(19, base + 6)
        finally:
            feed.stop()
    assert own_niceness() == base
