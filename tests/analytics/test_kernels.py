"""The sorting kernels and shortcuts the analytics use give what the plain forms give."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from meshlens.analytics import roles
from meshlens.analytics.clockskew.nodes import node_postures, node_skews
from meshlens.analytics.hops.arrays import distinct_inverse, sorted_order
from meshlens.analytics.query import Query
from meshlens.analytics.segments import sort_pairs
from meshlens.times import iso_seconds, iso_seconds_many
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
@given(st.lists(st.tuples(st.integers(0, 40), st.integers(-5000, 5000)), max_size=300))
def test_sort_pairs_counting_and_comparison_paths_agree(pairs: list[tuple[int, int]]) -> None:
    group = np.array([g for g, _ in pairs], np.int64)
    values = np.array([v for _, v in pairs], np.int64)
    for scale in (1, 1 << 20):  # narrow range: counting sort; wide: a plain sort
        g, v = sort_pairs(group, values * scale)
        expected = sorted(zip(group.tolist(), (values * scale).tolist(), strict=True))
        assert list(zip(g.tolist(), v.tolist(), strict=True)) == expected


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
