"""The payload bytes of every kind of simulated traffic, built with meshlens' encoder."""

from __future__ import annotations

import hashlib
import random
import struct

from meshlens.sim.mesh import ADV_SENSOR, SimNode
from meshlens.wire import encode


def advert(node: SimNode, at_ms: int, rnd: random.Random) -> bytes:
    """A signed advert with the node's clock reading, location, name (and telemetry)."""
    loc = node.location_in_adverts
    battery = temperature = None
    if node.advert_type == ADV_SENSOR:
        battery = rnd.randrange(3300, 4200)
        temperature = round(rnd.gauss(16.0, 6.0), 2)
    data = encode.appdata(
        advert_type=node.advert_type,
        lat=None if loc is None else loc[0],
        lon=None if loc is None else loc[1],
        name=node.name,
        battery_mv=battery,
        temperature_c=temperature,
    )
    return encode.advert_payload(node.private_key, timestamp=node.clock.read_s(at_ms), appdata=data)


def group_text(key: bytes, sender: SimNode, text: str, at_ms: int) -> bytes:
    """An encrypted channel message 'sender: text' stamped with the sender's clock."""
    timestamp = sender.clock.read_s(at_ms)
    body = f"{sender.name}: {text}"
    while len(body.encode()) > 150:  # keep the payload under the 184-byte limit
        body = body[:-1]
    return encode.group_text_payload(key, timestamp=timestamp, text=body)


def group_data(key: bytes, rnd: random.Random) -> bytes:
    """A sensor reading posted as GRP_DATA (a developer data type)."""
    blob = struct.pack(
        "<hHB", round(rnd.gauss(16, 6) * 100), rnd.randrange(3300, 4200), rnd.randrange(100)
    )
    return encode.group_data_payload(key, data_type=0xFF01, blob=blob)


def datagram(src: SimNode, dest: SimNode, rnd: random.Random, blocks: int) -> bytes:
    """A REQ / RESPONSE / TXT_MSG / PATH envelope: peers' ECDH traffic looks random."""
    return encode.datagram_payload(
        dest_hash=dest.public_key[0],
        src_hash=src.public_key[0],
        mac=rnd.randbytes(2),
        ciphertext=rnd.randbytes(16 * blocks),
    )


def anon_request(src: SimNode, dest: SimNode, rnd: random.Random) -> bytes:
    """A login request: the sender's key in the clear, the rest encrypted."""
    return encode.anon_request_payload(
        dest_hash=dest.public_key[0],
        ephemeral_public_key=src.public_key,
        mac=rnd.randbytes(2),
        ciphertext=rnd.randbytes(16 * rnd.choice((1, 1, 2))),
    )


def ack_checksum(sender: SimNode, text: str, at_ms: int) -> int:
    """The firmware's ACK checksum of a message: SHA-256(timestamp, flags, text, sender key)."""
    plain = struct.pack("<I", sender.clock.read_s(at_ms)) + b"\0" + text.encode()
    return int.from_bytes(hashlib.sha256(plain + sender.public_key).digest()[:4], "little")
