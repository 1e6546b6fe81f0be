"""Small hand-built stores for analytics tests: every value chosen by the test."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from meshlens.records import JSONValue, Observer, ObserverId
from meshlens.store.batch import (
    DECRYPTION_NONE,
    ObservationRow,
    ObserverRow,
    StoreBatch,
    TxRow,
    obs_batch,
)
from meshlens.store.snapshot import Snapshot
from meshlens.store.store import PacketStore

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z
MINUTE = 60_000


@dataclass
class StoreBuilder:
    """Collects transmissions and observations, then appends them as one batch."""

    observers: dict[str, tuple[int, str]] = field(default_factory=dict)  # id -> (rowid, iata)
    transmissions: list[TxRow] = field(default_factory=list)
    observations: list[ObservationRow] = field(default_factory=list)

    def observer(self, observer_id: str, iata: str) -> str:
        """Declare an observer in region `iata`."""
        self.observers[observer_id] = (len(self.observers) + 1, iata)
        return observer_id

    def tx(
        self,
        *,
        payload_type: int = 4,
        raw_len: int = 10,
        at_ms: int = T0,
        channel_hash: int = -1,
        channel: str | None = None,
        decryption: int = DECRYPTION_NONE,
        sender: str | None = None,
        text: str | None = None,
    ) -> int:
        """Add a transmission; returns its database id."""
        db_id = len(self.transmissions) + 1
        self.transmissions.append(
            TxRow(
                db_id=db_id,
                content_hash=f"{db_id:016x}",
                first_seen_ms=at_ms,
                route_type=1,
                payload_type=payload_type,
                payload_version=0,
                path_byte=0,
                raw=bytes(raw_len),
                channel_hash=channel_hash,
                channel=channel,
                decryption=decryption,
                sender=sender,
                text=text,
            )
        )
        return db_id

    def obs(
        self,
        tx_id: int,
        observer_id: str,
        *,
        at_ms: int = T0,
        snr: float | None = None,
        rssi: float | None = None,
    ) -> None:
        """Add one observation of transmission `tx_id`."""
        self.observations.append(
            ObservationRow(
                db_id=len(self.observations) + 1,
                tx_db_id=tx_id,
                observer_rowid=self.observers[observer_id][0],
                ts_ms=at_ms,
                snr_db=snr,
                rssi_dbm=rssi,
                direction=1,
                path_byte=0,
                hop_width=1,
                path=b"",
            )
        )

    def snapshot(self) -> Snapshot:
        """A store holding everything added so far."""
        store = PacketStore()
        observers = [
            ObserverRow(rowid, Observer(ObserverId(oid), f"name {oid}", iata, T0, T0))
            for oid, (rowid, iata) in self.observers.items()
        ]
        store.append(
            StoreBatch(
                transmissions=self.transmissions,
                observations=obs_batch(self.observations),
                observers=observers,
            )
        )
        return store.snapshot()


def items(value: JSONValue) -> list[dict[str, Any]]:
    """A JSON list of objects, typed for indexing in tests."""
    assert isinstance(value, list) and all(isinstance(v, dict) for v in value)
    return value  # type: ignore[return-value]


def obj(value: JSONValue) -> dict[str, Any]:
    """A JSON object, typed for indexing in tests."""
    assert isinstance(value, dict)
    return value
