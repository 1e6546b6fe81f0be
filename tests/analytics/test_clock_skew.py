"""The clock-skew engine, observer and node clock skew, and roles, with known answers.

Every store is built through the real pipeline from signed adverts; the advert clocks
and observation times are chosen so each answer can be worked out by hand.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from meshlens.analytics import nodes_clock_skew, observers_clock_skew, roles
from meshlens.analytics.clockskew.drift import drift_per_day
from meshlens.analytics.clockskew.severity import classify
from meshlens.analytics.query import Query
from meshlens.analytics.registry import BY_NAME
from meshlens.store.snapshot import Snapshot
from tests.analytics.adverts import T0_S, AdvertStore, advert
from tests.analytics.stores import items, obj
from tests.ingest.helpers import public_key_hex

Q = Query(now_ms=(T0_S + 30 * 86_400) * 1000)
HOUR = 3600


def _fleet(snap: Snapshot) -> dict[str, dict[str, object]]:
    return {row["pubkey"]: row for row in items(nodes_clock_skew.compute(snap, Q))}


def _one_node(tmp_path: Path, skews: list[float], *, spacing_s: int = 600) -> dict[str, object]:
    """Node 1's fleet row when its adverts (one observer each) show these skews in order."""
    s = AdvertStore()
    for i, skew in enumerate(skews):
        heard_at = T0_S + i * spacing_s
        s.heard(advert(1, heard_at + int(skew)), "OBS1", heard_at)
    return _fleet(s.snapshot(tmp_path))[public_key_hex(1)]


def test_registered_with_a_detail_route() -> None:
    analytic = BY_NAME["nodes-clock-skew"]
    assert analytic.compute is nodes_clock_skew.compute
    assert analytic.detail is not None
    assert analytic.detail.route == "/api/nodes/{pubkey}/clock-skew"
    assert analytic.detail.not_found == "No clock skew data for this node"
    assert BY_NAME["observers-clock-skew"].compute is observers_clock_skew.compute
    assert BY_NAME["roles"].compute is roles.compute


def test_classify_edges_belong_to_the_worse_class() -> None:
    assert [classify(v) for v in (299.9, 300, 3599.9, 3600)] == [
        "ok",
        "warning",
        "warning",
        "critical",
    ]
    assert [classify(v) for v in (2_591_999, 2_592_000, 31_535_999, 31_536_000)] == [
        "critical",
        "absurd",
        "absurd",
        "no_clock",
    ]


def test_node_sixty_seconds_ahead_seen_by_three_observers(tmp_path: Path) -> None:
    """§5.1's example: obs3 is 30 s fast and is calibrated away; the node is 60 s ahead."""
    s = AdvertStore()
    raw = advert(1, T0_S + 60)
    s.heard_by(raw, [("OBS1", T0_S), ("OBS2", T0_S), ("OBS3", T0_S + 30)])
    snap = s.snapshot(tmp_path)
    row = _fleet(snap)[public_key_hex(1)]
    assert row == {
        "pubkey": public_key_hex(1),
        "meanSkewSec": 60.0,
        "medianSkewSec": 60.0,
        "lastSkewSec": 60.0,
        "recentMedianSkewSec": 60.0,
        "driftPerDaySec": 0.0,
        "severity": "ok",
        "sampleCount": 3,
        "calibrated": True,
        "lastAdvertTS": T0_S + 60,
        "lastObservedTS": T0_S + 30,
        "goodFraction": 1.0,
        "recentBadSampleCount": 0,
        "recentSampleCount": 1,
        "nodeName": "N1",
        "nodeRole": "repeater",
    }
    assert observers_clock_skew.compute(snap, Q) == [
        {"observerID": "OBS3", "offsetSec": 30.0, "samples": 1},
        {"observerID": "OBS1", "offsetSec": 0.0, "samples": 1},
        {"observerID": "OBS2", "offsetSec": 0.0, "samples": 1},
    ]


def test_two_observers_one_ten_seconds_fast_both_correct_to_55(tmp_path: Path) -> None:
    s = AdvertStore()
    s.heard_by(advert(1, T0_S + 60), [("OBS1", T0_S), ("OBS2", T0_S + 10)])
    snap = s.snapshot(tmp_path)
    assert _fleet(snap)[public_key_hex(1)]["medianSkewSec"] == 55.0
    offsets = {
        r["observerID"]: r["offsetSec"] for r in items(observers_clock_skew.compute(snap, Q))
    }
    assert offsets == {"OBS1": -5.0, "OBS2": 5.0}


