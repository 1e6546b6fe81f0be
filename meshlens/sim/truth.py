"""Ground truth: which node really relayed each hop of every generated observation.

The simulator knows the node behind every hop prefix, even where prefixes collide; hop
resolvers are scored against this. `TruthRecorder` collects it while a run emits events;
`GroundTruth` saves it beside the output (`<output>.truth.npz`) and answers lookups by
the observation's identity in the store: content hash, observer id and path hops.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from meshlens.sim.events import Observation
from meshlens.sim.mesh import Mesh
from meshlens.sim.radio import Links
from meshlens.store.snapshot import Snapshot

I32 = npt.NDArray[np.int32]


class TruthRecorder:
    """Collects the ground truth of each observation as it is emitted."""

    def __init__(self, mesh: Mesh, links: Links) -> None:
        self.mesh = mesh
        self.links = links
        self._hash: list[int] = []
        self._observer: list[int] = []
        self._width: list[int] = []
        self._count: list[int] = []
        self._hops: list[int] = []

    def add(self, obs: Observation) -> None:
        """Record one observation."""
        self._hash.append(obs.tx_hash)
        self._observer.append(self.mesh.observers[obs.observer].node)
        self._width.append(obs.hop_width)
        self._count.append(len(obs.relays))
        self._hops.extend(obs.relays)

    def __len__(self) -> int:
        return len(self._hash)

    def result(self) -> GroundTruth:
        """Everything recorded, as arrays."""
        mesh = self.mesh
        count = np.array(self._count, np.int32)
        links = [(tx, rx, snr) for tx, heard in enumerate(self.links.heard_by) for rx, snr in heard]
        return GroundTruth(
            node_keys=np.array([n.public_key.hex() for n in mesh.nodes]),
            node_names=np.array([n.name for n in mesh.nodes]),
            node_roles=np.array([n.role for n in mesh.nodes]),
            node_lat=np.array([n.lat for n in mesh.nodes]),
            node_lon=np.array([n.lon for n in mesh.nodes]),
            obs_hash=np.array(self._hash, np.uint64),
            obs_observer=np.array(self._observer, np.int32),
            obs_width=np.array(self._width, np.uint8),
            obs_hop_off=(np.cumsum(count) - count).astype(np.int64),
            obs_hop_count=count,
            hop_node=np.array(self._hops, np.int32),
            link_tx=np.array([t for t, _, _ in links], np.int32),
            link_rx=np.array([r for _, r, _ in links], np.int32),
            link_snr=np.array([snr for _, _, snr in links], np.float32),
        )


@dataclass(frozen=True, slots=True)
class GroundTruth:
    """The true relays of every observation of one simulated run."""

    node_keys: npt.NDArray[np.str_]  # lower-case hex public keys, by node index
    node_names: npt.NDArray[np.str_]
    node_roles: npt.NDArray[np.str_]
    node_lat: npt.NDArray[np.float64]
    node_lon: npt.NDArray[np.float64]
    obs_hash: npt.NDArray[np.uint64]  # content hash as an integer
    obs_observer: I32  # node index of the observer
    obs_width: npt.NDArray[np.uint8]  # bytes per hop of the reported path
    obs_hop_off: npt.NDArray[np.int64]  # into hop_node
    obs_hop_count: I32
    hop_node: I32  # node index behind each hop
    link_tx: I32  # radio links: transmitter, receiver and mean SNR (dB)
    link_rx: I32
    link_snr: npt.NDArray[np.float32]

    def save(self, path: Path) -> None:
        """Write the arrays to an .npz file."""
        np.savez_compressed(path, **{name: getattr(self, name) for name in self.__slots__})

    @classmethod
    def load(cls, path: Path) -> GroundTruth:
        """Read a file written by `save`."""
        with np.load(path) as data:
            return cls(**{name: data[name] for name in cls.__slots__})

    def __len__(self) -> int:
        return int(self.obs_hash.shape[0])

    def relays(self, row: int) -> tuple[str, ...]:
        """The public keys behind the hops of observation `row`, in path order."""
        off, count = int(self.obs_hop_off[row]), int(self.obs_hop_count[row])
        return tuple(str(self.node_keys[i]) for i in self.hop_node[off : off + count])

    def hops(self, row: int) -> tuple[str, ...]:
        """The hop prefixes observation `row` reported, as upper-case hex."""
        width = int(self.obs_width[row])
        return tuple(key[: 2 * width].upper() for key in self.relays(row))

    def index(self) -> dict[tuple[int, str, tuple[str, ...]], int]:
        """(content hash, observer id in upper case, hops) -> row; the first row wins."""
        out: dict[tuple[int, str, tuple[str, ...]], int] = {}
        for row in range(len(self)):
            observer = str(self.node_keys[int(self.obs_observer[row])]).upper()
            out.setdefault((int(self.obs_hash[row]), observer, self.hops(row)), row)
        return out

    def hop_nodes(self, snap: Snapshot) -> I32:
        """For every entry of `snap.hops`, the index (into node_keys) of the node that
        really relayed it; -1 where the observation is not one this run generated."""
        index = self.index()
        out = np.full(snap.hops.shape[0], -1, np.int32)
        observers = [o.id.upper() for o in snap.observers]
        for row, key in enumerate(_keys(snap, observers)):
            hit = index.get(key)
            if hit is None:
                continue
            off, count = int(snap.obs.path_off[row]), int(snap.obs.path_len[row])
            t_off = int(self.obs_hop_off[hit])
            out[off : off + count] = self.hop_node[t_off : t_off + count]
        return out


def _keys(snap: Snapshot, observers: list[str]) -> Iterator[tuple[int, str, tuple[str, ...]]]:
    tx_hash = snap.tx.hash
    for row in range(len(snap.obs)):
        yield (
            int(tx_hash[int(snap.obs.tx[row])]),
            observers[int(snap.obs.observer[row])],
            snap.path(row),
        )
