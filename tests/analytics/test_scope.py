"""Region and window masks (analytics-part-a §1.5-1.6)."""

from __future__ import annotations

from meshlens.analytics.query import parse_query
from meshlens.analytics.registry import REGION_WINDOW
from meshlens.analytics.scope import (
    observations_in_region,
    region_observers,
    transmissions_in_region,
    transmissions_in_scope,
)
from meshlens.times import iso_seconds
from tests.analytics.stores import MINUTE, T0, StoreBuilder


def _builder() -> StoreBuilder:
    b = StoreBuilder()
    a, c, d = b.observer("A", "SEA"), b.observer("C", " pdx"), b.observer("D", "SEA")
    t1, t2, t3 = b.tx(at_ms=T0), b.tx(at_ms=T0 + MINUTE), b.tx(at_ms=T0 + 2 * MINUTE)
    b.obs(t1, a, at_ms=T0)
    b.obs(t1, c, at_ms=T0)
    b.obs(t2, c, at_ms=T0 + MINUTE)
    b.obs(t3, d, at_ms=T0 + 2 * MINUTE)
    return b


def test_region_masks_pick_the_observers_of_the_region() -> None:
    snap = _builder().snapshot()
    q = parse_query({"region": "sea"}, now_ms=T0, accepts=REGION_WINDOW)
    observers = region_observers(snap, q)
    assert observers is not None and observers.tolist() == [0, 2]
    assert observations_in_region(snap, observers).tolist() == [True, False, False, True]
    assert transmissions_in_region(snap, observers).tolist() == [True, False, True]
    pdx = region_observers(snap, parse_query({"region": "PDX"}, now_ms=T0, accepts=REGION_WINDOW))
    assert pdx is not None and transmissions_in_region(snap, pdx).tolist() == [True, True, False]


def test_unknown_region_means_no_filter() -> None:
    snap = _builder().snapshot()
    q = parse_query({"region": "XYZ"}, now_ms=T0, accepts=REGION_WINDOW)
    assert region_observers(snap, q) is None
    assert transmissions_in_scope(snap, q).tolist() == [True, True, True]


def test_scope_combines_window_and_region() -> None:
    snap = _builder().snapshot()
    q = parse_query(
        {"region": "SEA", "from": iso_seconds(T0 + MINUTE)}, now_ms=T0, accepts=REGION_WINDOW
    )
    assert transmissions_in_scope(snap, q).tolist() == [False, False, True]