def test_observer_ninety_seconds_fast_is_calibrated_away(tmp_path: Path) -> None:
    s = AdvertStore()
    for k in range(3):
        t = T0_S + k * 600
        s.heard_by(advert(1, t), [("OBS1", t), ("OBS2", t), ("FAST", t + 90)])
    # A node heard only by the fast observer inherits the correction.
    s.heard(advert(2, T0_S + 100), "FAST", T0_S + 190)
    snap = s.snapshot(tmp_path)
    calibrations = items(observers_clock_skew.compute(snap, Q))
    assert calibrations[0] == {"observerID": "FAST", "offsetSec": 90.0, "samples": 3}
    fleet = _fleet(snap)
    assert fleet[public_key_hex(1)]["medianSkewSec"] == 0.0
    assert fleet[public_key_hex(1)]["sampleCount"] == 9
    assert fleet[public_key_hex(2)]["medianSkewSec"] == 0.0
    assert fleet[public_key_hex(2)]["calibrated"] is True


def test_single_observer_adverts_calibrate_nobody(tmp_path: Path) -> None:
    s = AdvertStore()
    s.heard(advert(1, T0_S), "OBS1", T0_S + 5)
    snap = s.snapshot(tmp_path)
    assert observers_clock_skew.compute(snap, Q) == []
    row = _fleet(snap)[public_key_hex(1)]
    assert (row["medianSkewSec"], row["calibrated"]) == (-5.0, False)


def test_severity_edges_on_the_recent_median(tmp_path: Path) -> None:
    severities = {
        skew: _one_node(tmp_path / str(skew), [skew])["severity"]
        for skew in (299, 300, -300, 3599, 3600, -3600)
    }
    assert severities == {
        299: "ok",
        300: "warning",
        -300: "warning",
        3599: "warning",
        3600: "critical",
        -3600: "critical",
    }


def test_just_over_an_hour_is_a_bad_sample_and_all_bad_is_no_clock(tmp_path: Path) -> None:
    row = _one_node(tmp_path, [3601, 7200, 7200])
    assert (row["severity"], row["goodFraction"], row["recentBadSampleCount"]) == (
        "no_clock",
        0.0,
        3,
    )
    bad = items(row["recentBadSamples"])  # type: ignore[arg-type]
    assert [b["skewSec"] for b in bad] == [3601.0, 7200.0, 7200.0]
    assert bad[0]["advertTS"] == T0_S + 3601
    assert len(bad[0]["hash"]) == 16


def test_bimodal_clock_takes_the_median_of_the_good_samples(tmp_path: Path) -> None:
    row = _one_node(tmp_path, [10, 7200, 12, 7200, 14])
    assert row["severity"] == "bimodal_clock"
    assert (row["recentMedianSkewSec"], row["goodFraction"], row["recentSampleCount"]) == (
        12.0,
        0.6,
        5,
    )
    assert row["driftPerDaySec"] == 0.0  # no drift for a bimodal clock


def test_mostly_good_is_ok_with_the_good_median(tmp_path: Path) -> None:
    row = _one_node(tmp_path, [10, 20, 30, 40, 7200])
    assert (row["severity"], row["goodFraction"]) == ("ok", 0.8)
    assert row["recentMedianSkewSec"] == 25.0
    assert row["medianSkewSec"] == 30.0  # all-time median keeps the bad one


def test_recent_window_is_the_last_hour_when_narrower_than_five(tmp_path: Path) -> None:
    """Old bad adverts more than an hour before the newest do not decide the severity."""
    row = _one_node(tmp_path, [7200, 7200, 7200, 5, 5], spacing_s=2 * HOUR)
    assert (row["severity"], row["recentSampleCount"]) == ("ok", 1)


def test_rtc_reset_to_2020_is_excluded_from_the_recent_window(tmp_path: Path) -> None:
    s = AdvertStore()
    for k in range(4):
        t = T0_S + k * 600
        s.heard(advert(1, t + 20), "OBS1", t)
    s.heard(advert(1, 1_577_836_800), "OBS1", T0_S + 2400)  # clock reset to 2020-01-01
    row = _fleet(s.snapshot(tmp_path))[public_key_hex(1)]
    assert (row["severity"], row["recentSampleCount"], row["goodFraction"]) == ("ok", 4, 1.0)
    assert row["recentMedianSkewSec"] == 20.0
    assert "recentBadSamples" not in row


def test_only_rtc_resets_is_no_clock(tmp_path: Path) -> None:
    row = _one_node(tmp_path, [-200_000, -300_000])
    assert (row["severity"], row["recentSampleCount"], row["goodFraction"]) == ("no_clock", 0, 0.0)


