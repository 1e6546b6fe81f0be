"""Reading a CoreScope database (protocol.md §12): its observations as sightings, and its
node and observer rows for adoption.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import orjson

from meshlens.errors import DecodeError, InputError
from meshlens.ingest.status import ObserverStatus
from meshlens.records import Node, Observer, ObserverId, PubKey, Sighting
from meshlens.times import parse_instant
from meshlens.wire.packet import replace_path

Item = tuple[str, Sighting | ObserverStatus | InputError]


_CORESCOPE_ROWS = """
    SELECT o.id, t.raw_hex, t.payload_type, o.path_json, o.snr, o.rssi, o.score, o.direction,
           o.timestamp, obs.id, obs.name, obs.iata
    FROM observations o JOIN transmissions t ON t.id = o.transmission_id
    LEFT JOIN observers obs ON obs.rowid = o.observer_idx
    ORDER BY o.id
"""


def read_corescope(path: Path) -> Iterator[Item]:
    """Each observation of the database as a sighting with its place, or the row's error."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        rows = conn.execute(_CORESCOPE_ROWS)
    except sqlite3.Error as err:
        raise InputError("not_corescope", str(path), str(err)) from None
    try:
        for row in rows:
            place = f"{path.name}: observation {row[0]}"
            try:
                yield place, _corescope_sighting(row, place)
            except InputError as err:
                yield place, err
    finally:
        conn.close()


def _corescope_sighting(row: tuple[object, ...], place: str) -> Sighting:
    _, raw_hex, payload_type, path_json, snr, rssi, score, direction, ts, oid, name, iata = row
    if not isinstance(raw_hex, str) or not raw_hex:
        raise InputError("missing_raw", place, "the transmission has no raw frame")
    try:
        raw = bytes.fromhex(raw_hex)
    except ValueError:
        raise InputError("bad_hex", place, f"raw_hex is not hex: {raw_hex[:40]!r}") from None
    if payload_type != 9 and isinstance(path_json, str):
        # CoreScope keeps one raw frame per transmission; rebuild this observer's copy
        # with the path it reported (the content hash does not include the path).
        raw = with_path(raw, _json_hops(path_json, place), place)
    if not isinstance(ts, int):
        raise InputError("bad_time", place, "observation timestamp is not epoch seconds")
    return Sighting(
        raw=raw,
        observer_id=oid if isinstance(oid, str) else "",
        observer_name=name if isinstance(name, str) else "",
        region=iata.strip().upper() if isinstance(iata, str) else "",
        snr_db=float(snr) if isinstance(snr, int | float) else None,
        rssi_dbm=float(rssi) if isinstance(rssi, int | float) else None,
        score=score if isinstance(score, int) else None,
        direction=direction if isinstance(direction, str) else None,
        received_at_ms=ts * 1000,
        where=place,
    )


def _json_hops(path_json: str, place: str) -> list[bytes]:
    try:
        hops = orjson.loads(path_json)
    except orjson.JSONDecodeError as err:
        raise InputError("bad_path", place, f"path_json {path_json[:60]!r}: {err}") from None
    return path_hops(hops, place)


def path_hops(hops: object, place: str) -> list[bytes]:
    """Hop prefixes from a path given as a list of hex strings (CoreScope, packet JSONL)."""
    try:
        if not isinstance(hops, list) or not all(isinstance(h, str) for h in hops):
            raise ValueError("not a list of strings")
        return [bytes.fromhex(h) for h in hops]
    except ValueError as err:
        raise InputError("bad_path", place, f"path {str(hops)[:60]!r}: {err}") from None


def with_path(raw: bytes, hops: list[bytes], place: str) -> bytes:
    """The frame `raw` carrying `hops` as its path instead of its own (same content hash)."""
    try:
        return replace_path(raw, hops)
    except DecodeError as err:
        raise InputError("decode_error", place, str(err)) from None
    except ValueError as err:
        raise InputError("bad_path", place, str(err)) from None


# -- CoreScope node and observer rows ---------------------------------------------------


def read_corescope_tables(
    path: Path, *, now_ms: int
) -> tuple[list[Node], list[Observer], list[str]]:
    """The nodes and observers tables of a CoreScope database, with one note per bad row.

    A CoreScope database often knows nodes whose adverts were pruned long ago; adopting
    these rows keeps their names, roles and positions for hop resolution.
    """
    notes: list[str] = []
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        node_rows = conn.execute(
            "SELECT public_key, name, role, lat, lon, first_seen, last_seen, advert_count "
            "FROM nodes"
        ).fetchall()
        observer_rows = conn.execute(
            "SELECT id, name, iata, first_seen, last_seen, model, firmware, client_version, "
            "radio, battery_mv, uptime_secs, noise_floor FROM observers"
        ).fetchall()
    except sqlite3.Error as err:
        raise InputError("not_corescope", str(path), str(err)) from None
    finally:
        conn.close()
    nodes: list[Node] = []
    for pk, name, role, lat, lon, first, last, adverts in node_rows:
        if not isinstance(pk, str) or len(pk) != 64 or not _is_hex(pk):
            notes.append(f"{path.name}: node {pk!r}: bad_pubkey")
            continue
        first_ms = _instant_or(first, now_ms)
        nodes.append(
            Node(
                public_key=PubKey(pk.lower()),
                name=name if isinstance(name, str) else "",
                role=role.strip().lower() if isinstance(role, str) else "",
                lat=float(lat) if isinstance(lat, int | float) else None,
                lon=float(lon) if isinstance(lon, int | float) else None,
                first_seen_ms=first_ms,
                last_seen_ms=max(first_ms, _instant_or(last, first_ms)),
                advert_count=adverts if isinstance(adverts, int) else 0,
            )
        )
    observers: list[Observer] = []
    for row in observer_rows:
        oid, name, iata, first, last, model, firmware, client, radio, battery, uptime, noise = row
        if not isinstance(oid, str) or not oid:
            notes.append(f"{path.name}: observer {oid!r}: bad_id")
            continue
        first_ms = _instant_or(first, now_ms)
        observers.append(
            Observer(
                id=ObserverId(oid),
                name=name if isinstance(name, str) else "",
                iata=iata.strip().upper() if isinstance(iata, str) else "",
                first_seen_ms=first_ms,
                last_seen_ms=max(first_ms, _instant_or(last, first_ms)),
                model=_text(model),
                firmware=_text(firmware),
                client_version=_text(client),
                radio=_text(radio),
                battery_mv=battery if isinstance(battery, int) else None,
                uptime_secs=uptime if isinstance(uptime, int) else None,
                noise_floor=float(noise) if isinstance(noise, int | float) else None,
            )
        )
    return nodes, observers, notes


def _is_hex(text: str) -> bool:
    try:
        bytes.fromhex(text)
    except ValueError:
        return False
    return True


def _instant_or(value: object, default: int) -> int:
    parsed = parse_instant(value) if isinstance(value, str) else None
    return default if parsed is None else parsed


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
