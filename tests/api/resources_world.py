"""A small hand-built mesh for the resource API tests, fed through the real pipeline.

Four nodes advertise (a repeater, a companion, a room and a sensor with a markup name),
two observers hear them (one with a hostile name), the repeater relays two channel
messages, and one message is on a channel nobody has the key of.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from meshlens.config import Settings
from meshlens.records import FakeClock, Node, PubKey, Sighting
from meshlens.storage import open_storage
from meshlens.wire.channels import PUBLIC_KEY_HEX
from meshlens.wire.encode import encode_frame, group_text_payload
from tests.api.running import Running
from tests.ingest.helpers import T0, advert_frame, channel_frame, public_key_hex, sighting

PUBLIC = bytes.fromhex(PUBLIC_KEY_HEX)
SECRET = bytes(range(16))  # a channel key the server does not have
MARKUP = "<b>Sensor & Co</b>"
LONG = "L" * 32  # the longest name an advert keeps (the decoder stops at 32 bytes)
HOSTILE_OBSERVER = "Obs <script>\x01\x1f\u2028 " + "x" * 500
REPEATER, COMPANION, ROOM, SENSOR = (public_key_hex(s) for s in (1, 2, 3, 4))
NOW_MS = T0 + 600_000  # ten minutes after the first sighting


def clock() -> FakeClock:
    """The tests' clock: ten minutes after the world began."""
    return FakeClock(NOW_MS)


def world() -> list[Sighting]:
    """Every sighting of the small mesh, in arrival order."""
    relay = bytes.fromhex(REPEATER[:2])
    out = [
        sighting(advert_frame(1, name="Alpha", advert_type=2, lat=47.6, lon=-122.3), "OBS1",
                 at_ms=T0),
        sighting(advert_frame(1, name="Alpha", advert_type=2, lat=47.6, lon=-122.3), "OBS2",
                 name=HOSTILE_OBSERVER, region="PDX", at_ms=T0 + 1000, snr=-3.5, rssi=None),
        sighting(advert_frame(2, name=LONG, advert_type=1), "OBS1", at_ms=T0 + 2000),
        sighting(advert_frame(3, name="Room Three", advert_type=3, lat=45.5, lon=-122.6),
                 "OBS2", name=HOSTILE_OBSERVER, region="PDX", at_ms=T0 + 3000),
        sighting(advert_frame(4, name=MARKUP, advert_type=4, path=relay), "OBS1",
                 at_ms=T0 + 4000),
        sighting(channel_frame(PUBLIC, "Alice: hello <world> & \x07bell", path=relay), "OBS1",
                 at_ms=T0 + 5000),
        sighting(channel_frame(PUBLIC, "Alice: hello <world> & \x07bell", path=relay + b"\x99"),
                 "OBS2", name=HOSTILE_OBSERVER, region="PDX", at_ms=T0 + 6000),
        sighting(channel_frame(PUBLIC, "no separator here", timestamp=1_767_225_700), "OBS2",
                 name=HOSTILE_OBSERVER, region="PDX", at_ms=T0 + 7000),
        sighting(encode_frame(route_type=1, payload_type=5,
                              payload=group_text_payload(SECRET, timestamp=1, text="hidden")),
                 "OBS1", at_ms=T0 + 8000),
    ]  # fmt: skip
    return out


AMBIGUOUS_A = "abcdef01" + "0" * 56
AMBIGUOUS_B = "abcdef01" + "1" * 56


def seed_world(settings: Settings, extra: list[Sighting] | None = None) -> None:
    """Write the world (plus two adopted nodes sharing an 8-hex prefix) into the database."""
    storage = open_storage(settings, load=True)
    try:
        storage.pipeline.process([*world(), *(extra or [])])
        twins = [
            Node(PubKey(key), f"Twin {i}", "companion", None, None, T0, T0, 0)
            for i, key in enumerate((AMBIGUOUS_A, AMBIGUOUS_B))
        ]
        storage.pipeline.adopt(twins, [])
    finally:
        storage.close()


def start_world(serve: Callable[..., Running], settings: Settings, **options: Any) -> Running:
    """Seed the world and serve it (no analytics) with the tests' clock; wait for the load."""
    seed_world(settings)
    running = serve(settings, analytics=(), clock=clock(), **options)
    running.wait_until(lambda: running.server.status.loaded)
    return running
