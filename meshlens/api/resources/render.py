"""Rows of the store as CoreScope's JSON: transmissions, observations, decoded payloads.

Formats follow api-resources §0.4: transmission first-seen times at second precision,
observation times with milliseconds, NaN signal values as null, empty observer names and
IATA codes as null on in-memory rows.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np

from meshlens.api.resources.clock_text import millis_text as iso_millis
from meshlens.api.resources.clock_text import seconds_text as iso_seconds
from meshlens.errors import DecodeError
from meshlens.records import JSONObject, JSONValue
from meshlens.store.batch import DIRECTION_OTHER, DIRECTION_RX, DIRECTION_TX
from meshlens.store.snapshot import Snapshot
from meshlens.wire import ChannelKeys, RegionKeys, decode_packet
from meshlens.wire.json import decoded_json_text

DIRECTIONS: dict[int, str | None] = {
    DIRECTION_RX: "rx",
    DIRECTION_TX: "tx",
    DIRECTION_OTHER: "other",
}
DECODED_CACHE_ENTRIES = 50_000


def signal(value: np.floating[Any] | float) -> float | None:
    """A float32 column value as JSON: null for NaN, else its shortest decimal form."""
    if math.isnan(value):
        return None
    # str() of a float32 is its shortest round-trip form (-101.3, not -101.30000305).
    return float(str(value))


def or_null(text: str) -> str | None:
    """§0.4: in-memory rows send an empty string as null."""
    return text or None


@dataclass(frozen=True, slots=True)
class Decoded:
    """What the API needs from a decode of a stored frame."""

    decoded_json: str | None
    sender_timestamp: int | None


class DecodedCache:
    """Decoded payload JSON of stored frames, decoded on demand with the server's keys."""

    def __init__(
        self,
        keys: ChannelKeys | None,
        regions: RegionKeys | None,
        *,
        validate_signatures: bool,
        entries: int = DECODED_CACHE_ENTRIES,
    ) -> None:
        self._keys = keys
        self._regions = regions
        self._validate = validate_signatures
        self._entries = entries
        self._cache: OrderedDict[int, Decoded] = OrderedDict()

    def get(self, snap: Snapshot, row: int) -> Decoded:
        """The decode of transmission `row` (cached by content hash)."""
        key = int(snap.tx.hash[row])
        found = self._cache.get(key)
        if found is not None:
            self._cache.move_to_end(key)
            return found
        try:
            packet = decode_packet(
                snap.raw_frame(row), self._keys, validate_signatures=self._validate,
                regions=self._regions,
            )  # fmt: skip
        except DecodeError:  # stored frames decoded once; a null beats a failed page
            decoded = Decoded(None, None)
        else:
            message = packet.channel_message
            stamp = message.sender_timestamp if message is not None else None
            decoded = Decoded(decoded_json_text(packet), stamp or None)
        self._cache[key] = decoded
        if len(self._cache) > self._entries:
            self._cache.popitem(last=False)
        return decoded


def path_list(snap: Snapshot, obs_row: int) -> list[JSONValue]:
    """An observation's hops, upper-case hex."""
    return list[JSONValue](snap.path(obs_row))


def path_text(hops: list[JSONValue]) -> str:
    """`path_json`: the hops as compact JSON text."""
    return "[" + ",".join(f'"{hop}"' for hop in hops) + "]"


def observer_fields(snap: Snapshot, obs_row: int, *, iata_default: str | None = None) -> JSONObject:
    """observer_id, observer_name and observer_iata of an observation."""
    observer = snap.observers[int(snap.obs.observer[obs_row])]
    return {
        "observer_id": observer.id or None,
        "observer_name": observer.name or None,
        "observer_iata": observer.iata or iata_default,
    }


def observation_json(snap: Snapshot, obs_row: int, *, with_hash: bool = False) -> JSONObject:
    """One observation as §9.3 `observations` entries show it."""
    obs = snap.obs
    out: JSONObject = {"id": int(obs.db_id[obs_row])}
    if with_hash:
        out["hash"] = snap.content_hash(int(obs.tx[obs_row]))
    out |= observer_fields(snap, obs_row)
    out |= {
        "snr": signal(obs.snr_db[obs_row]),
        "rssi": signal(obs.rssi_dbm[obs_row]),
        "path_json": path_text(path_list(snap, obs_row)),
        "timestamp": iso_millis(int(obs.ts_ms[obs_row])),
        "direction": DIRECTIONS.get(int(obs.direction[obs_row])),
    }
    return out


def raw_hex(snap: Snapshot, row: int) -> str:
    """The stored frame as upper-case hex (meshcoretomqtt's spelling)."""
    return snap.raw_frame(row).hex().upper()


def tx_json(snap: Snapshot, row: int, decoded: Decoded) -> JSONObject:
    """One transmission in the raw shape of §9.3 (display fields from the best observation)."""
    tx = snap.tx
    first_seen = iso_seconds(int(tx.first_seen_ms[row]))
    out: JSONObject = {
        "id": int(tx.db_id[row]),
        "raw_hex": raw_hex(snap, row),
        "hash": snap.content_hash(row),
        "first_seen": first_seen,
        "timestamp": first_seen,
        "route_type": int(tx.route_type[row]),
        "payload_type": int(tx.payload_type[row]),
        "decoded_json": decoded.decoded_json,
        "observation_count": int(tx.obs_count[row]),
    }
    best = int(tx.best_obs[row])
    if best < 0:
        out |= {
            "observer_id": None, "observer_name": None, "observer_iata": None, "snr": None,
            "rssi": None, "path_json": "[]", "direction": None, "_parsedPath": None,
        }  # fmt: skip
        return out
    hops = path_list(snap, best)
    out |= observer_fields(snap, best)
    out |= {
        "snr": signal(snap.obs.snr_db[best]),
        "rssi": signal(snap.obs.rssi_dbm[best]),
        "path_json": path_text(hops),
        "direction": DIRECTIONS.get(int(snap.obs.direction[best])),
        "_parsedPath": hops or None,
    }
    return out


def newest_first(snap: Snapshot, rows: np.ndarray[tuple[int], np.dtype[np.int64]]) -> list[int]:
    """Observation rows by time descending, then id descending (§10)."""
    obs = snap.obs
    order = np.lexsort((-obs.db_id[rows], -obs.ts_ms[rows]))
    return [int(r) for r in rows[order]]
