"""The serving benchmarks' helpers: what the MQTT load publishes, and how pairs are judged."""

from __future__ import annotations

from bench.mqtt_load import message_of
from bench.serve import WrkResult, pair_ratios
from meshlens.ingest.routing import RoutingRules, route_message
from meshlens.records import Sighting


def test_a_published_sighting_routes_back_to_the_same_sighting() -> None:
    sent = Sighting(
        raw=bytes.fromhex("1100aabbccdd"),
        observer_id="OBSERVER07",
        observer_name="Observer 7",
        region="SEA",
        snr_db=4.25,
        rssi_dbm=-101.5,
        score=None,
        direction="rx",
        received_at_ms=1_767_225_600_123,
        where="bench",
    )
    topic, body = message_of(sent, "mlbench1")
    assert topic == "mlbench1/SEA/OBSERVER07/packets"
    got = route_message(topic, body, RoutingRules(), received_at_ms=1)
    assert isinstance(got, Sighting)
    assert (got.raw, got.observer_id, got.observer_name, got.region) == (
        sent.raw, "OBSERVER07", "Observer 7", "SEA"
    )  # fmt: skip
    assert (got.snr_db, got.rssi_dbm, got.direction) == (4.25, -101.5, "rx")


def _wrk(p99_ms: float) -> WrkResult:
    return WrkResult(requests_s=1.0, p50_ms=1.0, p99_ms=p99_ms, requests=1, errors=0)


def test_each_churn_phase_is_judged_against_the_idle_phase_of_its_pair() -> None:
    rows = [
        ("idle, fast path", _wrk(9.0)),  # not a pair's idle phase
        ("idle 1", _wrk(4.0)),
        ("churn 1: 9 computes, 10 obs", _wrk(5.0)),
        ("idle 2", _wrk(2.0)),
        ("churn 2: 9 computes, 10 obs", _wrk(3.0)),
    ]
    assert pair_ratios(rows) == [1.25, 1.5]
