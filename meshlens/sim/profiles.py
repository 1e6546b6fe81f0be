"""Simulation profiles: how big a mesh, over how long, with how many observers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

DAY_MS: Final = 86_400_000
# The default end of the simulated window, fixed so a seed always gives the same bytes:
# 2026-03-01T00:00:00Z. `meshlens simulate --end now` moves it.
DEFAULT_END_MS: Final = 1_772_323_200_000
# The default centre: the San Francisco Bay Area, where the reference fixtures come from.
DEFAULT_CENTER: Final = (37.55, -122.05)


@dataclass(frozen=True, slots=True)
class Profile:
    """The size and shape of one simulated mesh."""

    name: str
    nodes: int
    regions: int  # IATA areas, each a cluster of towns with its own observers
    observers: int
    days: float
    # Node roles: repeaters, companions, room servers, sensors (shares sum to 1).
    role_shares: tuple[float, float, float, float] = (0.25, 0.62, 0.07, 0.06)
    region_spacing_km: float = 90.0  # between neighbouring region centres
    region_radius_km: float = 40.0  # spread of towns and hills around a region centre
    flood_max_hops: int = 10  # repeaters' flood.max: floods stop after this many hops
    traffic_scale: float = 1.0  # multiplies every activity rate
    status_interval_s: int = 900  # observers publish a status message this often

    @property
    def duration_ms(self) -> int:
        """The simulated window in milliseconds."""
        return round(self.days * DAY_MS)


PROFILES: Final[dict[str, Profile]] = {
    # A quick mesh for tests and smoke runs: ~50 nodes, ~10k observations.
    "small": Profile(
        "small",
        nodes=50,
        regions=2,
        observers=4,
        days=2.0,
        region_spacing_km=12.0,
        region_radius_km=4.0,
        traffic_scale=6.0,
    ),
    # The size of the reference system's staging instance: ~2,000 nodes, 31 observers in
    # 4 regions, ~80k transmissions and ~2.3M observations over 7 days.
    "staging": Profile("staging", nodes=2000, regions=4, observers=31, days=7.0, traffic_scale=1.6),
    # Ten times staging: ten metro clusters like staging's, side by side.
    "large": Profile("large", nodes=20000, regions=40, observers=310, days=7.0),
    # The live demo: a small mesh whose traffic keeps coming (history, then real time).
    "demo": Profile(
        "demo",
        nodes=160,
        regions=2,
        observers=6,
        days=0.25,
        region_spacing_km=18.0,
        region_radius_km=7.0,
        traffic_scale=10.0,
    ),
}


def profile_named(name: str) -> Profile:
    """The profile called `name`; raises KeyError naming the choices."""
    try:
        return PROFILES[name]
    except KeyError:
        raise KeyError(f"unknown profile {name!r}; choose one of {', '.join(PROFILES)}") from None
