"""Small simulations shared by the simulator tests (built once per session)."""

from __future__ import annotations

import dataclasses

import pytest

from meshlens.sim.profiles import PROFILES, Profile
from meshlens.sim.simulation import SimulationSpec

# Dense enough for ~100 repeaters, so 1-byte prefixes collide as they do at staging, but
# only a few simulated hours long so it runs in a few seconds.
DENSE: Profile = dataclasses.replace(
    PROFILES["staging"],
    name="dense-test",
    nodes=420,
    regions=2,
    observers=8,
    days=0.2,
    region_spacing_km=60.0,
    region_radius_km=28.0,
)


@pytest.fixture(scope="session")
def small_spec() -> SimulationSpec:
    """The `small` profile, seed 1, over a shorter window."""
    return SimulationSpec(dataclasses.replace(PROFILES["small"], days=0.5), seed=1)


@pytest.fixture(scope="session")
def dense_spec() -> SimulationSpec:
    """A denser mesh with ~100 repeaters."""
    return SimulationSpec(DENSE, seed=3)
