"""The warm-up gate: 503 + Retry-After while loading, lifted by a pass over the full store."""

from __future__ import annotations

from meshlens.config import Settings
from tests.api.conftest import Serve, chatter
from tests.api.probe import DETAIL_ROUTE, PROBE_ROUTE
from tests.api.running import HeldLoad, Running, seed


def _loading(serve: Serve, settings: Settings, transmissions: int) -> tuple[Running, HeldLoad]:
    """A server on a database of `transmissions`, held in its start-up load."""
    seed(settings, chatter(transmissions))
    load = HeldLoad()
    running = serve(load=load)
    assert load.entered.wait(10)
    return running, load


def test_default_shapes_answer_503_with_retry_after_while_loading(
    serve: Serve, settings: Settings
) -> None:
    server, load = _loading(serve, settings, 20)
    with server.client() as http:
        default = http.get(PROBE_ROUTE)
        via_router = http.get(PROBE_ROUTE, params={"region": "all"})
        detail = http.get(DETAIL_ROUTE.format(observer="obs0"))
        healthz = http.get("/api/healthz")
        health = http.get("/api/health").json()
        load.release.set()
    for response in (default, via_router, detail):
        assert response.status_code == 503
        assert response.headers["retry-after"] == "5"
        assert response.headers["cache-control"] == "no-store"
        assert response.json() == {"error": "analytics warming up", "retry_after_s": 5}
    assert healthz.status_code == 503
    assert healthz.json() == {"ready": False, "reason": "loading"}
    assert health["load"]["loading"] is True
    assert health["analyticsReady"] is False


def test_the_gate_lifts_after_a_pass_over_the_complete_store(
    serve: Serve, settings: Settings
) -> None:
    server, load = _loading(serve, settings, 30)
    load.release.set()
    server.wait_ready()
    with server.client() as http:
        response = http.get(PROBE_ROUTE)
        healthz = http.get("/api/healthz").json()
    assert response.status_code == 200
    assert "retry-after" not in response.headers
    # The first snapshot anyone sees already holds everything in the database.
    assert response.json()["transmissions"] == 30
    assert healthz["ready"] is True
    assert (healthz["loadedTx"], healthz["loadedObs"]) == (30, 30)


def test_filtered_shapes_are_not_gated_and_forgotten_when_the_load_ends(
    serve: Serve, settings: Settings
) -> None:
    server, load = _loading(serve, settings, 7)
    with server.client() as http:
        during = http.get(PROBE_ROUTE, params={"window": "30d"})
        load.release.set()
        server.wait_ready()
        after = http.get(PROBE_ROUTE, params={"window": "30d"})
    assert during.status_code == 200
    assert during.json()["transmissions"] == 0  # it saw the store before the load
    assert after.json()["transmissions"] == 7  # not the partial result, cached for its TTL


def test_sightings_offered_while_loading_are_written_after_the_load(
    serve: Serve, settings: Settings
) -> None:
    server, load = _loading(serve, settings, 5)
    for item in chatter(8, start_ms=1_800_000_000_000):
        assert server.server.worker.offer(item)
    assert server.server.worker.counters.snapshot().received == 0  # nothing written yet
    load.release.set()
    server.wait_ready()
    server.wait_until(lambda: len(server.server.store.snapshot().tx) == 13)


def test_recomputes_are_paced_only_after_the_first_pass_and_while_reads_are_busy(
    serve: Serve, settings: Settings
) -> None:
    running, load = _loading(serve, settings, 5)
    server = running.server
    server.reads_busy(True)  # busy reads during the load (as LoopBusy reports them)...
    # ...yet the pass that lifts the gate runs at full speed,
    assert server.pace.share == 1.0
    load.release.set()
    running.wait_ready()
    # and once it is done, busy reads pace every recompute after it.
    running.wait_until(lambda: server.pace.share == settings.analytics.compute_cpu_share)
    assert settings.analytics.compute_cpu_share == 0.02
    server.reads_busy(False)  # reads calm down: computes run freely again
    assert server.pace.share == 1.0
    server.reads_busy(True)
    assert server.pace.share == 0.02
