"""The ingest pipeline: sightings in, durable rows in SQLite, then rows in the store.

One batch is: frame identity for every sighting (cheap), a full decode only for content
hashes not stored yet, the advert gates, one write transaction on the database's writer
thread, and one atomic store append. The database decides what is new, so importing the
same input twice adds nothing. Only the pipeline's own thread appends to the store.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from operator import attrgetter, itemgetter

import numpy as np
import orjson

from meshlens.db import retention, tables
from meshlens.db.database import Database
from meshlens.errors import DecodeError
from meshlens.ingest.counters import IngestCounters
from meshlens.ingest.frames import (
    adopt_node,
    adopt_observer,
    advert_refusal,
    direction_code,
    merge_node,
    touch_node,
    tx_row,
)
from meshlens.ingest.status import ObserverStatus, write_statuses
from meshlens.records import Node, Observer, Sighting
from meshlens.store.batch import ObsBatch, ObserverRow, StoreBatch, TxRow
from meshlens.store.store import PacketStore
from meshlens.wire import ChannelKeys, Packet, RegionKeys, decode_packet, peek_frame
from meshlens.wire.frozen import constructor
from meshlens.wire.json import channel_hash_column, payload_json

log = logging.getLogger("meshlens.ingest")

_ADVERT = 4
_received_at = attrgetter("received_at_ms")
_snr = attrgetter("snr_db")
_rssi = attrgetter("rssi_dbm")
_first, _second, _third = itemgetter(0), itemgetter(1), itemgetter(2)

GeoCheck = Callable[[float | None, float | None], bool]


class Outcome(Enum):
    """What happened to one sighting."""

    NEW = "new"  # a new transmission and its first observation
    STORED = "stored"  # a new observation of a known transmission
    DUPLICATE = "duplicate"  # this observer already reported this path
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class Result:
    """The outcome of one sighting, as POST /api/packets and the importers report it."""

    outcome: Outcome
    content_hash: str | None = None
    transmission_id: int | None = None
    observation_id: int | None = None
    reason: str | None = None  # a stable counter label when rejected
    detail: str = ""


# One Result per sighting: the fast frozen-record constructor halves what they cost.
_new_result = constructor(Result)


@dataclass(frozen=True, slots=True)
class PipelineOptions:
    """Ingest rules taken from the settings."""

    validate_signatures: bool = True
    inside_geofilter: GeoCheck | None = None  # None: no geofilter configured
    drop_foreign_adverts: bool = False  # foreignAdverts.mode == "drop"
    metrics_interval_s: int = 300  # metrics.sampleIntervalSec, for status messages


@dataclass(slots=True)
class _NewTx:
    packet: Packet
    foreign: bool
    first_ms: int
    last_ms: int  # its latest sighting in the batch (§6.2: last_seen)
    db_id: int | None = None


@dataclass(slots=True)
class _Plan:
    """One batch, prepared outside the database transaction."""

    sightings: Sequence[Sighting]
    results: list[Result | None]
    hashes: list[int]  # per sighting, -1 when rejected
    paths: list[tuple[int, int, bytes]]  # (path byte, hop width, hop bytes) per sighting
    adverts: list[int] = field(default_factory=list)  # sightings whose frame is an ADVERT
    # Per sighting, its transmission's store row or -1 (valid for the whole batch:
    # retention swaps the store only between batches).
    rows: list[int] = field(default_factory=list)
    new_tx: dict[int, _NewTx] = field(default_factory=dict)
    dropped: list[tuple[Sighting, Packet, str]] = field(default_factory=list)


@dataclass(slots=True)
class _Written:
    """What the write transaction did."""

    tx_ids: dict[int, int]  # content hash -> transmission id, for every accepted sighting
    obs_ids: list[int | None]  # per sighting
    observers: list[ObserverRow]
    observer_idx: dict[str, int]
    nodes: list[Node]


class Pipeline:
    """Turns sightings into stored rows; call `process` from one thread only."""

    def __init__(
        self,
        db: Database,
        store: PacketStore,
        *,
        keys: ChannelKeys | None = None,
        regions: RegionKeys | None = None,
        options: PipelineOptions | None = None,
        counters: IngestCounters | None = None,
    ) -> None:
        self._db = db
        self._store = store
        self._keys = keys
        self._regions = regions
        self._options = options or PipelineOptions()
        self.counters = counters or IngestCounters("total")

    def process(self, sightings: Sequence[Sighting]) -> list[Result]:
        """Store a batch of sightings; returns one Result per sighting, in order."""
        if not sightings:
            return []
        self.counters.received(len(sightings))
        plan = self._plan(sightings)
        written = self._db.write(lambda conn: self._write(conn, plan))
        return self._publish(plan, written)

    def adopt(self, nodes: Sequence[Node], observers: Sequence[Observer]) -> None:
        """Take node and observer rows from another system (an imported CoreScope database).

        They fill gaps in what meshlens knows and never erase it.
        """
        snap = self._store.snapshot()
        merged_nodes = [adopt_node(snap.node(n.public_key), n) for n in nodes]
        merged_observers = [adopt_observer(snap.observer(o.id), o) for o in observers]

        def write(conn: sqlite3.Connection) -> list[ObserverRow]:
            for node in merged_nodes:
                tables.upsert_node(conn, node)
            return [ObserverRow(*tables.update_observer(conn, o)) for o in merged_observers]

        rows = self._db.write(write)
        self._store.append(StoreBatch(nodes=merged_nodes, observers=rows))

    def apply_statuses(self, statuses: Sequence[ObserverStatus]) -> None:
        """Write observer status messages (protocol §11) and show the rows in the store."""
        if not statuses:
            return
        interval_s = self._options.metrics_interval_s
        rows = self._db.write(
            lambda conn: write_statuses(conn, statuses, sample_interval_s=interval_s)
        )
        self._store.append(StoreBatch(observers=rows))

    # -- before the transaction: identity, decode of what is new, advert gates --------

    def _plan(self, sightings: Sequence[Sighting]) -> _Plan:
        n = len(sightings)
        plan = _Plan(sightings, [None] * n, [-1] * n, [], rows=[-1] * n)
        refused: dict[int, Result] = {}
        keys = [-1] * n
        for i, s in enumerate(sightings):
            try:
                frame = peek_frame(s.raw)
            except DecodeError as err:
                plan.results[i] = self._reject(s, "decode_error", str(err))
                plan.paths.append((0, 0, b""))
                continue
            plan.paths.append((frame.path_byte, frame.path_hop_width, frame.path))
            if frame.payload_type == _ADVERT:
                plan.adverts.append(i)
            keys[i] = int(frame.content_hash, 16)
        # Known transmissions in one search of the hash index (most sightings repeat one).
        lookup = (
            keys if len(plan.results) - plan.results.count(None) == 0 else [max(k, 0) for k in keys]
        )  # a rejected frame has no hash: look up 0 in its place, then skip it
        plan.rows = rows = self._store.tx_rows_of_hashes(lookup)
        hashes = plan.hashes
        for i, key in enumerate(keys):
            if key < 0:
                continue
            if rows[i] >= 0:  # known, so never refused (refusals are of new hashes)
                hashes[i] = key
                continue
            s = sightings[i]
            if key in refused:
                plan.results[i] = refused[key]
                self.counters.rejected(refused[key].reason or "", s.where, refused[key].detail)
                continue
            hashes[i] = key
            pending = plan.new_tx.get(key)
            if pending is not None:
                pending.first_ms = min(pending.first_ms, s.received_at_ms)
                pending.last_ms = max(pending.last_ms, s.received_at_ms)
                continue
            result = self._admit(s, key, plan)
            if result is not None:
                refused[key] = result
                plan.results[i] = result
                hashes[i] = -1
        return plan

    def _admit(self, s: Sighting, key: int, plan: _Plan) -> Result | None:
        """Decode a new transmission and apply the advert gates; a Result means refused."""
        opts = self._options
        try:
            packet = decode_packet(
                s.raw, self._keys, validate_signatures=opts.validate_signatures,
                regions=self._regions,
            )  # fmt: skip
        except DecodeError as err:  # peek accepted the framing; defensive all the same
            return self._reject(s, "decode_error", str(err))
        foreign = False
        advert = packet.advert
        if advert is not None:
            refusal = advert_refusal(advert)
            if refusal is not None:
                return self._reject(s, "invalid_advert", refusal)
            if opts.validate_signatures and advert.signature_valid is False:
                plan.dropped.append((s, packet, "invalid signature"))
                return self._reject(s, "invalid_signature", advert.public_key[:16])
            if opts.inside_geofilter is not None and not opts.inside_geofilter(
                advert.lat, advert.lon
            ):
                if opts.drop_foreign_adverts:
                    return self._reject(s, "foreign_advert", advert.public_key[:16])
                foreign = True
        plan.new_tx[key] = _NewTx(packet, foreign, s.received_at_ms, s.received_at_ms)
        return None

    def _reject(self, s: Sighting, reason: str, detail: str) -> Result:
        self.counters.rejected(reason, s.where, detail)
        return Result(Outcome.REJECTED, reason=reason, detail=detail)

    # -- the write transaction (runs on the database's writer thread) -----------------

    def _write(self, conn: sqlite3.Connection, plan: _Plan) -> _Written:
        observers, observer_idx = self._write_observers(conn, plan)
        tx_ids = self._write_transmissions(conn, plan)
        obs_ids: list[int | None] = [None] * len(plan.sightings)
        hashes, sightings, paths = plan.hashes, plan.sightings, plan.paths
        accepted = [i for i, key in enumerate(hashes) if key >= 0]
        rows: list[tables.ObservationValues] = [
            (tx_ids[hashes[i]], observer_idx[s.observer_id], s.received_at_ms, s.snr_db,
             s.rssi_dbm, s.score, s.direction, p[0], p[1], p[2])
            for i in accepted for s, p in ((sightings[i], paths[i]),)
        ]  # fmt: skip
        for i, obs_id in zip(accepted, tables.insert_observations(conn, rows), strict=True):
            obs_ids[i] = obs_id
        nodes = self._write_nodes(conn, plan)
        for s, packet, reason in plan.dropped:
            advert = packet.advert
            tables.insert_dropped(
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
        return _Written(tx_ids, obs_ids, observers, observer_idx, nodes)

    def _write_observers(
        self, conn: sqlite3.Connection, plan: _Plan
    ) -> tuple[list[ObserverRow], dict[str, int]]:
        """One upsert per observer per batch, with the batch's message count."""
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
        seen: dict[str, tables.ObserverSeen] = {}
        for oid, group in groups.items():
            times = list(map(_received_at, group))
            name = next((g.observer_name for g in reversed(group) if g.observer_name), "")
            iata = next((g.region for g in reversed(group) if g.region), "")
            first, last = min(times), max(times)
            seen[oid] = tables.ObserverSeen(oid, name, iata, last, len(group), last, first)
        rows: list[ObserverRow] = []
        idx: dict[str, int] = {}
        for observer_id, info in seen.items():
            rowid, observer = tables.upsert_observer_seen(conn, info)
            rows.append(ObserverRow(rowid, observer))
            idx[observer_id] = rowid
        return rows, idx

    def _write_transmissions(self, conn: sqlite3.Connection, plan: _Plan) -> dict[int, int]:
        tx_ids: dict[int, int] = {}
        for key, new in plan.new_tx.items():
            packet = new.packet
            advert = packet.advert
            row = tables.NewTransmission(
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
                new.db_id = tables.insert_transmission(conn, row)
            except sqlite3.IntegrityError:
                # Retention has dropped this hash from the store and not yet deleted its
                # row (ingest/retention.py). The row is condemned: start the hash afresh.
                if not retention.delete_transmission_by_hash(conn, packet.content_hash):
                    raise
                new.db_id = tables.insert_transmission(conn, row)
            tx_ids[key] = new.db_id
        # Known transmissions: first_seen may move down, last_seen up (§6.2).
        times: dict[int, list[int]] = {}  # key -> its sightings' times
        stored: dict[int, int] = {}  # key -> its store row
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
            tx_id = self._store.tx_db_id(max(stored[key], 0))
            touched.append((tx_id, min(at), max(at)))
            tx_ids[key] = tx_id
        tables.touch_transmissions(conn, touched)
        return tx_ids

    def _write_nodes(self, conn: sqlite3.Connection, plan: _Plan) -> list[Node]:
        """Advert sightings update their node: new adverts merge, repeats bump last_seen."""
        snap = self._store.snapshot()
        merged: dict[str, Node] = {}
        counted: set[int] = set()  # advert_count grows once per new transmission
        # A repeat only raises last_seen, and a merge keeps the later of its own time and
        # last_seen and reads nothing else the repeat changes: so a node's repeats fold
        # into their latest time, applied after the merges (one Node per node, not one
        # per repeat).
        touched: dict[str, int] = {}  # public key -> latest repeat, nodes known by then
        senders: dict[int, str | None] = {}  # store row -> advert sender (None: not one)
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
                    merged.get(pk) or snap.node(pk), advert, seen_at_ms=s.received_at_ms,
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
                is_advert = int(snap.tx.payload_type[row]) == 4
                from_key = snap.string(int(snap.tx.from_key[row])) if is_advert else None
                senders[row] = from_key
            if from_key is None:
                continue
            at = s.received_at_ms
            latest = touched.get(from_key)
            if latest is not None:
                touched[from_key] = max(latest, at)
            elif from_key in merged or snap.node(from_key) is not None:
                touched[from_key] = at
        for pk, at in touched.items():
            node = merged.get(pk) or snap.node(pk)
            assert node is not None  # known when the repeat was seen, and never removed
            merged[pk] = touch_node(node, at)
        for node in merged.values():
            tables.upsert_node(conn, node)
        return list(merged.values())

    # -- after the commit: the store append and the results ---------------------------

    def _publish(self, plan: _Plan, written: _Written) -> list[Result]:
        new_rows: list[TxRow] = [
            tx_row(new.packet, new.db_id, new.first_ms)
            for new in plan.new_tx.values()
            if new.db_id is not None
        ]
        new_rows.sort(key=lambda r: r.db_id)
        # The loop only sorts sightings into outcomes; the store's columns are then made
        # one column at a time from the stored ones (per-sighting appends to ten lists
        # cost more than the rest of publishing: docs/benchmarks.md, import rate).
        results: list[Result] = []
        stored: list[int] = []  # sightings with a new observation row
        duplicates = 0
        announced: set[int] = set()
        new_tx = plan.new_tx
        tx_ids, obs_ids, hashes = written.tx_ids, written.obs_ids, plan.hashes
        texts: dict[int, str] = {}
        for i, done in enumerate(plan.results):
            if done is not None:
                results.append(done)
                continue
            key = hashes[i]
            tx_id = tx_ids[key]
            obs_id = obs_ids[i]
            content_hash = texts.get(key)
            if content_hash is None:
                content_hash = texts[key] = f"{key:016x}"
            if obs_id is None:
                duplicates += 1
                results.append(_new_result(Outcome.DUPLICATE, content_hash, tx_id, None, None, ""))
                continue
            stored.append(i)
            outcome = Outcome.STORED
            if key in new_tx and key not in announced:
                announced.add(key)
                outcome = Outcome.NEW
            results.append(_new_result(outcome, content_hash, tx_id, obs_id, None, ""))
        sightings = [plan.sightings[i] for i in stored]
        paths = [plan.paths[i] for i in stored]
        codes = {d: direction_code(d) for d in {s.direction for s in sightings}}
        observer_idx = written.observer_idx
        n = len(stored)
        observations = ObsBatch(
            db_id=np.array([obs_ids[i] for i in stored], np.int64),
            tx_db_id=np.array([tx_ids[hashes[i]] for i in stored], np.int64),
            observer_rowid=np.array([observer_idx[s.observer_id] for s in sightings], np.int64),
            ts_ms=np.fromiter(map(_received_at, sightings), np.int64, n),
            snr_db=np.array(list(map(_snr, sightings)), np.float32),  # None -> NaN
            rssi_dbm=np.array(list(map(_rssi, sightings)), np.float32),
            direction=np.array([codes[s.direction] for s in sightings], np.uint8),
            path_byte=np.fromiter(map(_first, paths), np.uint8, n),
            hop_width=np.fromiter(map(_second, paths), np.uint8, n),
            paths=list(map(_third, paths)),
        )
        self._store.append(
            StoreBatch(
                transmissions=new_rows,
                observations=observations,
                nodes=written.nodes,
                observers=written.observers,
            )
        )
        self.counters.stored(n, len(new_rows), duplicates)
        return results