def test_a_reset_to_1970_is_not_a_clock_reading(tmp_path: Path) -> None:
    s = AdvertStore()
    s.heard(advert(1, T0_S + 5), "OBS1", T0_S)
    s.heard(advert(1, 0), "OBS1", T0_S + 600)  # RTC lost: epoch zero
    s.heard(advert(2, 12), "OBS1", T0_S + 700)  # only ever 1970
    snap = s.snapshot(tmp_path)
    fleet = _fleet(snap)
    assert fleet[public_key_hex(1)]["sampleCount"] == 1
    assert fleet[public_key_hex(1)]["severity"] == "ok"
    assert public_key_hex(2) not in fleet
    assert public_key_hex(2) not in nodes_clock_skew.details(snap, Q)


def test_drift_with_a_known_slope(tmp_path: Path) -> None:
    """Ten hourly adverts whose skew grows 2 s per hour: 48 s per day."""
    row = _one_node(tmp_path, [2.0 * k for k in range(10)], spacing_s=HOUR)
    assert row["driftPerDaySec"] == 48.0
    assert row["recentMedianSkewSec"] == 17.0  # the last hour holds 16 and 18


def test_drift_rejects_jumps_and_short_series() -> None:
    hours = [k * HOUR for k in range(6)]
    assert drift_per_day(hours, [0, 1, 2, 500, 4, 5]) == 24.0  # the jump is dropped
    assert drift_per_day([0, 600, 1200, 1800, 2400], [0, 10, 20, 30, 40]) == 0.0  # under 1 h
    assert drift_per_day([0], [5]) == 0.0
    assert drift_per_day(hours, [7.0] * 6) == 0.0


def test_absurd_drift_is_zeroed(tmp_path: Path) -> None:
    """A series of jumps falls back to every pair; its 2 s/s slope is no drift, so 0."""
    s = AdvertStore()
    for at, skew in [(0, -3000), (3600, 0), (3610, 20), (3620, 40), (3630, 60)]:
        s.heard(advert(1, T0_S + at + skew), "OBS1", T0_S + at)
    row = _fleet(s.snapshot(tmp_path))[public_key_hex(1)]
    assert (row["severity"], row["recentMedianSkewSec"]) == ("ok", 30.0)
    assert drift_per_day([0, 3600, 3610, 3620, 3630], [-3000, 0, 20, 40, 60]) == 172_800.0
    assert row["driftPerDaySec"] == 0.0


def test_a_repeater_never_inherits_relayed_adverts(tmp_path: Path) -> None:
    """Decision 7: node 2's bad clock reaches the observer through repeater 1's prefix."""
    s = AdvertStore()
    relay = bytes.fromhex(public_key_hex(1)[:2])
    for k in range(3):
        t = T0_S + k * 600
        s.heard(advert(1, t + 3), "OBS1", t)
        s.heard(advert(2, t + 9000, path=relay), "OBS1", t + 60)
    fleet = _fleet(s.snapshot(tmp_path))
    repeater = fleet[public_key_hex(1)]
    assert (repeater["severity"], repeater["sampleCount"], repeater["medianSkewSec"]) == (
        "ok",
        3,
        3.0,
    )
    assert fleet[public_key_hex(2)]["severity"] == "no_clock"


def test_rounding_is_half_away_from_zero(tmp_path: Path) -> None:
    """Decision 2: a mean of -2.25 is -2.3 (the reference's trunc(v*10+0.5) gave -2.2)."""
    row = _one_node(tmp_path, [-2, -3, -2, -2])
    assert row["meanSkewSec"] == -2.3


def test_detail_holds_samples_evidence_and_calibration(tmp_path: Path) -> None:
    s = AdvertStore()
    for k in range(12):
        t = T0_S + k * 600
        s.heard_by(advert(1, t + 60), [("OBS1", t), ("OBS2", t), ("OBS3", t + 30)])
    snap = s.snapshot(tmp_path)
    details = nodes_clock_skew.details(snap, Q)
    assert set(details) == {public_key_hex(1)}
    detail = obj(details[public_key_hex(1)])
    fleet_row = _fleet(snap)[public_key_hex(1)]
    assert {k: v for k, v in detail.items() if k in fleet_row} == fleet_row
    assert detail["samples"][0] == {"ts": T0_S + 30, "skew": 60.0}
    assert len(detail["samples"]) == 12
    evidence = detail["recentHashEvidence"]
    assert len(evidence) == 10  # the 10 adverts first heard most recently
    assert evidence[0]["timestamp"] == T0_S + 11 * 600
    assert evidence[0]["medianCorrectedSkewSec"] == 60.0
    assert evidence[0]["observers"][-1] == {
        "observerID": "OBS3",
        "observerName": "name OBS3",
        "rawSkewSec": 30.0,
        "correctedSkewSec": 60.0,
        "observerOffsetSec": 30.0,
        "calibrated": True,
    }
    assert detail["calibrationSummary"] == {
        "totalSamples": 30,
        "calibratedSamples": 30,
        "uncalibratedSamples": 0,
    }


