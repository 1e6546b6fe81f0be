"""Hash collisions (part-b §2) on adverts built through the real pipeline.

Seeds 18, 20 and 82 give public keys that all start with byte 0x20.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from meshlens.analytics import hash_collisions
from meshlens.analytics.hash_collisions import distance_class
from meshlens.analytics.query import Query, normalise_region
from meshlens.analytics.registry import BY_NAME
from meshlens.geo import haversine_km
from meshlens.store.snapshot import Snapshot
from tests.analytics.adverts import T0_S, AdvertStore, advert
from tests.analytics.stores import items, obj
from tests.ingest.helpers import public_key_hex

NOW_MS = (T0_S + 86_400) * 1000
SAME_BYTE = (18, 20, 82)


def _q(region: str = "") -> Query:
    return Query(now_ms=NOW_MS, region=normalise_region(region))


def _pair(tmp_path: Path, lat_b: float | None, *, lat_a: float = 10.0) -> Snapshot:
    s = AdvertStore()
    s.heard(advert(18, T0_S, lat=lat_a, lon=10.0), "OBS1", T0_S)
    lon_b = None if lat_b is None else 10.0
    s.heard(advert(20, T0_S, lat=lat_b, lon=lon_b), "OBS1", T0_S + 1)
    return s.snapshot(tmp_path)


def test_registered() -> None:
    analytic = BY_NAME["hash-collisions"]
    assert analytic.compute is hash_collisions.compute
    assert analytic.ttl_setting == "analyticsHashSizes"


def test_distance_classes_at_exactly_50_and_200_km() -> None:
    assert [distance_class(km) for km in (0.0, 49.999, 50.0, 199.999, 200.0, 5000.0)] == [
        "local",
        "local",
        "regional",
        "regional",
        "distant",
        "distant",
    ]


def _edge_microdegrees(km: float) -> int:
    """The smallest latitude step (micro-degrees north of 10 N) that is >= km away."""
    lo, hi = 0, 10_000_000
    while lo < hi:
        mid = (lo + hi) // 2
        if haversine_km(10.0, 10.0, 10.0 + mid / 1e6, 10.0) >= km:
            hi = mid
        else:
            lo = mid + 1
    return lo


@pytest.mark.parametrize(
    ("km", "below", "at"), [(50.0, "local", "regional"), (200.0, "regional", "distant")]
)
def test_classes_at_the_edge_through_the_pipeline(
    tmp_path: Path, km: float, below: str, at: str
) -> None:
    step = _edge_microdegrees(km)
    for offset, want in ((step - 1, below), (step, at)):
        snap = _pair(tmp_path / str(offset), 10.0 + offset / 1e6)
        collision = items(
            obj(obj(hash_collisions.compute(snap, _q())["by_size"])["1"])["collisions"]
        )[0]
        assert collision["classification"] == want
        assert (collision["max_dist_km"] >= km) == (want == at)
        assert (collision["prefix"], collision["appearances"], collision["with_coords"]) == (
            "20",
            2,
            2,
        )


def test_missing_coordinates_is_incomplete(tmp_path: Path) -> None:
    size1 = obj(obj(hash_collisions.compute(_pair(tmp_path, None), _q())["by_size"])["1"])
    collision = items(size1["collisions"])[0]
    assert (collision["classification"], collision["max_dist_km"], collision["with_coords"]) == (
        "incomplete",
        0.0,
        1,
    )
    assert [n["public_key"] for n in collision["nodes"]] == [public_key_hex(18), public_key_hex(20)]


def test_stats_cells_and_the_one_byte_projection(tmp_path: Path) -> None:
    s = AdvertStore()
    s.heard(advert(18, T0_S, lat=1.0, lon=1.0), "OBS1", T0_S)
    s.heard(advert(20, T0_S, lat=1.0, lon=1.0), "OBS1", T0_S)
    s.heard(advert(82, T0_S, path=b"\x01\x02", hash_size=2), "OBS1", T0_S)  # 2-byte repeater
    s.heard(advert(1, T0_S, advert_type=1), "OBS1", T0_S)  # companion: never collides
    out = hash_collisions.compute(s.snapshot(tmp_path), _q())
    by_size = obj(out["by_size"])
    one, two, three = obj(by_size["1"]), obj(by_size["2"]), obj(by_size["3"])
    assert one["stats"] == {
        "total_nodes": 4,
        "nodes_for_byte": 2,
        "using_this_size": 3,
        "unique_prefixes": 1,
        "collision_count": 1,
        "space_size": 256,
        "pct_used": 1 / 256 * 100,
    }
    assert items(one["collisions"])[0]["classification"] == "local"
    cells = obj(one["one_byte_cells"])
    assert len(cells) == 256 and cells["00"] == []
    # HEAD #1218: the 2-byte repeater is listed under its first byte too.
    assert [n["public_key"] for n in cells["20"]] == [public_key_hex(k) for k in SAME_BYTE]
    assert obj(two["stats"])["nodes_for_byte"] == 1
    grid = obj(two["two_byte_cells"])
    assert len(grid) == 256
    key82 = public_key_hex(82)[:4].upper()
    assert obj(grid["20"])["two_byte_map"] == {key82: [items(obj(grid["20"])["group_nodes"])[0]]}
    assert (obj(grid["20"])["max_collision"], obj(grid["20"])["collision_count"]) == (0, 0)
    assert set(three) == {"stats", "collisions"}
    assert out["inconsistent_nodes"] == []


def test_flip_flopping_repeaters_are_inconsistent_companions_are_not(tmp_path: Path) -> None:
    s = AdvertStore()
    for seed, kind in ((18, 2), (1, 1), (20, 2)):
        sizes = (1, 2, 1) if seed != 20 else (1, 2, 1, 1, 1)  # 20 settles: last 3 agree
        for k, size in enumerate(sizes):
            path = bytes(size)  # one hop of `size` bytes
            at = T0_S + k * 60
            s.heard(advert(seed, at, advert_type=kind, path=path, hash_size=size), "OBS1", at)
    out = hash_collisions.compute(s.snapshot(tmp_path), _q())
    flagged = items(out["inconsistent_nodes"])
    assert [n["public_key"] for n in flagged] == [public_key_hex(18)]
    assert flagged[0]["hash_sizes_seen"] == [1, 2]
    assert flagged[0]["hash_size"] == 1


def test_adverts_older_than_seven_days_do_not_count(tmp_path: Path) -> None:
    s = AdvertStore()
    s.heard(advert(18, T0_S, path=b"\x00\x01", hash_size=2), "OBS1", T0_S)
    s.heard(advert(20, T0_S, path=b"\x00\x01", hash_size=2), "OBS1", T0_S)
    snap = s.snapshot(tmp_path)
    later = Query(now_ms=NOW_MS + 8 * 86_400_000)
    stats = obj(obj(obj(hash_collisions.compute(snap, later)["by_size"])["2"])["stats"])
    assert (stats["total_nodes"], stats["using_this_size"]) == (2, 0)


def test_region_keeps_nodes_heard_there(tmp_path: Path) -> None:
    s = AdvertStore(regions={"OBS1": "SEA", "OBS2": "PDX"})
    s.heard(advert(18, T0_S), "OBS1", T0_S)
    s.heard(advert(20, T0_S), "OBS2", T0_S)
    snap = s.snapshot(tmp_path)
    stats = obj(obj(obj(hash_collisions.compute(snap, _q("SEA"))["by_size"])["1"])["stats"])
    assert stats["total_nodes"] == 1
    assert hash_collisions.compute(snap, _q("All")) == hash_collisions.compute(snap, _q())
    assert hash_collisions.compute(snap, _q("nowhere")) == hash_collisions.compute(snap, _q())


def test_empty_store(tmp_path: Path) -> None:
    out = hash_collisions.compute(AdvertStore().snapshot(tmp_path), _q())
    assert out["inconsistent_nodes"] == []
    for size in ("1", "2", "3"):
        entry = obj(obj(out["by_size"])[size])
        assert entry["collisions"] == []
        assert obj(entry["stats"])["total_nodes"] == 0
    assert all(v == [] for v in obj(obj(obj(out["by_size"])["1"])["one_byte_cells"]).values())
