"""One ingest batch's plan and its write transaction (on the database's writer thread).

The pipeline (pipeline.py) prepares a `Plan` outside the transaction: frame identity for
every sighting, a decode of each new transmission, the advert gates. `write_batch` then
writes it in one transaction: an upsert per observer, the new transmissions and the
known ones' times (§6.2), the observations, and the nodes its adverts change. What it
wrote comes back as `Written`, from which the pipeline makes the store's batch.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from operator import attrgetter

import orjson

from meshlens.db import directory, packets, retention
from meshlens.ingest.frames import merge_node, touch_node
from meshlens.ingest.known import Known
from meshlens.ingest.outcome import Result
from meshlens.records import Node, Sighting
from meshlens.store.batch import ObserverRow
from meshlens.wire import Packet
from meshlens.wire.json import channel_hash_column, payload_json

_received_at = attrgetter("received_at_ms")


@dataclass(slots=True)
class NewTx:
    """A transmission first seen in this batch, decoded, until its row is written."""

    packet: Packet
    foreign: bool
    first_ms: int
    last_ms: int  # its latest sighting in the batch (§6.2: last_seen)
    db_id: int | None = None


@dataclass(slots=True)
class Plan:
    """One batch, prepared outside the database transaction."""

    sightings: Sequence[Sighting]
    results: list[Result | None]
    hashes: list[int]  # per sighting, -1 when rejected
    paths: list[tuple[int, int, bytes]]  # (path byte, hop width, hop bytes) per sighting
    adverts: list[int] = field(default_factory=list)  # sightings whose frame is an ADVERT
    # Per sighting, its transmission's row (Known.tx_rows_of_hashes) or -1, valid for the
    # whole batch: retention swaps the store only between batches.
    rows: list[int] = field(default_factory=list)
    new_tx: dict[int, NewTx] = field(default_factory=dict)
    dropped: list[tuple[Sighting, Packet, str]] = field(default_factory=list)


@dataclass(slots=True)
class Written:
    """What the write transaction did."""

    tx_ids: dict[int, int]  # content hash -> transmission id, for every accepted sighting
    obs_ids: list[int | None]  # per sighting
    observers: list[ObserverRow]
    observer_idx: dict[str, int]
    nodes: list[Node]


def write_batch(conn: sqlite3.Connection, plan: Plan, known: Known) -> Written:
    """The batch's one write transaction: observers, transmissions, observations, nodes."""
    observers, observer_idx = _write_observers(conn, plan)
    tx_ids = _write_transmissions(conn, plan, known)
    obs_ids: list[int | None] = [None] * len(plan.sightings)
    hashes, sightings, paths = plan.hashes, plan.sightings, plan.paths
    accepted = [i for i, key in enumerate(hashes) if key >= 0]
    rows: list[packets.ObservationValues] = [
        (tx_ids[hashes[i]], observer_idx[s.observer_id], s.received_at_ms, s.snr_db,
         s.rssi_dbm, s.score, s.direction, p[0], p[1], p[2])
        for i in accepted for s, p in ((sightings[i], paths[i]),)
    ]  # fmt: skip
    for i, obs_id in zip(accepted, packets.insert_observations(conn, rows), strict=True):
        obs_ids[i] = obs_id
    nodes = _write_nodes(conn, plan, known)
    for s, packet, reason in plan.dropped:
        advert = packet.advert
        packets.insert_dropped(
            conn,
            content_hash=packet.content_hash,
            raw=packet.raw,
            reason=reason,
            observer_id=s.observer_id or None,
            observer_name=s.observer_name or None,
            node_pubkey=advert.public_key if advert else None,
            node_name=advert.name if advert else None,
            at_ms=s.received_at_ms,
        )
    return Written(tx_ids, obs_ids, observers, observer_idx, nodes)


def _write_observers(
    conn: sqlite3.Connection, plan: Plan
) -> tuple[list[ObserverRow], dict[str, int]]:
    """The batch's observers upserted in one statement, each with its message count."""
    # The latest non-empty name and region win, and the earliest message (not the
    # latest) starts it. Grouped first: a few appends per sighting, the rest per observer.
    groups: dict[str, list[Sighting]] = {}
    hashes = plan.hashes
    for i, s in enumerate(plan.sightings):
        if hashes[i] >= 0:
            group = groups.get(s.observer_id)
            if group is None:
                groups[s.observer_id] = [s]
            else:
                group.append(s)
    seen: dict[str, directory.ObserverSeen] = {}
    for oid, group in groups.items():
        times = list(map(_received_at, group))
        name = next((g.observer_name for g in reversed(group) if g.observer_name), "")
        iata = next((g.region for g in reversed(group) if g.region), "")
        first, last = min(times), max(times)
        seen[oid] = directory.ObserverSeen(oid, name, iata, last, len(group), last, first)
    rows: list[ObserverRow] = []
    idx: dict[str, int] = {}
    for observer_id, (rowid, observer) in zip(
        seen, directory.upsert_observers_seen(conn, list(seen.values())), strict=True
    ):
        rows.append(ObserverRow(rowid, observer))
        idx[observer_id] = rowid
    return rows, idx


