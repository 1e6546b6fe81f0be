"""Frames and sightings for ingest tests, built with meshlens' own encoder."""

from __future__ import annotations

import orjson
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


def packet_message(
    raw: bytes, *, origin: str = "Observer", snr: object = "7.5", rssi: object = "-91"
) -> bytes:
    """A meshcoretomqtt packet message (protocol §2.4) for a frame: numbers as strings."""
    return orjson.dumps(
        {
            "origin": origin,
            "timestamp": "2026-01-01T00:00:00.000000+00:00",
            "type": "PACKET",
            "direction": "rx",
            "raw": raw.hex().upper(),
            "SNR": snr,
            "RSSI": rssi,
            "score": "1000",
        }
    )


def status_message(origin: str = "Observer", **extra: object) -> bytes:
    """A meshcoretomqtt status message (protocol §2.5)."""
    body: dict[str, object] = {
        "status": "online",
        "timestamp": "2026-01-01T00:00:00.000000+00:00",
        "origin": origin,
        "model": "Heltec V3",
        "firmware_version": "1.12.0-test",
        "client_version": "meshcoretomqtt/1.0.8.0",
        "radio": "910.5250244,62.5,7,5",
        "stats": {"battery_mv": 4209, "uptime_secs": 75821, "noise_floor": -109},
    }
    body.update(extra)
    return orjson.dumps(body)
