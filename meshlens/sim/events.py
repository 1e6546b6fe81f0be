"""What the simulator emits: observations (with their ground truth) and observer status."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Observation:
    """One observer's report of one frame, plus which nodes really relayed each hop."""

    observer: int  # index into Mesh.observers
    at_ms: int  # true time the uploader published it
    stamp_ms: int  # the message's `timestamp`: publish time on the uploader host's clock
    raw: bytes
    snr_db: float  # as meshcoretomqtt reports it: whole dB, truncated toward zero
    rssi_dbm: float
    score: int
    airtime_ms: int
    relays: tuple[int, ...]  # node index behind each hop of the reported path
    tx_hash: int  # the content hash (protocol §6.1) as an integer
    hop_width: int  # bytes per hop of the path meshlens reads (a TRACE's route width)


@dataclass(frozen=True, slots=True)
class StatusReport:
    """An observer's periodic status message (protocol §2.5)."""

    observer: int
    at_ms: int
    stamp_ms: int
    uptime_secs: int
    battery_mv: int | None
    noise_floor: float
    tx_air_secs: int
    rx_air_secs: int
    recv_errors: int
    packets_recv: int


Event = Observation | StatusReport