def _write_transmissions(conn: sqlite3.Connection, plan: Plan, known: Known) -> dict[int, int]:
    """New transmissions inserted, known ones' first/last seen moved; ids by content hash."""
    tx_ids: dict[int, int] = {}
    for key, new in plan.new_tx.items():
        packet = new.packet
        advert = packet.advert
        row = packets.NewTransmission(
            content_hash=packet.content_hash,
            raw=packet.raw,
            seen_at_ms=new.first_ms,
            last_seen_ms=new.last_ms,
            route_type=packet.route_type,
            payload_type=packet.payload_type,
            payload_version=packet.payload_version,
            decoded_json=orjson.dumps(payload_json(packet)).decode(),
            from_pubkey=advert.public_key if advert else None,
            channel_hash=channel_hash_column(packet),
            scope_name=packet.scope_name,
        )
        try:
            new.db_id = packets.insert_transmission(conn, row)
        except sqlite3.IntegrityError:
            # Retention has dropped this hash from the store and not yet deleted its
            # row (ingest/retention.py). The row is condemned: start the hash afresh.
            if not retention.delete_transmission_by_hash(conn, packet.content_hash):
                raise
            new.db_id = packets.insert_transmission(conn, row)
        tx_ids[key] = new.db_id
    # Known transmissions: first_seen may move down, last_seen up (§6.2).
    times: dict[int, list[int]] = {}  # key -> its sightings' times
    stored: dict[int, int] = {}  # key -> its row (Known.tx_rows_of_hashes)
    new_tx, rows = plan.new_tx, plan.rows
    for i, s in enumerate(plan.sightings):
        key = plan.hashes[i]
        if key < 0 or key in new_tx:
            continue
        at = times.get(key)
        if at is None:
            times[key] = [s.received_at_ms]
            stored[key] = rows[i]
        else:
            at.append(s.received_at_ms)
    touched: list[tuple[int, int, int]] = []
    for key, at in times.items():
        tx_id = known.tx_db_id(max(stored[key], 0))
        touched.append((tx_id, min(at), max(at)))
        tx_ids[key] = tx_id
    packets.touch_transmissions(conn, touched)
    return tx_ids


def _write_nodes(conn: sqlite3.Connection, plan: Plan, known: Known) -> list[Node]:
    """Advert sightings update their node: new adverts merge, repeats bump last_seen."""
    merged: dict[str, Node] = {}
    counted: set[int] = set()  # advert_count grows once per new transmission
    # A repeat only raises last_seen, and a merge keeps the later of its own time and
    # last_seen and reads nothing else the repeat changes: so a node's repeats fold
    # into their latest time, applied after the merges (one Node per node, not one
    # per repeat).
    touched: dict[str, int] = {}  # public key -> latest repeat, nodes known by then
    senders: dict[int, str | None] = {}  # row -> advert sender (None: not an advert)
    for i in plan.adverts:
        s = plan.sightings[i]
        key = plan.hashes[i]
        if key < 0:
            continue
        new = plan.new_tx.get(key)
        if new is not None:
            advert = new.packet.advert
            if advert is None:
                continue
            pk = advert.public_key
            merged[pk] = merge_node(
                merged.get(pk) or known.node(pk), advert, seen_at_ms=s.received_at_ms,
                new_transmission=key not in counted, foreign=new.foreign,
                scope=new.packet.scope_name,
            )  # fmt: skip
            counted.add(key)
            continue
        row = plan.rows[i]
        if row < 0:
            continue
        if row in senders:
            from_key = senders[row]
        else:
            from_key = senders[row] = known.advert_sender(row)
        if from_key is None:
            continue
        at = s.received_at_ms
        latest = touched.get(from_key)
        if latest is not None:
            touched[from_key] = max(latest, at)
        elif from_key in merged or known.node(from_key) is not None:
            touched[from_key] = at
    for pk, at in touched.items():
        node = merged.get(pk) or known.node(pk)
        assert node is not None  # known when the repeat was seen, and never removed
        merged[pk] = touch_node(node, at)
    for node in merged.values():
        directory.upsert_node(conn, node)
    return list(merged.values())
