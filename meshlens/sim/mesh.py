"""The simulated population's records: nodes, observers and the mesh that holds them."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Final

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from meshlens.sim.clocks import NodeClock
from meshlens.sim.geography import Region
from meshlens.sim.profiles import Profile

ADV_COMPANION: Final = 1
ADV_REPEATER: Final = 2
ADV_ROOM: Final = 3
ADV_SENSOR: Final = 4
ROLE_OF_TYPE: Final = {1: "companion", 2: "repeater", 3: "room", 4: "sensor"}


class Site(IntEnum):
    """How high a node's antenna sits, which decides how far it reaches."""

    GROUND = 0
    ROOF = 1
    HILL = 2


@dataclass(frozen=True, slots=True)
class SimNode:
    """One simulated node."""

    index: int
    private_key: Ed25519PrivateKey = field(repr=False, compare=False)
    public_key: bytes
    advert_type: int  # ADV_*: 1 companion, 2 repeater, 3 room, 4 sensor
    name: str
    x_km: float
    y_km: float
    lat: float
    lon: float
    site: Site
    region: int
    location_in_adverts: tuple[float, float] | None  # what it advertises (0,0: no fix)
    activity: float  # how chatty: multiplies its traffic rates
    hash_sizes: tuple[tuple[int, int], ...]  # (from_ms, path hash bytes), in time order
    clock: NodeClock
    tx_power_dbm: float
    noise_floor_dbm: float
    active_from_ms: int
    active_until_ms: int

    @property
    def role(self) -> str:
        """The role name meshlens reports for the node's adverts."""
        return ROLE_OF_TYPE[self.advert_type]

    @property
    def relays(self) -> bool:
        """Repeaters forward floods and direct packets; nothing else does."""
        return self.advert_type == ADV_REPEATER

    def hash_size(self, at_ms: int) -> int:
        """The path hash size the node floods with at `at_ms`."""
        size = self.hash_sizes[0][1]
        for since, value in self.hash_sizes:
            if since <= at_ms:
                size = value
        return size

    def prefix(self, width: int) -> bytes:
        """The first `width` bytes of the public key: this node's hop in a path."""
        return self.public_key[:width]

    def active(self, at_ms: int) -> bool:
        """True while the node is powered and on the air."""
        return self.active_from_ms <= at_ms < self.active_until_ms


@dataclass(frozen=True, slots=True)
class SimObserver:
    """A node whose host publishes what its radio hears (meshcoretomqtt)."""

    node: int  # index of its SimNode
    iata: str
    observer_id: str  # its id in topics: the node's public key in upper case
    name: str  # the `origin` it publishes: its node's name
    host_offset_ms: int  # the uploader host's clock error, seen in message timestamps
    model: str
    firmware: str
    client_version: str
    radio: str
    battery_mv: int | None


@dataclass(frozen=True, slots=True)
class Mesh:
    """Everything static about a simulated mesh."""

    profile: Profile
    seed: int
    center: tuple[float, float]
    start_ms: int
    end_ms: int
    regions: tuple[Region, ...]
    nodes: tuple[SimNode, ...]
    observers: tuple[SimObserver, ...]

    def node_key_hex(self, index: int) -> str:
        """A node's public key as 64 lower-case hex characters."""
        return self.nodes[index].public_key.hex()
