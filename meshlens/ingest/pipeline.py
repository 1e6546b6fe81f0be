"""The ingest pipeline: sightings in, durable rows in SQLite, then rows in the store.

One batch is: frame identity for every sighting (cheap), a full decode only for content
hashes not stored yet, the advert gates, one write transaction on the database's writer
thread, and one atomic store append. The database decides what is new, so importing the
same input twice adds nothing. Only the pipeline's own thread appends to the store.

What is stored already is read from the store in the process that holds it, or from the
database where the pipeline runs in a process of its own (known.py, pipeline_process.py).
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from operator import attrgetter, itemgetter

import numpy as np

from meshlens.db import directory
from meshlens.db.database import Writer
from meshlens.errors import DecodeError
from meshlens.frozen import constructor
from meshlens.gil import Turns
from meshlens.ingest.counters import IngestCounters
from meshlens.ingest.frames import (
    adopt_node,
    adopt_observer,
    advert_refusal,
    direction_code,
    tx_row,
)
from meshlens.ingest.known import Known, StoreKnown
from meshlens.ingest.outcome import Outcome, Result
from meshlens.ingest.status import ObserverStatus
from meshlens.ingest.status_rows import write_statuses
from meshlens.ingest.transaction import NewTx, Plan, Written, write_batch
from meshlens.records import Node, Observer, Sighting
from meshlens.store.batch import ObsBatch, ObserverRow, StoreBatch, TxRow
from meshlens.store.store import PacketStore
from meshlens.wire import ChannelKeys, RegionKeys, decode_packet, peek_frame

log = logging.getLogger("meshlens.ingest")

_ADVERT = 4
_received_at = attrgetter("received_at_ms")
_snr = attrgetter("snr_db")
_rssi = attrgetter("rssi_dbm")
_first, _second, _third = itemgetter(0), itemgetter(1), itemgetter(2)

GeoCheck = Callable[[float | None, float | None], bool]


# One Result per sighting: the fast frozen-record constructor halves what they cost.
_new_result = constructor(Result)


@dataclass(frozen=True, slots=True)
class PipelineOptions:
    """Ingest rules taken from the settings."""

    validate_signatures: bool = True
    inside_geofilter: GeoCheck | None = None  # None: no geofilter configured
    drop_foreign_adverts: bool = False  # foreignAdverts.mode == "drop"
    metrics_interval_s: int = 300  # metrics.sampleIntervalSec, for status messages


class Pipeline:
    """Turns sightings into stored rows; call `process` from one thread only."""

    def __init__(
        self,
        db: Writer,
        store: PacketStore | Known,
        *,
        keys: ChannelKeys | None = None,
        regions: RegionKeys | None = None,
        options: PipelineOptions | None = None,
        counters: IngestCounters | None = None,
    ) -> None:
        self._db = db
        # What is stored: the store's own answers, or another Known (the database's).
        self._known: Known = StoreKnown(store) if isinstance(store, PacketStore) else store
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
        written = self._db.write(lambda conn: write_batch(conn, plan, self._known))
        return self._publish(plan, written)

    def adopt(self, nodes: Sequence[Node], observers: Sequence[Observer]) -> None:
        """Take node and observer rows from another system (an imported CoreScope database).

        They fill gaps in what meshlens knows and never erase it.
        """
        known = self._known
        merged_nodes = [adopt_node(known.node(n.public_key), n) for n in nodes]
        merged_observers = [adopt_observer(known.observer(o.id), o) for o in observers]

        def write(conn: sqlite3.Connection) -> list[ObserverRow]:
            for node in merged_nodes:
                directory.upsert_node(conn, node)
            return [ObserverRow(*directory.update_observer(conn, o)) for o in merged_observers]

        rows = self._db.write(write)
        known.append(StoreBatch(nodes=merged_nodes, observers=rows))

    def apply_statuses(self, statuses: Sequence[ObserverStatus]) -> None:
        """Write observer status messages (protocol §11) and show the rows in the store."""
        if not statuses:
            return
        interval_s = self._options.metrics_interval_s
        rows = self._db.write(
            lambda conn: write_statuses(conn, statuses, sample_interval_s=interval_s)
        )
        self._known.append(StoreBatch(observers=rows))

    # -- before the transaction: identity, decode of what is new, advert gates --------

    def _plan(self, sightings: Sequence[Sighting]) -> Plan:
        n = len(sightings)
        plan = Plan(sightings, [None] * n, [-1] * n, [], rows=[-1] * n)
        refused: dict[int, Result] = {}
        keys = [-1] * n
        turn = Turns()  # while reads are busy, the event loop's turns between ours
        for i, s in enumerate(sightings):
            turn()
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
        plan.rows = rows = self._known.tx_rows_of_hashes(lookup)
        hashes = plan.hashes
        for i, key in enumerate(keys):
            turn()
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

    def _admit(self, s: Sighting, key: int, plan: Plan) -> Result | None:
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
        plan.new_tx[key] = NewTx(packet, foreign, s.received_at_ms, s.received_at_ms)
        return None

    def _reject(self, s: Sighting, reason: str, detail: str) -> Result:
        self.counters.rejected(reason, s.where, detail)
        return Result(Outcome.REJECTED, reason=reason, detail=detail)

    # -- after the commit: the store append and the results ---------------------------

    def _publish(self, plan: Plan, written: Written) -> list[Result]:
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
        turn = Turns()
        for i, done in enumerate(plan.results):
            turn()
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
        self._known.append(
            StoreBatch(
                transmissions=new_rows,
                observations=observations,
                nodes=written.nodes,
                observers=written.observers,
            )
        )
        self.counters.stored(n, len(new_rows), duplicates)
        return results
