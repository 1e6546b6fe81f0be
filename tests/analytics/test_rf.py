"""RF analytic (analytics-part-a §3) on hand-built stores with hand-computed answers."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from meshlens.analytics import rf
from meshlens.analytics.query import Query, parse_query
from meshlens.analytics.registry import BY_NAME, REGION_WINDOW
from meshlens.db.database import Database
from meshlens.ingest.pipeline import Pipeline
from meshlens.records import JSONObject
from meshlens.store.snapshot import Snapshot
from meshlens.store.store import PacketStore
from meshlens.times import iso_seconds
from meshlens.wire import PUBLIC_KEY_HEX
from tests.analytics.stores import MINUTE, T0, StoreBuilder, items, obj
from tests.ingest.helpers import advert_frame, channel_frame, sighting

EMPTY_HISTOGRAM = {"bins": [], "min": 0, "max": 0}
ZERO_SUMMARY = {"avg": 0.0, "max": 0.0, "median": 0.0, "min": 0.0, "stddev": 0.0}


def _q(**params: str) -> Query:
    return parse_query(params, now_ms=T0 + 24 * 60 * MINUTE, accepts=REGION_WINDOW)


def _store() -> Snapshot:
    """Three transmissions over two hours, heard by A and B (SEA) and C (PDX).

    tx1 ADVERT  20 B at 00:00: A 00:00 (5, -100), B 00:10 (-2.5, -110), C 01:10 (10, -)
    tx2 GRP_TXT 40 B at 00:30: A 00:30 (-, -90), C 00:31 (1.25, -95)
    tx3 TXT_MSG 31 B at 01:05: B 01:05 (0.5, -120)
    """
    b = StoreBuilder()
    a, bb, c = b.observer("A", "SEA"), b.observer("B", "sea "), b.observer("C", "PDX")
    tx1 = b.tx(payload_type=4, raw_len=20, at_ms=T0)
    tx2 = b.tx(payload_type=5, raw_len=40, at_ms=T0 + 30 * MINUTE)
    tx3 = b.tx(payload_type=2, raw_len=31, at_ms=T0 + 65 * MINUTE)
    b.obs(tx1, a, at_ms=T0, snr=5.0, rssi=-100)
    b.obs(tx1, bb, at_ms=T0 + 10 * MINUTE, snr=-2.5, rssi=-110)
    b.obs(tx2, a, at_ms=T0 + 30 * MINUTE, rssi=-90)
    b.obs(tx2, c, at_ms=T0 + 31 * MINUTE, snr=1.25, rssi=-95)
    b.obs(tx3, bb, at_ms=T0 + 65 * MINUTE, snr=0.5, rssi=-120)
    b.obs(tx1, c, at_ms=T0 + 70 * MINUTE, snr=10.0)
    return b.snapshot()


def _stats(values: list[float]) -> dict[str, float]:
    """§3.3 step 2 computed the slow, obvious way."""
    s = sorted(values)
    avg = sum(s) / len(s)
    return {
        "avg": avg,
        "max": s[-1],
        "median": s[len(s) // 2],
        "min": s[0],
        "stddev": math.sqrt(sum((v - avg) ** 2 for v in s) / len(s)),
    }


def _approx_equal(got: JSONObject, want: dict[str, float]) -> None:
    assert set(got) == set(want)
    for key, value in want.items():
        assert got[key] == pytest.approx(value, rel=1e-12, abs=1e-12), key


def test_rf_is_registered() -> None:
    assert BY_NAME["rf"].compute is rf.compute


def test_global_shape_counts_every_observation() -> None:
    out = rf.compute(_store(), _q())
    assert (out["totalPackets"], out["totalAllPackets"], out["totalTransmissions"]) == (5, 6, 3)
    snr = out["snr"]
    assert isinstance(snr, dict)
    # -2.5, 0.5, 1.25, 5, 10: upper median 1.25, mean 2.85, population stddev 4.3.
    _approx_equal(snr, _stats([5.0, -2.5, 10.0, 1.25, 0.5]))
    assert snr["median"] == 1.25 and snr["stddev"] == pytest.approx(4.3)
    rssi = out["rssi"]
    assert isinstance(rssi, dict)
    _approx_equal(rssi, _stats([-100, -110, -90, -95, -120]))
    assert rssi["median"] == -100 and rssi["avg"] == -103
    assert (out["minPacketSize"], out["maxPacketSize"], out["avgPacketSize"]) == (20, 40, 30)
    assert out["timeSpanHours"] == 70 / 60


def test_packets_per_hour_counts_distinct_transmissions_by_observation_hour() -> None:
    out = rf.compute(_store(), _q())
    # tx1 is heard at 00:00, 00:10 and 01:10: once in each hour. tx2 twice in hour 00.
    assert out["packetsPerHour"] == [
        {"hour": "2026-01-01T00", "count": 2},
        {"hour": "2026-01-01T01", "count": 2},
    ]
    assert out["signalOverTime"] == [
        {"hour": "2026-01-01T00", "count": 3, "avgSnr": (5.0 - 2.5 + 1.25) / 3},
        {"hour": "2026-01-01T01", "count": 2, "avgSnr": (10.0 + 0.5) / 2},
    ]


def test_payload_types_and_snr_by_type_break_ties_by_key() -> None:
    out = rf.compute(_store(), _q())
    # One transmission each: ties in type order (decision 1).
    assert out["payloadTypes"] == [
        {"type": 2, "name": "TXT_MSG", "count": 1},
        {"type": 4, "name": "ADVERT", "count": 1},
        {"type": 5, "name": "GRP_TXT", "count": 1},
    ]
    assert out["snrByType"] == [
        {"name": "ADVERT", "count": 3, "avg": 12.5 / 3, "min": -2.5, "max": 10.0},
        {"name": "GRP_TXT", "count": 1, "avg": 1.25, "min": 1.25, "max": 1.25},
        {"name": "TXT_MSG", "count": 1, "avg": 0.5, "min": 0.5, "max": 0.5},
    ]


def test_histograms_follow_the_reference_bins() -> None:
    out = rf.compute(_store(), _q())
    sizes = out["packetSizes"]
    assert isinstance(sizes, dict) and sizes["min"] == 20 and sizes["max"] == 40
    bins = sizes["bins"]
    assert isinstance(bins, list) and len(bins) == 25
    # width 20 / 25 = 0.8: 20 in bin 0, 31 in bin floor(11 / 0.8) = 13, 40 clamped to 24.
    counts = [b["count"] for b in bins if isinstance(b, dict)]
    assert [i for i, n in enumerate(counts) if n] == [0, 13, 24]
    assert bins[13] == {"x": 20 + 13 * 0.8, "w": 0.8, "count": 1}
    snr_bins = out["snrValues"]
    assert len(items(obj(snr_bins)["bins"])) == 20
    # -2.5 .. 10 in 20 bins of 0.625: 0.5 -> 4, 1.25 -> 6, 5 -> 12, 10 -> 19 (clamped).
    snr_counts = [b["count"] for b in items(obj(snr_bins)["bins"])]
    assert [i for i, n in enumerate(snr_counts) if n] == [0, 4, 6, 12, 19]
    rssi_bins = out["rssiValues"]
    assert isinstance(rssi_bins, dict) and rssi_bins["min"] == -120 and rssi_bins["max"] == -90


def test_all_equal_values_fall_in_the_first_bin_of_width_one_twentieth() -> None:
    b = StoreBuilder()
    o = b.observer("A", "SEA")
    for _ in range(3):
        b.obs(b.tx(), o, snr=-7.25, rssi=-99)
    out = rf.compute(b.snapshot(), _q())
    h = out["snrValues"]
    assert isinstance(h, dict) and isinstance(h["bins"], list)
    assert h["bins"][0] == {"x": -7.25, "w": 0.05, "count": 3}
    assert sum(x["count"] for x in items(h["bins"])) == 3
    assert out["snr"] == {"avg": -7.25, "max": -7.25, "median": -7.25, "min": -7.25, "stddev": 0.0}


def test_scatter_keeps_points_with_both_values_in_arrival_order() -> None:
    out = rf.compute(_store(), _q())
    assert out["scatterData"] == [
        {"snr": 5.0, "rssi": -100.0},
        {"snr": -2.5, "rssi": -110.0},
        {"snr": 1.25, "rssi": -95.0},
        {"snr": 0.5, "rssi": -120.0},
    ]


@pytest.mark.parametrize("points", [500, 501, 999, 1000, 1203])
def test_scatter_holds_at_most_500_evenly_spaced_points(points: int) -> None:
    b = StoreBuilder()
    o = b.observer("A", "SEA")
    tx = b.tx()
    for i in range(points):
        b.obs(tx, o, at_ms=T0 + i, snr=float(i), rssi=-float(i))
    snap = b.snapshot()
    out = rf.compute(snap, _q())
    kept = [p["snr"] for p in items(out["scatterData"])]
    # Decision 5: point i of the sample is the one at floor(i * N / 500).
    want = (
        [float(i * points // 500) for i in range(500)]
        if points > 500
        else [*map(float, range(points))]
    )
    assert kept == want
    assert rf.compute(snap, _q()) == out  # same input, same answer


def test_missing_snr_or_rssi() -> None:
    b = StoreBuilder()
    o = b.observer("A", "SEA")
    # An observer that sends "SNR": "Infinity": counted as missing, not as a sample.
    b.obs(b.tx(), o, snr=math.inf, rssi=-math.inf)
    b.obs(b.tx(), o, snr=None, rssi=-80)  # counts, adds RSSI and an hour; no SNR, no point
    b.obs(b.tx(), o, snr=3.0, rssi=None)  # SNR only: no scatter point
    b.obs(b.tx(), o)  # neither
    out = rf.compute(b.snapshot(), _q())
    assert (out["totalPackets"], out["totalAllPackets"], out["totalTransmissions"]) == (1, 4, 4)
    assert out["scatterData"] == []
    assert out["packetsPerHour"] == [{"hour": "2026-01-01T00", "count": 4}]
    assert out["signalOverTime"] == [{"hour": "2026-01-01T00", "count": 1, "avgSnr": 3.0}]
    rssi = out["rssi"]
    assert isinstance(rssi, dict) and rssi["min"] == rssi["max"] == -80
    assert out["timeSpanHours"] == 0.0  # one instant


def test_region_counts_only_that_regions_observations() -> None:
    # SEA is A and B ("sea " trims and upper-cases). C's observations are ignored even
    # for tx1 and tx2, which SEA also heard (§3.5).
    out = rf.compute(_store(), _q(region="sea"))
    assert (out["totalPackets"], out["totalAllPackets"], out["totalTransmissions"]) == (3, 4, 3)
    snr = out["snr"]
    assert isinstance(snr, dict)
    _approx_equal(snr, _stats([5.0, -2.5, 0.5]))
    assert out["packetsPerHour"] == [
        {"hour": "2026-01-01T00", "count": 2},
        {"hour": "2026-01-01T01", "count": 1},
    ]
    assert out["snrByType"] == [
        {"name": "ADVERT", "count": 2, "avg": 1.25, "min": -2.5, "max": 5.0},
        {"name": "TXT_MSG", "count": 1, "avg": 0.5, "min": 0.5, "max": 0.5},
    ]
    assert out["timeSpanHours"] == 65 / 60
    pdx = rf.compute(_store(), _q(region="PDX"))
    assert (pdx["totalAllPackets"], pdx["totalTransmissions"]) == (2, 2)
    assert pdx["payloadTypes"] == [
        {"type": 4, "name": "ADVERT", "count": 1},
        {"type": 5, "name": "GRP_TXT", "count": 1},
    ]
    assert (pdx["minPacketSize"], pdx["maxPacketSize"], pdx["avgPacketSize"]) == (20, 40, 30)


def test_unknown_region_and_all_give_the_global_result() -> None:
    snap = _store()
    everything = rf.compute(snap, _q())
    # §1.5 quirk, kept: a region that matches no observer means no filter.
    assert rf.compute(snap, _q(region="XYZ")) == everything
    assert rf.compute(snap, _q(region="All")) == everything  # decision 9


def test_global_window_tests_first_seen_and_keeps_every_observation() -> None:
    # tx2 first seen 00:30 is in [00:20, 00:30]; its observation at 00:31 still counts.
    # tx1 (00:00) is out although C heard it at 01:10; tx3 (01:05) is out.
    frm, to = iso_seconds(T0 + 20 * MINUTE), iso_seconds(T0 + 30 * MINUTE)
    out = rf.compute(_store(), _q(**{"from": frm, "to": to}))
    assert (out["totalPackets"], out["totalAllPackets"], out["totalTransmissions"]) == (1, 2, 1)
    assert out["payloadTypes"] == [{"type": 5, "name": "GRP_TXT", "count": 1}]
    assert out["timeSpanHours"] == 1 / 60


def test_region_window_tests_each_observation_time() -> None:
    # SEA from 00:05: A's 00:00 sighting of tx1 is out, B's 00:10 sighting is in.
    out = rf.compute(_store(), _q(region="SEA", **{"from": iso_seconds(T0 + 5 * MINUTE)}))
    assert (out["totalPackets"], out["totalAllPackets"], out["totalTransmissions"]) == (2, 3, 3)
    snr = out["snr"]
    assert isinstance(snr, dict) and snr["min"] == -2.5 and snr["max"] == 0.5


def test_relative_window_uses_the_query_time() -> None:
    snap = _store()
    q = parse_query({"window": "1h"}, now_ms=T0 + 90 * MINUTE, accepts=REGION_WINDOW)
    out = rf.compute(snap, q)  # since 00:30: tx2 and tx3 by first_seen
    assert out["totalTransmissions"] == 2 and out["totalAllPackets"] == 3


def test_payload_type_names_include_heads_additions() -> None:
    names = {t: rf.payload_type_name(t) for t in (0, 6, 10, 11, 12, 15)}
    assert names == {
        0: "REQ",
        6: "GRP_DATA",
        10: "MULTIPART",
        11: "CONTROL",
        12: "UNK(12)",
        15: "RAW_CUSTOM",
    }


def test_transmission_without_observations_and_without_raw_bytes() -> None:
    b = StoreBuilder()
    o = b.observer("A", "SEA")
    b.tx(payload_type=4, raw_len=0, at_ms=T0 + 3 * 60 * MINUTE)  # legacy: never observed
    b.obs(b.tx(payload_type=4, raw_len=12), o, at_ms=T0, snr=1.0, rssi=-90)
    out = rf.compute(b.snapshot(), _q())
    # §3.2: a bare transmission adds one to totalAllPackets and its first_seen hour.
    assert (out["totalPackets"], out["totalAllPackets"], out["totalTransmissions"]) == (1, 2, 2)
    assert out["packetsPerHour"] == [
        {"hour": "2026-01-01T00", "count": 1},
        {"hour": "2026-01-01T03", "count": 1},
    ]
    assert (out["minPacketSize"], out["maxPacketSize"]) == (12, 12)  # no size without raw
    assert out["timeSpanHours"] == 3.0
    regional = rf.compute(b.snapshot(), _q(region="SEA"))
    assert regional["totalAllPackets"] == 1  # mode R walks observations only


def test_a_hostile_clock_decades_away_still_buckets_by_hour() -> None:
    b = StoreBuilder()
    o = b.observer("A", "SEA")
    tx = b.tx()
    far = T0 + 150 * 365 * 24 * 60 * MINUTE  # ~2176: a span too wide for a dense table
    b.obs(tx, o, at_ms=T0, snr=1.0)
    b.obs(tx, o, at_ms=far, snr=2.0)
    out = rf.compute(b.snapshot(), _q())
    hours = [p["hour"] for p in items(out["packetsPerHour"])]
    assert hours == ["2026-01-01T00", iso_seconds(far)[:13]]


def test_empty_store_has_the_exact_empty_shape() -> None:
    expected = {
        "avgPacketSize": 0,
        "maxPacketSize": 0,
        "minPacketSize": 0,
        "packetSizes": EMPTY_HISTOGRAM,
        "packetsPerHour": [],
        "payloadTypes": [],
        "rssi": ZERO_SUMMARY,
        "rssiValues": EMPTY_HISTOGRAM,
        "scatterData": [],
        "signalOverTime": [],
        "snr": ZERO_SUMMARY,
        "snrByType": [],
        "snrValues": EMPTY_HISTOGRAM,
        "timeSpanHours": 0.0,
        "totalAllPackets": 0,
        "totalPackets": 0,
        "totalTransmissions": 0,
    }
    empty = PacketStore().snapshot()
    out = rf.compute(empty, _q())
    assert out == expected and list(out) == sorted(expected)
    assert rf.compute(empty, _q(region="SEA", window="24h")) == expected
    # A window that excludes everything gives the same shape.
    assert rf.compute(_store(), _q(**{"to": iso_seconds(T0 - 60_000)})) == expected


def test_json_types_are_ints_and_floats_as_the_reference() -> None:
    out = rf.compute(_store(), _q())
    for key in ("totalPackets", "totalAllPackets", "totalTransmissions", "avgPacketSize"):
        assert type(out[key]) is int
    assert type(out["timeSpanHours"]) is float
    for item in items(out["scatterData"]):
        assert {type(v) for v in item.values()} == {float}
    for item in items(out["payloadTypes"]):
        assert type(item["type"]) is int and type(item["count"]) is int


def test_select_reports_rows_in_scope() -> None:
    snap = _store()
    scope = rf.select(snap, _q(region="PDX"))
    assert scope.obs_rows is not None and scope.obs_rows.tolist() == [3, 5]
    assert scope.tx_seen.tolist() == [True, True, False]
    assert np.array_equal(rf.select(snap, _q()).tx_seen, np.ones(3, np.bool_))


def test_signal_values_off_the_quarter_grid_are_reported_as_stored() -> None:
    b = StoreBuilder()
    o = b.observer("A", "SEA")
    tx = b.tx()
    for value in (7.2, -3.1, 7.2):
        b.obs(tx, o, snr=value, rssi=-97.5)
    out = rf.compute(b.snapshot(), _q())
    stored = [float(np.float32(v)) for v in (7.2, -3.1, 7.2)]  # the store keeps float32
    snr = obj(out["snr"])
    assert (snr["min"], snr["max"], snr["median"]) == (stored[1], stored[0], stored[0])
    assert snr["avg"] == pytest.approx(sum(stored) / 3, rel=1e-12)
    assert items(out["snrByType"]) == [
        {"name": "ADVERT", "count": 3, "avg": snr["avg"], "min": stored[1], "max": stored[0]}
    ]
    assert obj(out["rssi"])["median"] == -97.5


def test_real_frames_through_the_pipeline(tmp_path: Path) -> None:
    advert = advert_frame(1, name="Hilltop", path=b"\xaa")
    text = channel_frame(bytes.fromhex(PUBLIC_KEY_HEX), "alice: hello")
    store = PacketStore()
    with Database(tmp_path / "m.db") as db:
        Pipeline(db, store).process(
            [
                sighting(advert, "OBS1", region="SEA", at_ms=T0, snr=6.5, rssi=-90),
                sighting(advert, "OBS2", region="PDX", at_ms=T0 + MINUTE, snr=-1.5, rssi=-110),
                sighting(text, "OBS1", region="SEA", at_ms=T0 + 2 * MINUTE, snr=None, rssi=-95),
            ]
        )
    out = rf.compute(store.snapshot(), _q())
    assert (out["totalPackets"], out["totalAllPackets"], out["totalTransmissions"]) == (2, 3, 2)
    sizes = sorted([len(advert), len(text)])
    assert (out["minPacketSize"], out["maxPacketSize"]) == (sizes[0], sizes[1])
    assert out["avgPacketSize"] == sum(sizes) // 2
    assert out["payloadTypes"] == [
        {"type": 4, "name": "ADVERT", "count": 1},
        {"type": 5, "name": "GRP_TXT", "count": 1},
    ]
    assert out["snrByType"] == [{"name": "ADVERT", "count": 2, "avg": 2.5, "min": -1.5, "max": 6.5}]
    sea = rf.compute(store.snapshot(), _q(region="SEA"))
    assert (sea["totalPackets"], sea["totalAllPackets"]) == (1, 2)
