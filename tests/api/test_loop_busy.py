"""LoopBusy: the event loop's CPU share, and ingest batching for longer while it is busy."""

from __future__ import annotations

import asyncio

import pytest

from meshlens import gil
from meshlens.api.loop_busy import LoopBusy
from meshlens.config import Settings
from meshlens.config.mqtt_sources import BrokerUrl, MqttSource
from meshlens.ingest.mqtt import MqttFeed
from meshlens.ingest.routing import RoutingRules
from meshlens.placement import BUSY_GATHER_S
from tests.api.conftest import Serve


def test_each_change_between_busy_and_calm_is_reported_once() -> None:
    changes: list[bool] = []
    busy = LoopBusy(changes.append)
    busy.sample(0.1, 0.5)  # 20 %: calm, as it started
    busy.sample(0.2, 0.5)  # 40 %: still calm (busy begins at half)
    busy.sample(0.25, 0.5)  # exactly half: busy
    busy.sample(0.4, 0.5)
    busy.sample(0.15, 0.5)  # 30 %: still busy (a loop waiting for the GIL or a core)
    busy.sample(0.125, 0.5)  # exactly a quarter: still busy
    busy.sample(0.1, 0.5)  # 20 %: calm again
    busy.sample(0.0, 0.0)  # no time passed: calm
    assert changes == [True, False]
    assert busy.share == 0.0
    assert busy.busy is False


def test_the_share_is_sampled_on_the_running_loop_with_its_clocks() -> None:
    cpu = iter([0.0, 0.3, 0.3, 0.35])
    wall = iter([10.0, 10.5, 10.5, 11.0])
    changes: list[bool] = []
    busy = LoopBusy(
        changes.append, period_s=0.0, cpu_clock=lambda: next(cpu), wall_clock=lambda: next(wall)
    )

    async def two_periods() -> None:
        task = asyncio.create_task(busy.run())
        while len(changes) < 2:
            await asyncio.sleep(0)
        task.cancel()

    asyncio.run(asyncio.wait_for(two_periods(), 5))
    assert changes == [True, False]  # 60 %, then 10 %
    assert busy.share == pytest.approx(0.1)


def test_a_busy_loop_makes_ingest_batch_for_longer_and_paces_recomputes_until_it_calms(
    serve: Serve, settings: Settings
) -> None:
    running = serve()
    running.wait_ready()
    server = running.server
    # The server's own LoopBusy is what calls reads_busy; it sees this test's idle loop.
    assert server.loop_busy.busy is False
    assert server.worker.batch_latency_s == settings.meshlens.ingest.batch_latency_ms / 1000
    server.reads_busy(True)
    assert server.worker.batch_latency_s == settings.meshlens.ingest.busy_batch_latency_ms / 1000
    assert server.worker.batch_latency_s == 1.0
    running.wait_until(lambda: server.pace.share == 0.02)  # once the first pass is done
    server.reads_busy(False)
    assert server.worker.batch_latency_s == 0.05
    assert server.pace.share == 1.0


def test_a_busy_loop_makes_mqtt_sources_gather_messages_between_reads(
    serve: Serve, settings: Settings
) -> None:
    # Not started (no broker needed): the feed keeps the setting for its receipt.
    feed = MqttFeed(MqttSource("s", BrokerUrl("mqtt", "127.0.0.1", 1)), RoutingRules())
    running = serve(feeds=[feed])
    running.wait_ready()
    server = running.server
    assert feed.gather_s == 0.0
    server.reads_busy(True)
    assert feed.gather_s == BUSY_GATHER_S == 0.1
    server.reads_busy(False)
    assert feed.gather_s == 0.0


def test_a_busy_loop_gives_background_loops_turns_at_the_gil_until_it_calms(
    serve: Serve,
) -> None:
    running = serve()
    running.wait_ready()
    server = running.server
    assert gil.sharing() is False
    server.reads_busy(True)
    assert gil.sharing() is True
    server.reads_busy(False)
    assert gil.sharing() is False
    server.reads_busy(True)
    running.stop()  # what is queued at shutdown is written at full speed
    assert gil.sharing() is False
