"""Simulator events as observers publish them: meshcoretomqtt topics and JSON, Sightings.

A packet message carries what meshcoretomqtt sends (protocol §2.4): numbers as strings,
`raw` in upper-case hex and a zone-aware `timestamp` with microseconds; the Sighting built
from an event equals what `meshlens import` reads back from that message.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

from meshlens.records import JSONObject, Sighting
from meshlens.sim.events import Observation, StatusReport
from meshlens.sim.mesh import Mesh
from meshlens.wire import peek_frame

_EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def stamp(ms: int) -> str:
    """Python's isoformat() of an aware UTC time, as meshcoretomqtt writes it."""
    return (_EPOCH + dt.timedelta(milliseconds=ms)).isoformat(timespec="microseconds")


def observer_id(mesh: Mesh, slot: int) -> str:
    """The observer's id in its topic: its node's public key in upper case."""
    return mesh.observers[slot].observer_id


def topic(mesh: Mesh, slot: int, kind: str) -> str:
    """meshcore/{IATA}/{PUBLIC_KEY}/{kind}."""
    return f"meshcore/{mesh.observers[slot].iata}/{observer_id(mesh, slot)}/{kind}"


SightingValues = tuple[
    bytes, str, str, str, float | None, float | None, int | None, str | None, int, str
]


def sighting_values(mesh: Mesh, obs: Observation) -> SightingValues:
    """The fields of `sighting(mesh, obs)` in order: cheap to pickle between processes."""
    observer = mesh.observers[obs.observer]
    where = f"simulated observer {observer.iata}"
    return (obs.raw, observer.observer_id, observer.name, observer.iata, obs.snr_db,
            obs.rssi_dbm, obs.score, "rx", obs.stamp_ms, where)  # fmt: skip


def sighting(mesh: Mesh, obs: Observation) -> Sighting:
    """What meshlens ingests for one observation (the envelope timestamp is its time)."""
    return Sighting(*sighting_values(mesh, obs))


def packet_message(mesh: Mesh, obs: Observation) -> JSONObject:
    """The meshcoretomqtt packet message of one observation."""
    observer = mesh.observers[obs.observer]
    node = mesh.nodes[observer.node]
    frame = peek_frame(obs.raw)
    when = _EPOCH + dt.timedelta(milliseconds=obs.stamp_ms)
    return {
        "origin": node.name,
        "origin_id": node.public_key.hex().upper(),
        "timestamp": when.isoformat(timespec="microseconds"),
        "type": "PACKET",
        "direction": "rx",
        "time": when.strftime("%H:%M:%S"),
        "date": f"{when.day}/{when.month}/{when.year}",
        "len": str(len(obs.raw)),
        "packet_type": str(frame.payload_type),
        "route": "F" if frame.route_type in (0, 1) else "D",
        "payload_len": str(_payload_len(obs.raw)),
        "raw": obs.raw.hex().upper(),
        "SNR": str(int(obs.snr_db)),
        "RSSI": str(int(obs.rssi_dbm)),
        "score": str(obs.score),
        "duration": str(obs.airtime_ms),
        "hash": frame.content_hash.upper(),
    }


def status_message(mesh: Mesh, report: StatusReport) -> JSONObject:
    """The meshcoretomqtt status message of one report (protocol §2.5)."""
    observer = mesh.observers[report.observer]
    node = mesh.nodes[observer.node]
    stats: JSONObject = {
        "uptime_secs": report.uptime_secs,
        "noise_floor": report.noise_floor,
        "tx_air_secs": report.tx_air_secs,
        "rx_air_secs": report.rx_air_secs,
        "recv_errors": report.recv_errors,
        "packets_recv": report.packets_recv,
    }
    if report.battery_mv is not None:
        stats = {"battery_mv": report.battery_mv, **stats}
    return {
        "status": "online",
        "timestamp": stamp(report.stamp_ms),
        "origin": node.name,
        "origin_id": node.public_key.hex().upper(),
        "radio": observer.radio,
        "model": observer.model,
        "firmware_version": observer.firmware,
        "client_version": observer.client_version,
        "stats": stats,
    }


def _payload_len(raw: bytes) -> int:
    at = 5 if raw[0] & 3 in (0, 3) else 1
    path_byte = raw[at]
    return len(raw) - (at + 1 + (path_byte & 0x3F) * ((path_byte >> 6) + 1))
