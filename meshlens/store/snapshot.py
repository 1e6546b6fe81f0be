"""An immutable view of the packet store at one generation (pure: no I/O, no clock).

Arrays are read-only numpy views; tables are tuples; intern tables are bounded. A snapshot
is cheap to take (references and row counts) and never changes while it is being read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from meshlens.records import Node, Observer
from meshlens.store.columns import (
    BoundedHashIndex,
    BoundedIntern,
    empty_hash_index,
    empty_intern,
)
from meshlens.store.links import Links

T = TypeVar("T")

I16 = npt.NDArray[np.int16]
I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
U8 = npt.NDArray[np.uint8]
U64 = npt.NDArray[np.uint64]
F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class TxColumns:
    """One row per transmission (content hash), in database id order."""

    db_id: I64
    hash: U64  # the content hash's 16 hex digits as an integer
    first_seen_ms: I64  # earliest observation
    last_seen_ms: I64  # latest observation
    route_type: U8
    payload_type: U8
    payload_version: U8
    path_byte: U8  # of the stored (first-received) frame
    raw_off: I64  # into Snapshot.raw
    raw_len: I32
    from_key: I32  # string id of the advert originator's pubkey, -1 if none
    advert_ts: I64  # advertiser's clock, 0 if none
    advert_lat: F64  # NaN if none
    advert_lon: F64
    advert_flags: I16  # -1 if none
    channel_hash: I16  # -1 if none
    channel: I32  # string id of the decrypting key's label, -1 if none
    decryption: U8  # batch.DECRYPTION_*
    sender: I32  # string id, -1 if none
    text: I32  # string id, -1 if none
    scope: I32  # string id, -1 when not transport-scoped
    best_obs: I32  # observation with the most hops; ties: the earliest
    obs_count: I32

    def __len__(self) -> int:
        return int(self.db_id.shape[0])


@dataclass(frozen=True, slots=True)
class ObsColumns:
    """One row per observation (an observer's sighting), in arrival order."""

    db_id: I64
    tx: I32  # row in TxColumns
    observer: I32  # index into Snapshot.observers
    ts_ms: I64
    snr_db: F32  # NaN if absent
    rssi_dbm: F32  # NaN if absent
    direction: U8  # batch.DIRECTION_*
    path_byte: U8  # this sighting's header path-length byte
    hop_width: U8  # bytes per hop of its path
    path_off: I32  # into Snapshot.hops (int32: the store would need ~20 GB to overflow it)
    path_len: U8  # number of hops

    def __len__(self) -> int:
        return int(self.db_id.shape[0])


# Column name -> dtype, in field order: the one table the store builds its columns from.
TX_DTYPES: dict[str, type[np.generic]] = {
    "db_id": np.int64, "hash": np.uint64, "first_seen_ms": np.int64, "last_seen_ms": np.int64,
    "route_type": np.uint8, "payload_type": np.uint8, "payload_version": np.uint8,
    "path_byte": np.uint8, "raw_off": np.int64, "raw_len": np.int32, "from_key": np.int32,
    "advert_ts": np.int64, "advert_lat": np.float64, "advert_lon": np.float64,
    "advert_flags": np.int16, "channel_hash": np.int16, "channel": np.int32,
    "decryption": np.uint8, "sender": np.int32, "text": np.int32, "scope": np.int32,
    "best_obs": np.int32, "obs_count": np.int32,
}  # fmt: skip
OBS_DTYPES: dict[str, type[np.generic]] = {
    "db_id": np.int64, "tx": np.int32, "observer": np.int32, "ts_ms": np.int64,
    "snr_db": np.float32, "rssi_dbm": np.float32, "direction": np.uint8, "path_byte": np.uint8,
    "hop_width": np.uint8, "path_off": np.int32, "path_len": np.uint8,
}  # fmt: skip


def _empty_tx() -> TxColumns:
    return TxColumns(**{name: np.empty(0, dt) for name, dt in TX_DTYPES.items()})


def _empty_obs() -> ObsColumns:
    return ObsColumns(**{name: np.empty(0, dt) for name, dt in OBS_DTYPES.items()})


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The store at one generation. Cheap to take; never changes while read."""

    generation: int
    # Bumped when retention rebuilds the columns: row numbers of another epoch mean nothing.
    epoch: int = 0
    tx: TxColumns = field(default_factory=_empty_tx)
    obs: ObsColumns = field(default_factory=_empty_obs)
    # Hop ids: uint16 while there are at most 65,536 distinct hops, int32 after that.
    hops: npt.NDArray[np.integer[Any]] = field(default_factory=lambda: np.empty(0, np.uint16))
    hop_hex: BoundedIntern[Any, str] = field(default_factory=empty_intern)
    strings: BoundedIntern[str, str] = field(default_factory=empty_intern)
    raw: U8 = field(default_factory=lambda: np.empty(0, np.uint8))
    nodes: tuple[Node, ...] = ()
    node_ids: BoundedIntern[str, str] = field(default_factory=empty_intern)
    observers: tuple[Observer, ...] = ()
    observer_ids: BoundedIntern[str, str] = field(default_factory=empty_intern)
    tx_by_hash: BoundedHashIndex = field(default_factory=empty_hash_index)
    # Which endpoints were heard next to which hops (the neighbour graph's evidence).
    links: Links = field(default_factory=Links)
    # Per hop id: held by some TRACE path / by some other path (store.hops.HopUsage).
    hop_in_trace: npt.NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, np.bool_))
    hop_in_other: npt.NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, np.bool_))
    # Memo for pure values derived from this snapshot (never for anything else).
    derived: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def memo(self, key: str, build: Callable[[], T]) -> T:
        """Compute a value derived from this snapshot once, then reuse it."""
        try:
            return self.derived[key]  # type: ignore[no-any-return]
        except KeyError:
            value = build()
            self.derived[key] = value
            return value

    def content_hash(self, tx_row: int) -> str:
        """The 16-hex content hash of a transmission."""
        return f"{int(self.tx.hash[tx_row]):016x}"

    def tx_row(self, content_hash: str) -> int | None:
        """The transmission row of a 16-hex content hash, if stored at this generation."""
        try:
            key = int(content_hash, 16)
        except ValueError:
            return None
        return self.tx_by_hash.get(key) if len(content_hash) == 16 else None

    def raw_frame(self, tx_row: int) -> bytes:
        """The stored (first-received) frame bytes of a transmission."""
        off = int(self.tx.raw_off[tx_row])
        return self.raw[off : off + int(self.tx.raw_len[tx_row])].tobytes()

    def path(self, obs_row: int) -> tuple[str, ...]:
        """The hops of an observation as upper-case hex strings, first relay first."""
        off = int(self.obs.path_off[obs_row])
        ids = self.hops[off : off + int(self.obs.path_len[obs_row])]
        return tuple(self.hop_hex[int(i)] for i in ids)

    def string(self, string_id: int) -> str | None:
        """An interned string, or None for id -1."""
        return None if string_id < 0 else self.strings[string_id]

    def node(self, public_key: str) -> Node | None:
        """The node with this public key (lower-case hex), if known at this generation."""
        i = self.node_ids.id_of(public_key)
        return None if i is None else self.nodes[i]

    def observer(self, observer_id: str) -> Observer | None:
        """The observer with this id, if known at this generation."""
        i = self.observer_ids.id_of(observer_id)
        return None if i is None else self.observers[i]
