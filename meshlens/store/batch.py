"""What one append to the store carries: new transmissions, observations, node and observer rows.

Rows refer to each other by their database identities (transmission id, observer rowid,
node pubkey) so the loader and the live pipeline build batches the same way.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from meshlens.records import Node, Observer

DECRYPTION_NONE = 0
DECRYPTION_DECRYPTED = 1
DECRYPTION_FAILED = 2
DECRYPTION_NO_KEY = 3

DIRECTION_NONE = 0
DIRECTION_RX = 1
DIRECTION_TX = 2
DIRECTION_OTHER = 3


class TxRow(NamedTuple):
    """One new transmission (one content hash)."""

    db_id: int
    content_hash: str  # 16 lower-case hex
    first_seen_ms: int
    route_type: int
    payload_type: int
    payload_version: int
    path_byte: int  # the path-length byte of the stored (first-received) raw frame
    raw: bytes
    from_pubkey: str | None = None  # the advert originator
    advert_ts: int = 0  # the advertiser's clock (0: none)
    advert_lat: float | None = None
    advert_lon: float | None = None
    advert_flags: int = -1  # the advert flags byte (-1: none)
    channel_hash: int = -1  # GRP_TXT/GRP_DATA channel hash byte (-1: none)
    channel: str | None = None  # label of the key that decrypted it
    decryption: int = DECRYPTION_NONE
    sender: str | None = None
    text: str | None = None
    scope: str | None = None  # transport scope name (None: not transport-scoped)


@dataclass(frozen=True, slots=True)
class ObsBatch:
    """New observations, as columns (the loader brings millions at a time)."""

    db_id: npt.NDArray[np.int64]
    tx_db_id: npt.NDArray[np.int64]
    observer_rowid: npt.NDArray[np.int64]  # database rowid of the observer row
    ts_ms: npt.NDArray[np.int64]
    snr_db: npt.NDArray[np.float32]  # NaN when absent
    rssi_dbm: npt.NDArray[np.float32]  # NaN when absent
    direction: npt.NDArray[np.uint8]
    path_byte: npt.NDArray[np.uint8]  # this sighting's header path-length byte
    hop_width: npt.NDArray[np.uint8]  # bytes per hop in `paths`
    paths: list[bytes]  # concatenated hop bytes, in path_json order

    def __len__(self) -> int:
        return int(self.db_id.shape[0])

    @staticmethod
    def empty() -> ObsBatch:
        """A batch with no observations."""
        return ObsBatch(
            db_id=np.empty(0, np.int64),
            tx_db_id=np.empty(0, np.int64),
            observer_rowid=np.empty(0, np.int64),
            ts_ms=np.empty(0, np.int64),
            snr_db=np.empty(0, np.float32),
            rssi_dbm=np.empty(0, np.float32),
            direction=np.empty(0, np.uint8),
            path_byte=np.empty(0, np.uint8),
            hop_width=np.empty(0, np.uint8),
            paths=[],
        )


@dataclass(frozen=True, slots=True)
class ObservationRow:
    """One observation as the pipeline builds it, before batching into columns."""

    db_id: int
    tx_db_id: int
    observer_rowid: int
    ts_ms: int
    snr_db: float | None
    rssi_dbm: float | None
    direction: int
    path_byte: int
    hop_width: int
    path: bytes


def obs_batch(rows: list[ObservationRow]) -> ObsBatch:
    """Turn pipeline rows into a columnar batch."""
    nan = float("nan")
    return ObsBatch(
        db_id=np.fromiter((r.db_id for r in rows), np.int64, len(rows)),
        tx_db_id=np.fromiter((r.tx_db_id for r in rows), np.int64, len(rows)),
        observer_rowid=np.fromiter((r.observer_rowid for r in rows), np.int64, len(rows)),
        ts_ms=np.fromiter((r.ts_ms for r in rows), np.int64, len(rows)),
        snr_db=np.fromiter(
            (nan if r.snr_db is None else r.snr_db for r in rows), np.float32, len(rows)
        ),
        rssi_dbm=np.fromiter(
            (nan if r.rssi_dbm is None else r.rssi_dbm for r in rows), np.float32, len(rows)
        ),
        direction=np.fromiter((r.direction for r in rows), np.uint8, len(rows)),
        path_byte=np.fromiter((r.path_byte for r in rows), np.uint8, len(rows)),
        hop_width=np.fromiter((r.hop_width for r in rows), np.uint8, len(rows)),
        paths=[r.path for r in rows],
    )


@dataclass(frozen=True, slots=True)
class ObserverRow:
    """An observer row and its database rowid."""

    rowid: int
    observer: Observer


@dataclass(slots=True)
class StoreBatch:
    """Everything one append brings; applied atomically (one generation step)."""

    transmissions: list[TxRow] = field(default_factory=list)
    observations: ObsBatch = field(default_factory=ObsBatch.empty)
    nodes: list[Node] = field(default_factory=list)  # upserts, keyed by public_key
    observers: list[ObserverRow] = field(default_factory=list)  # upserts, keyed by rowid

    def is_empty(self) -> bool:
        """True when applying it would change nothing."""
        return not (self.transmissions or len(self.observations) or self.nodes or self.observers)


def resolve_tx_rows(
    batch: StoreBatch, stored_ids: npt.NDArray[np.int64], known_observers: Iterable[int]
) -> npt.NDArray[np.int64]:
    """Map observation transmission ids to rows, refusing a batch that cannot apply.

    Transmissions arrive in database id order, so rows are found by binary search.
    `stored_ids` are the database ids of the stored transmission rows, `known_observers`
    the observer rowids already stored.
    """
    new_ids = np.array([t.db_id for t in batch.transmissions], np.int64)
    if new_ids.size and (
        np.any(np.diff(new_ids) <= 0) or (stored_ids.size and new_ids[0] <= stored_ids[-1])
    ):
        raise ValueError("transmissions must arrive in increasing database id order")
    wanted = batch.observations.tx_db_id
    if wanted.size == 0:
        return np.empty(0, np.int64)
    ids = np.concatenate([stored_ids, new_ids])
    rows = np.searchsorted(ids, wanted)
    found = rows < ids.size
    found[found] = ids[rows[found]] == wanted[found]
    if not found.all():
        raise ValueError(f"observations refer to unknown transmissions {wanted[~found][:5]}")
    known = set(known_observers) | {o.rowid for o in batch.observers}
    unknown = set(np.unique(batch.observations.observer_rowid).tolist()) - known
    if unknown:
        raise ValueError(f"observations refer to unknown observers {sorted(unknown)[:5]}")
    return rows.astype(np.int64)
