"""Frames and sightings for ingest tests, built with meshlens' own encoder."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from meshlens.records import Sighting
from meshlens.wire.encode import advert_payload, appdata, encode_frame, group_text_payload

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z


def private_key(seed: int) -> Ed25519PrivateKey:
    """A deterministic Ed25519 key."""
    return Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32)


def public_key_hex(seed: int) -> str:
    """The lower-case hex public key of `private_key(seed)`."""
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return private_key(seed).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()


def advert_frame(
    seed: int,
    *,
    name: str = "Node",
    advert_type: int = 2,
    lat: float | None = None,
    lon: float | None = None,
    timestamp: int = 1_767_225_600,
    path: bytes = b"",
    hash_size: int = 1,
    corrupt_signature: bool = False,
) -> bytes:
    """A signed FLOOD advert heard over `path`."""
    payload = advert_payload(
        private_key(seed),
        timestamp=timestamp,
        appdata=appdata(advert_type=advert_type, lat=lat, lon=lon, name=name),
    )
    if corrupt_signature:
        payload = payload[:40] + bytes([payload[40] ^ 0xFF]) + payload[41:]
    return encode_frame(
        route_type=1, payload_type=4, payload=payload, path=path, hash_size=hash_size
    )


def channel_frame(
    key: bytes, text: str, *, path: bytes = b"", timestamp: int = 1_767_225_600
) -> bytes:
    """A FLOOD GRP_TXT encrypted with a 16-byte channel key."""
    return encode_frame(
        route_type=1,
        payload_type=5,
        payload=group_text_payload(key, timestamp=timestamp, text=text),
        path=path,
    )


def sighting(
    raw: bytes,
    observer: str = "OBS1",
    *,
    name: str = "Observer One",
    region: str = "SEA",
    at_ms: int = T0,
    snr: float | None = 7.25,
    rssi: float | None = -101.0,
) -> Sighting:
    """One observer's report of `raw`."""
    return Sighting(
        raw=raw,
        observer_id=observer,
        observer_name=name,
        region=region,
        snr_db=snr,
        rssi_dbm=rssi,
        score=None,
        direction="rx",
        received_at_ms=at_ms,
        where=f"test:{observer}",
    )
