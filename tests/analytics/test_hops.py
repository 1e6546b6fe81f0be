"""Hop resolution: the prefix map, each tier in turn, repeat:off observers, the graph."""

from __future__ import annotations

import numpy as np

from meshlens.analytics.hops import resolver
from meshlens.analytics.hops.context import best_paths, resolve_per_transmission
from meshlens.analytics.hops.neighbours import neighbour_graph
from meshlens.analytics.hops.roster import roster_of
from meshlens.store.snapshot import Snapshot
from tests.analytics.meshes import T0, Mesh


def _resolve(snap: Snapshot, tx: int) -> list[tuple[str | None, int]]:
    """(pubkey, tier) of each hop of one transmission's best path."""
    rows = np.array([tx], np.int64)
    _, owner, hop = best_paths(snap, rows)
    result = resolve_per_transmission(snap, rows, owner, hop, T0)
    keys = roster_of(snap).keys
    return [
        (keys[n] if n >= 0 else None, int(t))
        for n, t in zip(result.node.tolist(), result.tier.tolist(), strict=True)
    ]


def test_unique_prefix_and_unknown_prefix() -> None:
    m = Mesh()
    ab = m.node("ab")
    m.node("ac11", role="companion")  # companions never relay
    m.node("ac22", role="sensor")
    room = m.node("ad", role="room")
    m.observer("OBS")
    tx = m.tx([("OBS", ["AB", "AC", "AD", "EE"])])
    assert _resolve(m.snapshot(), tx) == [
        (ab, resolver.UNIQUE),
        (None, resolver.NONE),
        (room, resolver.UNIQUE),
        (None, resolver.NONE),
    ]


def test_full_key_matches_but_longer_than_eight_characters_does_not_truncate() -> None:
    m = Mesh()
    m.node("0123456789")
    snap = m.snapshot()
    roster = roster_of(snap)
    assert roster.candidates("0123456789ABCDEF") == ()
    assert roster.candidates("01234567") == (0,)
    assert roster.candidates(roster.keys[0].upper()) == (0,)


def test_affinity_beats_geography_when_the_graph_is_clear() -> None:
    m = Mesh()
    far = m.node("aa11", at=(47.0, -122.0))
    m.node("aa22", at=(47.5, -122.0))
    obs = m.node("bb", at=(47.5, -122.01))  # next to aa22 ...
    m.observer(obs.upper())
    for _ in range(5):  # ... but heard aa11 right before it, unambiguously, five times
        m.tx([(obs.upper(), ["AA11"])])
    tx = m.tx([(obs.upper(), ["AA"])])
    assert _resolve(m.snapshot(), tx) == [(far, resolver.AFFINITY)]


def test_geo_proximity_when_the_graph_has_too_little_evidence() -> None:
    m = Mesh()
    m.node("aa11", at=(47.0, -122.0))
    near = m.node("aa22", at=(47.5, -122.0))
    obs = m.node("bb", at=(47.5, -122.01))
    m.observer(obs.upper())
    tx = m.tx([(obs.upper(), ["AA"])])  # one sighting: an edge of count 1, below 3
    assert _resolve(m.snapshot(), tx) == [(near, resolver.GEO)]


def test_gps_preference_then_advert_count_then_smallest_key() -> None:
    m = Mesh()
    m.node("aa11", at=(47.0, -122.0), adverts=5)
    busy_gps = m.node("aa22", at=(47.1, -122.0), adverts=9)
    m.node("aa33", adverts=50)  # most adverts, but no GPS
    m.node("cc11", adverts=4)
    cc = m.node("cc22", adverts=7)
    first = m.node("dd11", adverts=3)
    m.node("dd22", adverts=3)
    m.observer("OBSX")  # not hex: no context, so no tier 1 or 2
    tx = m.tx([("OBSX", ["AA", "CC", "DD"])])
    assert _resolve(m.snapshot(), tx) == [
        (busy_gps, resolver.GPS_COUNT),
        (cc, resolver.COUNT),
        (first, resolver.COUNT),
    ]


def test_repeat_off_observer_is_no_candidate() -> None:
    m = Mesh()
    silent = m.node("ee")
    m.observer(silent.upper(), can_relay=False)
    m.node("ff11")
    other = m.node("ff22")
    m.observer(other.upper(), can_relay=False)
    m.observer("OBS")
    ff = m.node("ff33", adverts=2)
    tx = m.tx([("OBS", ["EE", "FF"])])
    assert _resolve(m.snapshot(), tx) == [(None, resolver.NONE), (ff, resolver.COUNT)]


