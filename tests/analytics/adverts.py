"""Stores of signed adverts built through the real pipeline, for the advert-based analytics."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from meshlens.db.database import Database
from meshlens.ingest.pipeline import Pipeline
from meshlens.records import Sighting
from meshlens.store.snapshot import Snapshot
from meshlens.store.store import PacketStore
from meshlens.wire.encode import advert_payload, appdata, encode_frame
from tests.ingest.helpers import private_key, sighting

T0_S = 1_767_225_600  # 2026-01-01T00:00:00Z


def advert(
    seed: int,
    timestamp: int,
    *,
    name: str = "",
    advert_type: int = 2,
    lat: float | None = None,
    lon: float | None = None,
    path: bytes = b"",
    hash_size: int = 1,
    route_type: int = 1,
) -> bytes:
    """A signed advert of node `seed` with its clock at `timestamp`, heard over `path`."""
    payload = advert_payload(
        private_key(seed),
        timestamp=timestamp,
        appdata=appdata(advert_type=advert_type, lat=lat, lon=lon, name=name or f"N{seed}"),
    )
    return encode_frame(
        route_type=route_type, payload_type=4, payload=payload, path=path, hash_size=hash_size
    )


@dataclass
class AdvertStore:
    """Sightings collected by a test, then run through one Pipeline."""

    regions: dict[str, str] = field(default_factory=dict)  # observer id -> IATA
    sightings: list[Sighting] = field(default_factory=list)

    def heard(self, raw: bytes, observer: str, at_s: float) -> None:
        """`observer` reports `raw` at unix time `at_s`."""
        region = self.regions.get(observer, "SEA")
        self.sightings.append(
            sighting(
                raw, observer, name=f"name {observer}", region=region, at_ms=round(at_s * 1000)
            )
        )

    def heard_by(self, raw: bytes, at: Sequence[tuple[str, float]]) -> None:
        """Several observers report `raw`, each at its own time."""
        for observer, at_s in at:
            self.heard(raw, observer, at_s)

    def snapshot(self, tmp_path: Path) -> Snapshot:
        """The store after the pipeline processed every sighting, in order."""
        store = PacketStore()
        with Database(tmp_path / "adverts.db") as db:
            Pipeline(db, store).process(self.sightings)
        return store.snapshot()
