"""Hand-built meshes for the hop-resolution, topology and distance tests.

Nodes get pubkeys chosen by the test (padded to 64 hex), so prefixes collide exactly
where the test wants; paths are written as hop strings ("AB", "AB12").
"""

from __future__ import annotations

from dataclasses import dataclass, field

from meshlens.records import Node, Observer, ObserverId, PubKey
from meshlens.store.batch import ObservationRow, ObserverRow, StoreBatch, TxRow, obs_batch
from meshlens.store.snapshot import Snapshot
from meshlens.store.store import PacketStore

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z
HOUR = 3_600_000


def key(prefix: str) -> str:
    """A 64-hex pubkey starting with `prefix` (lower case)."""
    return (prefix.lower() + "0" * 64)[:64]


@dataclass
class Mesh:
    """Collects nodes, observers, transmissions and observations; `snapshot()` stores them."""

    nodes: list[Node] = field(default_factory=list)
    observers: dict[str, tuple[int, Observer]] = field(default_factory=dict)
    transmissions: list[TxRow] = field(default_factory=list)
    observations: list[ObservationRow] = field(default_factory=list)

    def node(
        self,
        prefix: str,
        name: str = "",
        *,
        role: str = "repeater",
        at: tuple[float, float] | None = None,
        adverts: int = 1,
        last_seen_ms: int = T0,
    ) -> str:
        """Add a node whose key starts with `prefix`; returns the full key."""
        pk = key(prefix)
        lat, lon = at if at is not None else (None, None)
        self.nodes.append(
            Node(PubKey(pk), name or prefix.upper(), role, lat, lon, T0, last_seen_ms, adverts)
        )
        return pk

    def observer(
        self, observer_id: str, name: str = "", *, iata: str = "SEA", can_relay: bool = True
    ) -> str:
        """Add an observer (its id is usually a node key in upper case)."""
        rowid = len(self.observers) + 1
        self.observers[observer_id] = (
            rowid,
            Observer(ObserverId(observer_id), name, iata, T0, T0, can_relay=can_relay),
        )
        return observer_id

    def tx(
        self,
        heard: list[tuple[str, list[str]]],
        *,
        origin: str | None = None,
        payload_type: int | None = None,
        at_ms: int = T0,
        snr: float | None = 5.0,
    ) -> int:
        """Add a transmission heard by (observer, path) pairs; returns its row."""
        db_id = len(self.transmissions) + 1
        ptype = payload_type if payload_type is not None else (4 if origin else 2)
        self.transmissions.append(
            TxRow(
                db_id,
                f"{db_id:016x}",
                at_ms,
                1,
                ptype,
                1,
                0,
                bytes([db_id % 256, 0]),
                from_pubkey=origin,
            )
        )
        for observer_id, path in heard:
            width = len(path[0]) // 2 if path else 1
            self.observations.append(
                ObservationRow(
                    db_id=len(self.observations) + 1,
                    tx_db_id=db_id,
                    observer_rowid=self.observers[observer_id][0],
                    ts_ms=at_ms,
                    snr_db=snr,
                    rssi_dbm=-100.0,
                    direction=1,
                    path_byte=len(path),
                    hop_width=width,
                    path=bytes.fromhex("".join(path)),
                )
            )
        return db_id - 1

    def snapshot(self) -> Snapshot:
        """Store everything in one append and return the snapshot."""
        store = PacketStore()
        store.append(
            StoreBatch(
                transmissions=self.transmissions,
                observations=obs_batch(self.observations),
                nodes=self.nodes,
                observers=[ObserverRow(rowid, o) for rowid, o in self.observers.values()],
            )
        )
        return store.snapshot()
