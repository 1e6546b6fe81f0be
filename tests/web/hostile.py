"""A small mesh whose names and messages are hostile markup, served in-process.

Node names, observer names and channel messages arrive over the air from anyone; this
store holds a repeater named like an <img> tag with an onerror handler, an observer
named the same way and a channel message carrying a <script> element, all written
through the real ingest pipeline from frames made by meshlens' own encoder.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from meshlens.config import Settings
from meshlens.records import Sighting
from meshlens.wire.channels import PUBLIC_KEY_HEX
from tests.api.running import Running, seed, settings_for, start
from tests.ingest.helpers import advert_frame, channel_frame, public_key_hex, sighting

EVIL_NODE = "<img src=x onerror=alert(1)>"
EVIL_OBSERVER = "<img src=x onerror=alert(2)>"
EVIL_MESSAGE = "<script>alert(3)</script> meet at the hill"
EVIL_SENDER = "Mallory"

# seed -> (name, advert type: 1 companion, 2 repeater, 3 room; lat, lon, clock error in s)
NODES: dict[int, tuple[str, int, float, float, int]] = {
    1: (EVIL_NODE, 2, 47.61, -122.33, 420),
    2: ("Hill Repeater", 2, 47.62, -122.35, 0),
    3: ("Bay Repeater", 2, 47.55, -122.30, 3),
    4: ("Ridge Repeater", 2, 47.70, -122.20, -2),
    5: ("Kayak Phone", 1, 47.60, -122.31, 1),
    6: ("Harbour Room", 3, 47.58, -122.36, 0),
}
# The observers are nodes 2-4 (an observer's id is its public key).
OBSERVERS: tuple[tuple[int, str, str], ...] = (
    (2, "Hill Observer", "SEA"),
    (3, EVIL_OBSERVER, "SEA"),
    (4, "Ridge Observer", "PDX"),
)
ADVERTS_PER_NODE = 6


def sightings(now_s: int) -> list[Sighting]:
    """Adverts from every node heard by every observer over the last hours, and one message."""
    out: list[Sighting] = []
    start_s = now_s - 7 * 3600
    relay = bytes.fromhex(public_key_hex(2)[:2])
    for node, (name, kind, lat, lon, error_s) in NODES.items():
        for k in range(ADVERTS_PER_NODE):
            sent = start_s + k * 3600 + node * 60
            raw = advert_frame(
                node, name=name, advert_type=kind, lat=lat, lon=lon,
                timestamp=sent + error_s, path=relay if k % 2 and node != 2 else b"",
            )  # fmt: skip
            for i, (observer, label, region) in enumerate(OBSERVERS):
                out.append(
                    sighting(raw, public_key_hex(observer).upper(), name=label, region=region,
                             at_ms=(sent + 1 + i) * 1000)
                )  # fmt: skip
    key = bytes.fromhex(PUBLIC_KEY_HEX)
    said = now_s - 1800
    message = channel_frame(key, f"{EVIL_SENDER}: {EVIL_MESSAGE}", timestamp=said)
    out.append(
        sighting(message, public_key_hex(2).upper(), name="Hill Observer", at_ms=said * 1000)
    )
    return sorted(out, key=lambda s: s.received_at_ms)


def hostile_settings(tmp: Path) -> Settings:
    """Settings on a fresh database holding the hostile mesh."""
    settings = settings_for(tmp)
    seed(settings, sightings(int(time.time())))
    return settings


def serve_hostile(tmp: Path, **options: Any) -> Running:
    """`Server` on the hostile mesh in this process, on a free port."""
    return start(hostile_settings(tmp), **options)
