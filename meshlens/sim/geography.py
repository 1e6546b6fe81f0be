"""The simulated land: regions in metro clusters, and the towns and hills of each region.

Regions carry real IATA codes; towns are where nodes cluster, hills where some repeaters sit.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Final

from meshlens.sim import names
from meshlens.sim.profiles import Profile

# Region labels, in the order regions are laid out; real IATA codes of the US west coast.
IATA_CODES: Final = (
    "SJC",
    "OAK",
    "SFO",
    "MRY",
    "SMF",
    "SCK",
    "MOD",
    "FAT",
    "SBA",
    "SBP",
    "SNS",
    "STS",
    "ACV",
    "RDD",
    "CIC",
    "MFR",
    "EUG",
    "PDX",
    "SLE",
    "RDM",
    "SEA",
    "PAE",
    "BLI",
    "GEG",
    "YKM",
    "PSC",
    "BOI",
    "RNO",
    "TVL",
    "LAS",
    "BFL",
    "LAX",
    "BUR",
    "ONT",
    "SNA",
    "SAN",
    "PSP",
    "IPL",
    "YUM",
    "PHX",
)

REGIONS_PER_CLUSTER: Final = 4
CLUSTER_SPACING_KM: Final = 400.0  # beyond any radio link: clusters are separate meshes


@dataclass(frozen=True, slots=True)
class Region:
    """An IATA area: a centre the towns and hills of one part of the mesh cluster around."""

    code: str
    x_km: float
    y_km: float


def lay_out_regions(profile: Profile, rng: random.Random) -> list[Region]:
    """Regions in metro clusters of up to four (2 x 2), clusters far apart on a grid.

    Floods cross between the regions of a cluster over the hills, as in the Bay Area,
    but not between clusters; so `large` is ten staging-sized meshes side by side, not
    one mesh where every flood reaches ten times as many observers.
    """
    count = profile.regions
    clusters = math.ceil(count / REGIONS_PER_CLUSTER)
    cluster_cols = math.ceil(math.sqrt(clusters))
    cluster_rows = math.ceil(clusters / cluster_cols)
    spacing = profile.region_spacing_km
    out = []
    for i in range(count):
        cluster, member = divmod(i, REGIONS_PER_CLUSTER)
        in_cluster = min(REGIONS_PER_CLUSTER, count - cluster * REGIONS_PER_CLUSTER)
        cols = math.ceil(math.sqrt(in_cluster))
        rows = math.ceil(in_cluster / cols)
        r, c = divmod(member, cols)
        cr, cc = divmod(cluster, cluster_cols)
        x = (cc - (cluster_cols - 1) / 2) * CLUSTER_SPACING_KM
        y = ((cluster_rows - 1) / 2 - cr) * CLUSTER_SPACING_KM
        x += (c - (cols - 1) / 2) * spacing + rng.uniform(-0.1, 0.1) * spacing
        y += ((rows - 1) / 2 - r) * spacing + rng.uniform(-0.1, 0.1) * spacing
        out.append(Region(IATA_CODES[i % len(IATA_CODES)], x, y))
    return out


def assign_regions(total: int, parts: int, rng: random.Random) -> list[int]:
    """Assign each of `total` nodes a region, the regions differing in size by ~±20%."""
    weights = [rng.uniform(0.8, 1.2) for _ in range(parts)]
    scale = total / sum(weights)
    counts = [math.floor(w * scale) for w in weights]
    for i in range(total - sum(counts)):
        counts[i % parts] += 1
    return [region for region, n in enumerate(counts) for _ in range(n)]


@dataclass(frozen=True, slots=True)
class Place:
    """A town or a hill of a region; `weight` is a town's relative pull on its nodes."""

    name: str
    x_km: float
    y_km: float
    weight: float


def place_towns_and_hills(
    profile: Profile, regions: list[Region], region_of: list[int], rng: random.Random
) -> tuple[list[list[Place]], list[list[Place]]]:
    """Towns and hills of every region."""
    towns: list[list[Place]] = []
    hills: list[list[Place]] = []
    radius = profile.region_radius_km
    for index, region in enumerate(regions):
        size = region_of.count(index)
        n_towns = max(2, round(size / 50))
        n_hills = max(2, round(size / 100))
        towns.append(
            [
                Place(
                    names.town_name(rng),
                    region.x_km + rng.gauss(0, radius * 0.55),
                    region.y_km + rng.gauss(0, radius * 0.55),
                    1.0 / (k + 1) ** 0.8,
                )
                for k in range(n_towns)
            ]
        )
        hills.append(
            [
                Place(names.hill_name(rng), *_in_disc(region, radius * 1.2, rng), 1.0)
                for _ in range(n_hills)
            ]
        )
    return towns, hills


def _in_disc(region: Region, radius: float, rng: random.Random) -> tuple[float, float]:
    r = radius * math.sqrt(rng.random())
    a = rng.uniform(0, 2 * math.pi)
    return region.x_km + r * math.cos(a), region.y_km + r * math.sin(a)
