"""The receipt process: small, and its acks reach only the child and connection they belong to."""

from __future__ import annotations

import multiprocessing
import os
import site
import subprocess
import sys
from pathlib import Path

import pytest

from meshlens.config.mqtt_sources import BrokerUrl, MqttSource
from meshlens.ingest import child_process
from meshlens.ingest.mqtt_process import ChildReceipt, _ChildAcks, _PipeEvents
from meshlens.ingest.mqtt_receipt import RoutedBatch
from meshlens.ingest.routing import RoutingRules

SOURCE = MqttSource("s", BrokerUrl("mqtt", "127.0.0.1", 1))


class Recorder:
    """Stands for the feed (events) or a link (acks): records what it is told."""

    def __init__(self) -> None:
        self.acked: list[list[int]] = []

    def ack(self, packet_ids: list[int]) -> None:
        self.acked.append(packet_ids)


def test_acks_for_an_earlier_child_are_dropped() -> None:
    ours, theirs = multiprocessing.Pipe()
    child = ChildReceipt(SOURCE, RoutingRules(), events=None, min_backoff_s=0.1)  # type: ignore[arg-type]
    child._conn, child._generation = ours, 2  # the second child is running
    _ChildAcks(child, 1, 1).ack([5])  # a batch of the first child, written late
    _ChildAcks(child, 2, 1).ack([6])
    _ChildAcks(child, 2, 1).ack([])  # nothing to say
    assert theirs.recv() == ("ack", 1, [6])
    assert not theirs.poll(0)


def test_in_the_child_an_ack_goes_only_to_the_connection_of_its_epoch() -> None:
    ours, theirs = multiprocessing.Pipe()
    events = _PipeEvents(theirs)
    first, second = Recorder(), Recorder()
    events.deliver(RoutedBatch(1, to_ack=[1]), first)
    events.deliver(RoutedBatch(1, to_ack=[2]), first)
    events.deliver(RoutedBatch(1, to_ack=[3]), second)  # reconnected
    assert [ours.recv()[1] for _ in range(3)] == [1, 1, 2]  # the epochs sent along
    events.ack(1, [1, 2])  # for the first connection: it is gone
    events.ack(2, [3])
    assert (first.acked, second.acked) == ([], [[3]])


def test_the_receipt_process_imports_neither_numpy_nor_the_decoder_store_or_database() -> None:
    # Each would cost every receipt process megabytes of memory it has no use for
    # (docs/architecture.md, "Live MQTT receipt").
    modules = subprocess.run(
        [sys.executable, "-c", "import sys, meshlens.ingest.mqtt_child; print(*sys.modules)"],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    assert "meshlens.ingest.mqtt_process" in modules
    heavy = ("numpy", "websockets", "meshlens.wire", "meshlens.store", "meshlens.db",
             "meshlens.analytics", "sqlite3", "starlette", "granian")  # fmt: skip
    assert [m for m in modules if m.split(".")[0] in heavy or m.startswith(heavy)] == []


def test_the_child_finds_this_meshlens_without_putting_site_packages_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = Path(child_process.__file__).resolve().parents[2]
    monkeypatch.setenv("PYTHONPATH", "/elsewhere")
    monkeypatch.setattr(site, "getsitepackages", lambda: ["/usr/lib/python3/dist-packages"])
    assert child_process.child_environment()["PYTHONPATH"] == f"{root}{os.pathsep}/elsewhere"
    monkeypatch.delenv("PYTHONPATH")
    assert child_process.child_environment()["PYTHONPATH"] == str(root)
    monkeypatch.setattr(site, "getsitepackages", lambda: [str(root)])  # an installed one
    assert "PYTHONPATH" not in child_process.child_environment()
