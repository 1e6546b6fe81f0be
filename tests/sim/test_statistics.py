"""The generated mesh has the properties real meshes have (and analytics look for)."""

from __future__ import annotations

from collections import Counter, defaultdict

import numpy as np
import pytest

from meshlens.sim.clocks import ClockKind
from meshlens.sim.events import Observation
from meshlens.sim.profiles import PROFILES
from meshlens.sim.simulation import Simulation, SimulationSpec
from meshlens.wire import peek_frame


@pytest.fixture(scope="module")
def run(dense_spec: SimulationSpec) -> tuple[Simulation, list[Observation]]:
    sim = Simulation(dense_spec)
    return sim, [e for e in sim.events() if isinstance(e, Observation)]


def test_one_byte_prefix_collisions_arise_in_observed_paths(
    run: tuple[Simulation, list[Observation]],
) -> None:
    sim, observations = run
    relays_by_prefix: dict[int, set[int]] = defaultdict(set)
    for obs in observations:
        frame = peek_frame(obs.raw)
        if frame.path_hop_width == 1 and frame.payload_type != 9:
            for node in obs.relays:
                relays_by_prefix[sim.mesh.nodes[node].public_key[0]].add(node)
    colliding = [p for p, nodes in relays_by_prefix.items() if len(nodes) > 1]
    assert len(colliding) >= 3, colliding


def test_paths_snr_and_rssi_are_plausible(run: tuple[Simulation, list[Observation]]) -> None:
    sim, observations = run
    hops = np.array([len(o.relays) for o in observations if peek_frame(o.raw).payload_type != 9])
    assert hops.max() <= sim.mesh.profile.flood_max_hops
    assert 2 <= np.median(hops) <= 8
    snr = np.array([o.snr_db for o in observations])
    rssi = np.array([o.rssi_dbm for o in observations])
    assert snr.min() >= -20 and snr.max() <= 15
    assert rssi.min() >= -135 and rssi.max() <= -20
    assert np.all(snr == np.trunc(snr))  # meshcoretomqtt reports whole dB
    per_tx = len(observations) / len({peek_frame(o.raw).content_hash for o in observations})
    assert 2 < per_tx < 60  # several observers hear most transmissions, some more than once


def test_ground_truth_prefixes_match_the_reported_hops(
    run: tuple[Simulation, list[Observation]],
) -> None:
    sim, observations = run
    for obs in observations[:5000]:
        frame = peek_frame(obs.raw)
        width = frame.path_hop_width
        expected = tuple(sim.mesh.nodes[n].public_key[:width].hex().upper() for n in obs.relays)
        assert frame.hops == expected
        assert frame.content_hash == f"{obs.tx_hash:016x}" and frame.path_hop_width == obs.hop_width


def test_every_clock_class_is_present(run: tuple[Simulation, list[Observation]]) -> None:
    sim, _ = run
    kinds = Counter(n.clock.kind for n in sim.mesh.nodes)
    assert set(kinds) == set(ClockKind)
    assert kinds[ClockKind.ACCURATE] > sum(kinds.values()) / 2


def test_roles_hash_sizes_and_regions(run: tuple[Simulation, list[Observation]]) -> None:
    sim, observations = run
    roles = Counter(n.role for n in sim.mesh.nodes)
    total = sum(roles.values())
    shares = PROFILES["staging"].role_shares
    for role, share in zip(("repeater", "companion", "room", "sensor"), shares, strict=True):
        assert abs(roles[role] / total - share) < 0.02
    sizes = Counter(
        peek_frame(o.raw).hash_size for o in observations if peek_frame(o.raw).route_type == 1
    )
    assert sizes[1] > sizes[2] > 0 and sizes[3] > 0
    assert any(len(n.hash_sizes) > 1 for n in sim.mesh.nodes)  # some nodes switch size
    regions = Counter(sim.mesh.observers[o.observer].iata for o in observations)
    assert len(regions) == sim.mesh.profile.regions >= 2
