"""Drawing the simulated population: its nodes, placed in the land, and its observers.

Nodes cluster around towns; some repeaters sit on hills. Every node gets a deterministic
Ed25519 key derived from the seed and its index, a role, a name, a path hash size that
may change once during the window, and a clock behaviour.
"""

from __future__ import annotations

import hashlib
import math
import random
from dataclasses import dataclass
from typing import Final

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from meshlens.sim import names
from meshlens.sim.clocks import draw_clock
from meshlens.sim.geography import (
    Place,
    Region,
    assign_regions,
    lay_out_regions,
    place_towns_and_hills,
)
from meshlens.sim.mesh import (
    ADV_COMPANION,
    ADV_REPEATER,
    ADV_ROOM,
    ADV_SENSOR,
    Mesh,
    SimNode,
    SimObserver,
    Site,
)
from meshlens.sim.profiles import Profile

KM_PER_DEG: Final = 111.32


def node_private_key(seed: int, index: int) -> Ed25519PrivateKey:
    """The deterministic key of node `index` in the mesh of `seed`."""
    material = hashlib.sha256(f"meshlens-sim/{seed}/{index}".encode()).digest()
    return Ed25519PrivateKey.from_private_bytes(material)


def build_mesh(
    profile: Profile, seed: int, *, center: tuple[float, float], start_ms: int, end_ms: int
) -> Mesh:
    """Place and describe every node and observer of a profile."""
    rng = random.Random(f"mesh/{seed}/{profile.name}")
    regions = lay_out_regions(profile, rng)
    region_of = assign_regions(profile.nodes, len(regions), rng)
    roles = _roles(profile, rng)
    towns, hills = place_towns_and_hills(profile, regions, region_of, rng)
    layout = _Layout(towns, hills, seed, center, start_ms, end_ms)
    nodes = [_node(i, roles[i], region_of[i], layout, rng) for i in range(profile.nodes)]
    observers = _observers(profile, regions, nodes, rng, start_ms=start_ms, end_ms=end_ms)
    return Mesh(profile, seed, center, start_ms, end_ms, tuple(regions), tuple(nodes), observers)


def _roles(profile: Profile, rng: random.Random) -> list[int]:
    types = (ADV_REPEATER, ADV_COMPANION, ADV_ROOM, ADV_SENSOR)
    counts = [round(share * profile.nodes) for share in profile.role_shares]
    counts[1] += profile.nodes - sum(counts)  # rounding leftovers become companions
    roles = [t for t, n in zip(types, counts, strict=True) for _ in range(n)]
    rng.shuffle(roles)
    return roles


@dataclass(frozen=True, slots=True)
class _Layout:
    """What placing a node needs besides its own draws."""

    towns: list[list[Place]]
    hills: list[list[Place]]
    seed: int
    center: tuple[float, float]
    start_ms: int
    end_ms: int


def _node(
    index: int, advert_type: int, region: int, layout: _Layout, rng: random.Random
) -> SimNode:
    towns, hills, center = layout.towns, layout.hills, layout.center
    seed, start_ms, end_ms = layout.seed, layout.start_ms, layout.end_ms
    town = rng.choices(towns[region], weights=[t.weight for t in towns[region]])[0]
    hill: Place | None = None
    if advert_type == ADV_REPEATER and rng.random() < 0.1:
        hill = rng.choice(hills[region])
        site, x, y = Site.HILL, hill.x_km + rng.gauss(0, 0.4), hill.y_km + rng.gauss(0, 0.4)
    elif advert_type in (ADV_REPEATER, ADV_ROOM):
        site, x, y = Site.ROOF, town.x_km + rng.gauss(0, 4.0), town.y_km + rng.gauss(0, 4.0)
    else:
        spread = 6.0 if advert_type == ADV_SENSOR else 4.0
        site, x, y = Site.GROUND, town.x_km + rng.gauss(0, spread), town.y_km + rng.gauss(0, spread)
    lat = center[0] + y / KM_PER_DEG
    lon = center[1] + x / (KM_PER_DEG * math.cos(math.radians(center[0])))
    if advert_type == ADV_REPEATER:
        name = names.repeater_name(rng, town.name, hill.name if hill else None)
    elif advert_type == ADV_ROOM:
        name = names.room_name(rng, town.name)
    elif advert_type == ADV_SENSOR:
        name = names.sensor_name(rng, town.name)
    else:
        name = names.companion_name(rng)
    key = node_private_key(seed, index)
    public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    companion = advert_type == ADV_COMPANION
    span = end_ms - start_ms
    active_from = start_ms - 1
    active_until = end_ms + 1
    churn = rng.random()
    if churn < 0.05:
        active_from = start_ms + rng.randrange(span)  # joins during the window
    elif churn < 0.09:
        active_until = start_ms + rng.randrange(span)  # leaves during the window
    return SimNode(
        index=index,
        private_key=key,
        public_key=public,
        advert_type=advert_type,
        name=name,
        x_km=x,
        y_km=y,
        lat=round(lat, 5),
        lon=round(lon, 5),
        site=site,
        region=region,
        location_in_adverts=_advertised_location(advert_type, lat, lon, rng),
        activity=rng.lognormvariate(0.0, 1.0) if companion else 1.0,
        hash_sizes=_hash_sizes(rng, start_ms, span),
        clock=draw_clock(rng, companion=companion, start_ms=start_ms, end_ms=end_ms),
        tx_power_dbm=22.0 if advert_type in (ADV_REPEATER, ADV_ROOM) else rng.choice((20.0, 22.0)),
        noise_floor_dbm=rng.gauss(-118.0, 2.0),
        active_from_ms=active_from,
        active_until_ms=active_until,
    )