def test_empty_store(tmp_path: Path) -> None:
    snap = AdvertStore().snapshot(tmp_path)
    assert observers_clock_skew.compute(snap, Q) == []
    assert nodes_clock_skew.compute(snap, Q) == []
    assert nodes_clock_skew.details(snap, Q) == {}
    assert roles.compute(snap, Q) == {"totalNodes": 0, "roles": []}


def test_roles_count_every_node_and_each_severity(tmp_path: Path) -> None:
    s = AdvertStore()
    t = T0_S
    s.heard(advert(1, t + 10), "OBS1", t)  # repeater, ok, |10|
    s.heard(advert(2, t - 400), "OBS1", t)  # repeater, warning, |400|
    s.heard(advert(3, t + 5, advert_type=1), "OBS1", t)  # companion, ok
    s.heard(advert(4, 0, advert_type=1), "OBS1", t)  # companion, no clock data at all
    for k, skew in enumerate([10, 7200, 12, 7200, 14]):  # room, bimodal
        s.heard(advert(5, t + k * 600 + skew, advert_type=3), "OBS1", t + k * 600)
    out = roles.compute(s.snapshot(tmp_path), Q)
    assert out["totalNodes"] == 5
    by_role = {r["role"]: r for r in items(out["roles"])}
    assert [r["role"] for r in items(out["roles"])] == ["companion", "repeater", "room"]
    assert by_role["repeater"] == {
        "role": "repeater",
        "nodeCount": 2,
        "withSkew": 2,
        "meanAbsSkewSec": 205.0,
        "medianAbsSkewSec": 205.0,
        "okCount": 1,
        "warningCount": 1,
        "criticalCount": 0,
        "absurdCount": 0,
        "noClockCount": 0,
        "bimodalClockCount": 0,
    }
    assert (by_role["companion"]["nodeCount"], by_role["companion"]["withSkew"]) == (2, 1)
    assert by_role["room"]["bimodalClockCount"] == 1
    assert by_role["room"]["meanAbsSkewSec"] == 12.0


def test_details_are_made_when_read_and_survive_the_pipe(tmp_path: Path) -> None:
    """NodeDetails holds columns, not objects: pickled (as a compute child sends it) it
    still makes exactly the objects, and a node is made only when read."""
    s = AdvertStore()
    for k in range(12):
        t = T0_S + k * 600
        s.heard_by(advert(1, t + 60), [("OBS1", t), ("OBS2", t), ("OBS3", t + 30)])
        s.heard_by(advert(2, t - 20 * (k % 3)), [("OBS1", t), ("OBS2", t + 5)])
    snap = s.snapshot(tmp_path)
    details = nodes_clock_skew.details(snap, Q)
    assert isinstance(details, nodes_clock_skew.NodeDetails)
    made = {pk: details[pk] for pk in details}
    assert made[public_key_hex(1)] == details[public_key_hex(1)]  # made again, equal
    again = pickle.loads(pickle.dumps(details))
    assert list(again) == sorted(made) == sorted([public_key_hex(1), public_key_hex(2)])
    assert {pk: again[pk] for pk in again} == made
    assert [list(obj(again[pk])) for pk in again] == [list(obj(made[pk])) for pk in again]
    node2 = obj(made[public_key_hex(2)])
    evidence = node2["recentHashEvidence"]
    assert isinstance(evidence, list) and len(evidence) == 10
    assert [len(obj(e)["observers"]) for e in evidence] == [2] * 10
    assert node2["calibrationSummary"] == {
        "totalSamples": 20,
        "calibratedSamples": 20,
        "uncalibratedSamples": 0,
    }
    with pytest.raises(KeyError):
        details[public_key_hex(3)]


def test_detail_keys_keep_the_fleet_rows_order(tmp_path: Path) -> None:
    s = AdvertStore()
    for k in range(3):
        s.heard_by(advert(1, T0_S + k * 600 + 60), [("OBS1", T0_S + k * 600)])
    detail = obj(nodes_clock_skew.details(s.snapshot(tmp_path), Q)[public_key_hex(1)])
    assert list(detail) == [
        "pubkey", "meanSkewSec", "medianSkewSec", "lastSkewSec", "recentMedianSkewSec",
        "driftPerDaySec", "severity", "sampleCount", "calibrated", "lastAdvertTS",
        "lastObservedTS", "samples", "goodFraction", "recentBadSampleCount",
        "recentSampleCount", "recentHashEvidence", "calibrationSummary", "nodeName", "nodeRole",
    ]  # fmt: skip
