"""The simulator's public face: a seeded mesh and the stream of what its observers publish."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from meshlens.sim.engine import Engine
from meshlens.sim.events import Event
from meshlens.sim.geography import IATA_CODES
from meshlens.sim.mesh import Mesh
from meshlens.sim.population import build_mesh
from meshlens.sim.profiles import DEFAULT_CENTER, DEFAULT_END_MS, Profile, profile_named
from meshlens.sim.texts import HASHTAG_CHANNELS
from meshlens.sim.truth import TruthRecorder
from meshlens.wire import ChannelKeys, RegionKeys


@dataclass(frozen=True, slots=True)
class SimulationSpec:
    """Everything that decides a run's output: same spec, same bytes."""

    profile: Profile
    seed: int
    center: tuple[float, float] = DEFAULT_CENTER
    end_ms: int = DEFAULT_END_MS

    @property
    def start_ms(self) -> int:
        """The start of the simulated window."""
        return self.end_ms - self.profile.duration_ms


class Simulation:
    """One simulated mesh; `events()` runs it and yields observations and status reports."""

    def __init__(self, spec: SimulationSpec) -> None:
        self.spec = spec
        self.mesh: Mesh = build_mesh(
            spec.profile,
            spec.seed,
            center=spec.center,
            start_ms=spec.start_ms,
            end_ms=spec.end_ms,
        )
        self.engine = Engine(self.mesh)

    @classmethod
    def named(cls, profile: str, seed: int, **kwargs: object) -> Simulation:
        """A simulation of a profile by name (`small`, `staging`, `large`, `demo`)."""
        return cls(SimulationSpec(profile_named(profile), seed, **kwargs))  # type: ignore[arg-type]

    def events(self, until_ms: int | None = None) -> Iterator[Event]:
        """Run the mesh up to `until_ms` (default: the window's end), yielding in time order."""
        return self.engine.events(self.spec.end_ms if until_ms is None else until_ms)

    def truth_recorder(self) -> TruthRecorder:
        """A recorder of the ground truth of this run's observations."""
        return TruthRecorder(self.mesh, self.engine.links)

    @property
    def transmissions(self) -> int:
        """Transmissions sent so far (distinct frames; each TRACE step counts)."""
        return sum(self.engine.sent.values())


def channel_keys() -> ChannelKeys:
    """Keys that decrypt the simulated channels: Public and every simulated hashtag.

    The private channels stay encrypted on purpose.
    """
    keys, _ = ChannelKeys.build(hash_channels=HASHTAG_CHANNELS)
    return keys


def region_names(profile: Profile) -> list[str]:
    """The transport-scope regions some simulated nodes use: one per IATA area, `#sjc`."""
    return [f"#{IATA_CODES[i % len(IATA_CODES)].lower()}" for i in range(profile.regions)]


def region_keys(profile: Profile) -> RegionKeys:
    """`region_names` as keys for the decoder."""
    return RegionKeys.from_names(region_names(profile))
