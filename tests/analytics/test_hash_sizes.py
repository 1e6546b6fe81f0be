"""Hash sizes (part-b §1) on adverts built through the real pipeline, answers by hand."""

from __future__ import annotations

from pathlib import Path

from meshlens.analytics import hash_sizes
from meshlens.analytics.query import Query, normalise_region
from meshlens.analytics.registry import BY_NAME
from meshlens.store.snapshot import Snapshot
from meshlens.times import iso_millis, iso_seconds
from tests.analytics.adverts import T0_S, AdvertStore, advert
from tests.analytics.stores import items
from tests.ingest.helpers import public_key_hex

NOW_MS = (T0_S + 86_400) * 1000
A, B, C = public_key_hex(1), public_key_hex(2), public_key_hex(3)


def _q(region: str = "") -> Query:
    return Query(now_ms=NOW_MS, region=normalise_region(region))


def _store(tmp_path: Path) -> Snapshot:
    """Repeater A floods 2-byte hashes over [C's 2-byte prefix, BEEF] (heard in SEA);
    companion B floods 1-byte over [A's first byte] (PDX); repeater C only sends
    zero-hop DIRECT adverts (PDX), so its home is PDX and its size is 0."""
    s = AdvertStore(regions={"OBS1": "SEA", "OBS2": "PDX"})
    path_a = bytes.fromhex(C[:4]) + bytes.fromhex("BEEF")
    s.heard(advert(1, T0_S, path=path_a, hash_size=2), "OBS1", T0_S)
    s.heard(advert(2, T0_S, advert_type=1, path=bytes.fromhex(A[:2])), "OBS2", T0_S + 60)
    s.heard(advert(3, T0_S, route_type=2), "OBS2", T0_S + 120)
    return s.snapshot(tmp_path)


def test_registered() -> None:
    assert BY_NAME["hash-sizes"].compute is hash_sizes.compute


def test_global_shape(tmp_path: Path) -> None:
    out = hash_sizes.compute(_store(tmp_path), _q())
    assert out["total"] == 2  # C's advert has no hop
    assert out["distribution"] == {"1": 1, "2": 1, "3": 0}
    assert out["distributionByRepeaters"] == {"1": 0, "2": 1, "3": 0, "0": 1}
    assert out["hourly"] == [{"hour": "2026-01-01T00", "1": 1, "2": 1, "3": 0}]
    hops: list[dict[str, object]] = [
        {"hex": A[:2].upper(), "size": 1, "count": 1, "name": "N1", "pubkey": A},
        {"hex": "BEEF", "size": 2, "count": 1, "name": None, "pubkey": None},
        {"hex": C[:4].upper(), "size": 2, "count": 1, "name": "N3", "pubkey": C},
    ]
    assert out["topHops"] == sorted(hops, key=lambda h: str(h["hex"]))
    assert out["multiByteNodes"] == [
        {
            "name": "N1",
            "hashSize": 2,
            "packets": 1,
            "lastSeen": iso_millis(T0_S * 1000),
            "pubkey": A,
            "role": "repeater",
        }
    ]
    assert out["attributionMethod"] == "observer"
    capability = items(out["multiByteCapability"])
    assert [(c["pubkey"], c["status"], c["evidence"], c["maxHashSize"]) for c in capability] == [
        (A, "confirmed", "advert", 2),
        (C, "suspected", "path", 2),
        (B, "unknown", "", 1),
    ]
    assert capability[0]["lastSeen"] == iso_seconds(T0_S * 1000)
    assert capability[2]["role"] == "companion"


def test_region_filters_packets_and_keeps_capability_global(tmp_path: Path) -> None:
    snap = _store(tmp_path)
    sea = hash_sizes.compute(snap, _q("SEA"))
    assert (sea["total"], sea["distribution"]) == (1, {"1": 0, "2": 1, "3": 0})
    assert sea["attributionMethod"] == "repeater"
    assert sea["distributionByRepeaters"] == {"1": 0, "2": 1, "3": 0}
    assert items(sea["multiByteCapability"])[0]["status"] == "confirmed"
    pdx = hash_sizes.compute(snap, _q("PDX"))
    assert pdx["distributionByRepeaters"] == {"1": 0, "2": 0, "3": 0, "0": 1}
    assert pdx["multiByteNodes"] == []


def test_region_all_is_no_filter(tmp_path: Path) -> None:
    """Decision 9: the reference dropped every homed node from two lists under All."""
    snap = _store(tmp_path)
    assert hash_sizes.compute(snap, _q("All")) == hash_sizes.compute(snap, _q())


def test_unknown_region_keeps_packets_but_drops_nodes_homed_elsewhere(tmp_path: Path) -> None:
    out = hash_sizes.compute(_store(tmp_path), _q("XXX"))
    assert out["total"] == 2
    assert out["distributionByRepeaters"] == {"1": 0, "2": 1, "3": 0}


def test_latest_non_zero_hop_advert_decides_the_size(tmp_path: Path) -> None:
    s = AdvertStore()
    s.heard(advert(1, T0_S, path=b"\x01\x02", hash_size=2), "OBS1", T0_S)
    s.heard(advert(1, T0_S + 60, route_type=2), "OBS1", T0_S + 60)  # zero-hop: no size
    s.heard(advert(1, T0_S + 120, path=b"\x01\x02\x03", hash_size=3), "OBS1", T0_S + 120)
    out = hash_sizes.compute(s.snapshot(tmp_path), _q())
    node = items(out["multiByteNodes"])[0]
    assert (node["hashSize"], node["packets"]) == (3, 3)
    assert node["lastSeen"] == iso_millis((T0_S + 120) * 1000)


def test_empty_store_has_lists_not_nulls(tmp_path: Path) -> None:
    assert hash_sizes.compute(AdvertStore().snapshot(tmp_path), _q()) == {
        "total": 0,
        "distribution": {"1": 0, "2": 0, "3": 0},
        "distributionByRepeaters": {"1": 0, "2": 0, "3": 0},
        "hourly": [],
        "topHops": [],
        "multiByteNodes": [],
        "attributionMethod": "observer",
        "multiByteCapability": [],
    }
