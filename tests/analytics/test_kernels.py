"""The sorting kernels and shortcuts the analytics use give what the plain forms give."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import numpy.typing as npt
from hypothesis import given, settings
from hypothesis import strategies as st

from meshlens.analytics import roles
from meshlens.analytics.clockskew.nodes import node_postures, node_skews
from meshlens.analytics.clockskew.recent import recent_window, recent_windows
from meshlens.analytics.clockskew.samples import _by_tx_then_time, calibrate
from meshlens.analytics.hops.arrays import distinct, distinct_inverse, sorted_order
from meshlens.analytics.instants import iso_seconds_many
from meshlens.analytics.query import Query
from meshlens.analytics.segments import medians_by_key, segments_of, sort_pairs, sorted_medians
from meshlens.times import iso_seconds
from tests.analytics.adverts import T0_S, AdvertStore, advert

ints = st.lists(st.integers(-(1 << 40), 1 << 40), max_size=300)
small = st.lists(st.integers(0, 6), max_size=300)


@settings(max_examples=150, deadline=None)
@given(st.one_of(ints, small), st.booleans())
def test_sorted_order_is_the_stable_argsort(values: list[int], presorted: bool) -> None:
    keys = np.array(sorted(values) if presorted else values, np.int64)
    ordered, order = sorted_order(keys)
    expected = np.argsort(keys, kind="stable")
    assert order.tolist() == expected.tolist()
    assert ordered.tolist() == keys[expected].tolist()


def test_sorted_order_falls_back_when_keys_are_too_wide() -> None:
    keys = np.array([1 << 62, -(1 << 62), 5, 5, 0], np.int64)
    ordered, order = sorted_order(keys)
    assert order.tolist() == np.argsort(keys, kind="stable").tolist()
    assert ordered.tolist() == sorted(keys.tolist())


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 1 << 30), max_size=300))
def test_distinct_inverse_matches_unique(values: list[int]) -> None:
    keys = np.array(values, np.int64) * 1000  # sparse: the sorting path, not the dense one
    got, inverse = distinct_inverse(keys)
    want, want_inverse = np.unique(keys, return_inverse=True)
    assert got.tolist() == want.tolist() and inverse.tolist() == want_inverse.tolist()
    assert got.dtype == keys.dtype


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 5000), max_size=300), st.sampled_from([np.int64, np.int32]))
def test_distinct_inverse_marking_path_matches_unique(values: list[int], dtype: type) -> None:
    keys: npt.NDArray[np.int64] = np.array(values, dtype)  # a dense range: the marking path
    got, inverse = distinct_inverse(keys)
    want, want_inverse = np.unique(keys, return_inverse=True)
    assert got.tolist() == want.tolist() and inverse.tolist() == want_inverse.tolist()
    assert got.dtype == keys.dtype and inverse.dtype == np.int64


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.integers(-5, 5000), max_size=300),
    st.sampled_from([1, 1 << 30]),
    st.sampled_from([np.int64, np.int32, np.float64]),
)
def test_distinct_is_sorted_unique_on_the_marking_and_the_sorting_path(
    values: list[int], scale: int, dtype: type
) -> None:
    # Small non-negative ints take the marking path; negatives, sparse ints and floats sort.
    keys: npt.NDArray[np.int64] = (np.array(values, np.int64) * scale).astype(dtype)
    got = distinct(keys)
    assert got.tolist() == np.unique(keys).tolist() and got.dtype == keys.dtype


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 40), st.integers(-5000, 5000)), max_size=300))
def test_sort_pairs_counting_and_comparison_paths_agree(pairs: list[tuple[int, int]]) -> None:
    group = np.array([g for g, _ in pairs], np.int64)
    values = np.array([v for _, v in pairs], np.int64)
    for scale in (1, 1 << 20):  # narrow range: counting sort; wide: a plain sort
        g, v = sort_pairs(group, values * scale)
        expected = sorted(zip(group.tolist(), (values * scale).tolist(), strict=True))
        assert list(zip(g.tolist(), v.tolist(), strict=True)) == expected


def _twice_median(values: list[int]) -> int:
    ordered = sorted(values)
    return ordered[(len(ordered) - 1) // 2] + ordered[len(ordered) // 2]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 40), st.integers(-90, 90)), max_size=300))
def test_medians_by_key_table_and_sorting_paths_agree(pairs: list[tuple[int, int]]) -> None:
    keys = np.array([k for k, _ in pairs], np.int32)
    values = np.array([v for _, v in pairs], np.int64)
    for scale in (1, 1 << 20, 1 << 52):  # a (key, value) table; a packed sort; a lexsort
        got = medians_by_key(keys, values * scale)
        by_key: dict[int, list[int]] = {}
        for k, v in zip(keys.tolist(), (values * scale).tolist(), strict=True):
            by_key.setdefault(k, []).append(v)
        want = sorted((k, _twice_median(vs), len(vs)) for k, vs in by_key.items())
        assert list(zip(*(c.tolist() for c in got), strict=True)) == want


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.integers(-(1 << 40), 1 << 40), min_size=1, max_size=12), max_size=30))
def test_sorted_medians_are_each_segments_middle_values(groups: list[list[int]]) -> None:
    for scale in (1, 1 << 21):  # a packed sort; a lexsort when the keys do not fit
        values = np.array([v * scale for g in groups for v in g], np.int64)
        segments = segments_of(np.repeat(np.arange(len(groups)), [len(g) for g in groups]))
        low, high = sorted_medians(segments, values)
        want = [sorted(v * scale for v in g) for g in groups]
        assert low.tolist() == [w[(len(w) - 1) // 2] for w in want]
        assert high.tolist() == [w[len(w) // 2] for w in want]


skews = st.sampled_from([0.0, -0.0, 0.3, -12.5, 299.9, 300.0, -3600.0, 3600.1, 86_400.0, -86_400.1])
series = st.lists(st.tuples(st.integers(0, 7200), skews), min_size=1, max_size=9)


@settings(max_examples=80, deadline=None)
@given(st.lists(series, max_size=10))
def test_recent_windows_judge_every_node_as_recent_window_does(
    nodes: list[list[tuple[int, float]]],
) -> None:
    ordered = [sorted(node, key=lambda p: p[0]) for node in nodes]
    ts = np.array([t for node in ordered for t, _ in node], np.int64)
    skew = np.array([v for node in ordered for _, v in node], np.float64)
    per_node = segments_of(np.repeat(np.arange(len(nodes)), [len(n) for n in nodes]))
    recent, severity = recent_windows(ts, skew, per_node)
    want = []
    for node in ordered:
        times, values = [t for t, _ in node], [v for _, v in node]
        idx = list(range(len(node)))
        r, s, *_ = recent_window(times, values, idx, idx)
        want.append((r, s))
    assert list(zip(recent, severity, strict=True)) == want


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 50), st.integers(0, 100)), max_size=200), st.booleans())
def test_samples_order_is_the_stable_lexsort(pairs: list[tuple[int, int]], presorted: bool) -> None:
    pairs = sorted(pairs, key=lambda p: p[0]) if presorted else pairs
    tx = np.array([t for t, _ in pairs], np.int32)
    seconds = np.array([s for _, s in pairs], np.int64) + T0_S
    order = _by_tx_then_time(tx, seconds)
    assert order.tolist() == np.lexsort((seconds, tx)).tolist()


@settings(max_examples=80, deadline=None)
@given(st.lists(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 60)), min_size=1, max_size=6)))
def test_calibration_is_each_observers_median_deviation(
    adverts: list[list[tuple[int, int]]],
) -> None:
    heard = [sorted(samples, key=lambda s: s[1]) for samples in adverts]
    observer = np.array([o for samples in heard for o, _ in samples], np.int32)
    observed = np.array([t for samples in heard for _, t in samples], np.int64) + T0_S
    groups = segments_of(np.repeat(np.arange(len(heard)), [len(h) for h in heard]))
    got = calibrate(groups, observer, observed)
    deviations: dict[int, list[float]] = {}
    for samples in heard:
        if len(samples) >= 2:
            times = sorted(float(t) for _, t in samples)
            middle = (times[(len(times) - 1) // 2] + times[len(times) // 2]) / 2
            for o, t in samples:
                deviations.setdefault(o, []).append(t - middle)
    want = {o: np.median(d) for o, d in deviations.items()}
    assert got.observer.tolist() == sorted(want)
    assert got.offset_s.tolist() == [want[o] for o in sorted(want)]
    assert got.samples.tolist() == [len(deviations[o]) for o in sorted(want)]


def test_iso_seconds_many_matches_iso_seconds() -> None:
    instants = [0, 999, 1000, 1_767_225_600_123, 253_402_300_799_999, -1, -86_400_001]
    inside = instants[:5]
    assert iso_seconds_many(inside) == [iso_seconds(ms) for ms in inside]
    assert iso_seconds_many(instants) == [iso_seconds(ms) for ms in instants]
    assert iso_seconds_many([]) == []


def test_node_postures_alone_or_from_the_full_views_agree(tmp_path: Path) -> None:
    s = AdvertStore()
    skews = {1: [5, 6, 7, 8, 9, 10], 2: [4000, 4000, 5, 5, 5], 3: [-200_000, 30], 4: [700]}
    for seed, values in skews.items():
        for i, skew in enumerate(values):
            heard_at = T0_S + i * 900 + seed
            s.heard(advert(seed, heard_at + skew), "OBS1", heard_at)
            s.heard(advert(seed, heard_at + skew), "OBS2", heard_at + 1)
    snap = s.snapshot(tmp_path)
    alone = node_postures(dataclasses.replace(snap, derived={}))
    shared = dataclasses.replace(snap, derived={})
    full = node_skews(shared)
    assert alone == node_postures(shared)
    assert {pk: (n.recent_s, n.last_s, n.severity) for pk, n in full.items()} == {
        pk: (p.recent_s, p.last_s, p.severity) for pk, p in alone.items()
    }
    assert len({p.severity for p in alone.values()}) >= 3
    query = Query(now_ms=(T0_S + 86_400) * 1000)
    assert roles.compute(dataclasses.replace(snap, derived={}), query) == roles.compute(
        shared, query
    )