def _advertised_location(
    advert_type: int, lat: float, lon: float, rng: random.Random
) -> tuple[float, float] | None:
    share = {ADV_REPEATER: 0.9, ADV_ROOM: 0.8, ADV_SENSOR: 0.95}.get(advert_type, 0.45)
    draw = rng.random()
    if draw < share:
        return (round(lat, 5), round(lon, 5))
    if draw < share + 0.1:
        return (0.0, 0.0)  # a location flag with no GPS fix
    return None


def _hash_sizes(rng: random.Random, start_ms: int, span: int) -> tuple[tuple[int, int], ...]:
    """Mostly 1-byte hashes, some 2 and a few 3; about one node in 16 switches once."""
    first = rng.choices((1, 2, 3), weights=(0.78, 0.18, 0.04))[0]
    sizes = [(start_ms - 1, first)]
    if rng.random() < 0.06:
        later = {1: 2, 2: rng.choice((1, 3)), 3: 2}[first]
        sizes.append((start_ms + rng.randrange(span), later))
    return tuple(sizes)


_MODELS: Final = ("Heltec V3", "RAK4631", "Station G2", "T-Beam", "Heltec T114", "Xiao S3")
_FIRMWARE: Final = ("1.12.0", "1.13.0", "1.14.1", "1.15.0", "1.16.2", "1.17.1")
_CLIENTS: Final = (
    "meshcoretomqtt/1.0.8.0",
    "meshcoretomqtt/1.0.6.3",
    "pyMC_repeater/1.0.6",
    "meshcore-packet-capture/1.2",
)


def _observers(
    profile: Profile,
    regions: list[Region],
    nodes: list[SimNode],
    rng: random.Random,
    *,
    start_ms: int,
    end_ms: int,
) -> tuple[SimObserver, ...]:
    """Spread observers over the regions; most are repeaters on roofs and hills."""
    out: list[SimObserver] = []
    per_region = assign_regions(profile.observers, len(regions), rng)
    for region_index, region in enumerate(regions):
        wanted = per_region.count(region_index)
        # Observers run for the whole window: pick among nodes that never join or leave.
        local = [
            n
            for n in nodes
            if n.region == region_index
            and n.active_from_ms < start_ms
            and n.active_until_ms > end_ms
        ]
        fixed = [n for n in local if n.advert_type in (ADV_REPEATER, ADV_ROOM)]
        movable = [n for n in local if n.advert_type == ADV_COMPANION]
        n_fixed = min(len(fixed), wanted - wanted // 4)
        picks = rng.sample(fixed, n_fixed) + rng.sample(
            movable, min(len(movable), wanted - n_fixed)
        )
        for node in picks:
            out.append(
                SimObserver(
                    node=node.index,
                    iata=region.code,
                    observer_id=node.public_key.hex().upper(),
                    name=node.name,
                    host_offset_ms=_host_offset_ms(rng),
                    model=rng.choice(_MODELS),
                    firmware=rng.choice(_FIRMWARE),
                    client_version=rng.choice(_CLIENTS),
                    radio="910.525,62.5,8,5",
                    battery_mv=rng.randrange(3700, 4200)
                    if node.advert_type == ADV_COMPANION
                    else None,
                )
            )
    return tuple(sorted(out, key=lambda o: o.node))


def _host_offset_ms(rng: random.Random) -> int:
    """Most uploader hosts run NTP; a few are seconds off."""
    if rng.random() < 0.9:
        return round(rng.gauss(0, 120))
    return round(rng.choice((-1, 1)) * rng.uniform(2_000, 40_000))