def test_graph_edges_from_the_three_sources() -> None:
    m = Mesh()
    a = m.node("a1", at=(47.0, -122.0))
    b = m.node("b1", at=(47.1, -122.0))
    c = m.node("c1", role="companion", at=(47.2, -122.0))
    m.observer(b.upper())
    m.observer("OBSX")
    m.tx([(b.upper(), [])], origin=c)  # zero-hop advert: c <-> b
    m.tx([("OBSX", ["A1"])], origin=c)  # advert with a path: c <-> a (observer is no node)
    m.tx([(b.upper(), ["A1"])], at_ms=T0 + 5)  # any packet: b <-> a
    m.tx([(b.upper(), ["A1"])], at_ms=T0 + 9)
    snap = m.snapshot()
    graph = neighbour_graph(snap)
    keys = roster_of(snap).endpoint_of
    rev = {v: k for k, v in keys.items()}
    got = {
        tuple(sorted((rev[x][:2], rev[y][:2]))): (n, last, o)
        for x, y, n, last, o in zip(
            graph.a.tolist(), graph.b.tolist(), graph.count.tolist(),
            graph.last_ms.tolist(), graph.observers.tolist(), strict=True,
        )
    }  # fmt: skip
    assert got == {
        ("b1", "c1"): (1, T0, 1),
        ("a1", "c1"): (1, T0, 1),
        ("a1", "b1"): (2, T0 + 9, 1),
        ("a1", "ob"): (1, T0, 1),  # an observer that is no node is still an endpoint
    }
    assert a in keys


def test_graph_drops_edges_over_500_km() -> None:
    m = Mesh()
    m.node("a1", at=(47.0, -122.0))
    b = m.node("b1", at=(40.0, -122.0))  # ~780 km away
    m.observer(b.upper())
    m.tx([(b.upper(), ["A1"])])
    assert len(neighbour_graph(m.snapshot())) == 0


def test_score_decays_with_a_week_half_life() -> None:
    week = 168 * 3_600_000
    one = np.array([100], np.int64)
    s = resolver.edge_score(one, np.array([T0 - week]), np.array([3]), T0)
    assert abs(float(s[0]) - 0.5) < 1e-12
    s = resolver.edge_score(np.array([50]), np.array([T0 + 10]), np.array([1]), T0)
    assert abs(float(s[0]) - 0.5 / 3) < 1e-12  # future times count as now; 1 observer = 1/3


def test_graph_is_the_same_whether_packets_came_in_one_batch_or_many() -> None:
    from meshlens.store.batch import ObserverRow, StoreBatch, obs_batch
    from meshlens.store.store import PacketStore

    m = Mesh()
    m.node("a1", at=(47.0, -122.0))
    b = m.node("b1", at=(47.1, -122.0))
    c = m.node("c1", at=(47.2, -122.0))
    m.observer(b.upper())
    m.observer("OBSX")
    for i in range(12):
        path = ["A1", "C1"][: 1 + i % 2]
        m.tx([(b.upper(), path), ("OBSX", ["C1"])], origin=c if i % 3 else None, at_ms=T0 + i)
    one = neighbour_graph(m.snapshot())
    store = PacketStore()
    observers = [ObserverRow(rowid, o) for rowid, o in m.observers.values()]
    store.append(StoreBatch(nodes=m.nodes, observers=observers))
    for tx in m.transmissions:
        rows = [o for o in m.observations if o.tx_db_id == tx.db_id]
        store.append(StoreBatch(transmissions=[tx], observations=obs_batch(rows)))
    many = neighbour_graph(store.snapshot())
    for name in ("a", "b", "count", "last_ms", "observers"):
        assert getattr(many, name).tolist() == getattr(one, name).tolist()
    assert len(one) == 4


def test_only_endpoints_with_an_edge_or_path_capable_gps_sway_a_context() -> None:
    m = Mesh()
    m.node("a1", at=(47.0, -122.0))  # a repeater with GPS: geo reads it
    m.node("b1")  # a repeater without GPS, heard next to nobody
    talker = m.node("c1", role="companion", at=(47.2, -122.0))  # GPS, but never a hop
    listener = m.node("d1")  # no GPS, but it has an edge
    m.observer(listener.upper())
    m.tx([(listener.upper(), [])], origin=talker)  # zero-hop advert: c1 <-> d1
    snap = m.snapshot()
    roster = roster_of(snap)
    graph = neighbour_graph(snap)
    swaying = resolver.swaying(roster, graph.adjacency(T0, roster.endpoint_count))
    by_key = {roster.keys[i][:2]: bool(swaying[i]) for i in range(roster.node_count)}
    assert by_key == {"a1": True, "b1": False, "c1": True, "d1": True}
    # Without a graph only geo reads the context: path-capable GPS nodes.
    without = resolver.swaying(roster, None)
    assert {roster.keys[i][:2] for i in np.flatnonzero(without).tolist()} == {"a1"}
