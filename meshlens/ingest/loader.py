"""Fill the store from the database at start-up, in chunks, reporting progress.

Transmissions are decoded again from their raw bytes with the current channel keys (one
code path with live ingest, and a key added to the config decrypts old traffic too).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from meshlens.db import directory, packets, schema
from meshlens.db.database import Database, ReadOnlyDatabase
from meshlens.errors import DecodeError
from meshlens.heap import return_freed_memory
from meshlens.ingest.frames import tx_row
from meshlens.store.batch import ObsBatch, ObserverRow, StoreBatch, TxRow
from meshlens.store.store import LoadProgress, PacketStore
from meshlens.wire import ChannelKeys, RegionKeys, decode_packet

log = logging.getLogger("meshlens.loader")


def load_store(
    db: Database | ReadOnlyDatabase,
    store: PacketStore,
    *,
    keys: ChannelKeys | None = None,
    regions: RegionKeys | None = None,
    on_progress: Callable[[LoadProgress], None] | None = None,
) -> LoadProgress:
    """Append everything in `db` to an empty `store`; returns the final progress."""
    counts = db.read(schema.count_rows)
    progress = LoadProgress(True, 0, 0, counts.observations)
    store.set_progress(progress)
    observers = db.read(directory.all_observers)
    nodes = db.read(directory.all_nodes)
    store.append(StoreBatch(nodes=nodes, observers=[ObserverRow(idx, o) for idx, o in observers]))

    def report(p: LoadProgress) -> None:
        store.set_progress(p)
        if on_progress is not None:
            on_progress(p)

    loaded_tx = 0
    unreadable: set[int] = set()
    for chunk in db.read(packets.iter_transmissions):
        decoded = [(rec[0], _decode_row(rec, keys, regions)) for rec in chunk]
        unreadable.update(db_id for db_id, row in decoded if row is None)
        rows = [row for _, row in decoded if row is not None]
        store.append(StoreBatch(transmissions=rows))
        loaded_tx += len(rows)
        report(LoadProgress(True, loaded_tx, 0, counts.observations))
    loaded_obs = 0
    for chunk_read in db.read(packets.iter_observations):
        obs_chunk = [r for r in chunk_read if r[1] not in unreadable] if unreadable else chunk_read
        if obs_chunk:
            store.append(StoreBatch(observations=_obs_batch(obs_chunk)))
        loaded_obs += len(chunk_read)
        report(LoadProgress(True, loaded_tx, loaded_obs, counts.observations))
    final = LoadProgress(False, loaded_tx, loaded_obs, counts.observations)
    report(final)
    # Loading builds millions of short-lived row tuples (~120 MB of freed heap at the
    # staging profile): returned, which also makes every later fork cheaper.
    return_freed_memory()
    return final


def _decode_row(
    rec: packets.TxRecord, keys: ChannelKeys | None, regions: RegionKeys | None
) -> TxRow | None:
    db_id, content_hash, raw, first_seen_ms, _last_seen_ms = rec
    try:
        packet = decode_packet(raw, keys, validate_signatures=False, regions=regions)
    except DecodeError as err:  # stored frames were accepted once; say which one broke
        log.error("transmission %d (%s) no longer decodes: %s", db_id, content_hash, err)
        return None
    return tx_row(packet, db_id, first_seen_ms)


def _obs_batch(chunk: list[packets.ObsRecord]) -> ObsBatch:
    cols = list(zip(*chunk, strict=True))
    return ObsBatch(
        db_id=np.array(cols[0], np.int64),
        tx_db_id=np.array(cols[1], np.int64),
        observer_rowid=np.array(cols[2], np.int64),
        ts_ms=np.array(cols[3], np.int64),
        snr_db=_absent_as_nan(cols[4]),
        rssi_dbm=_absent_as_nan(cols[5]),
        direction=np.array(cols[6], np.uint8),
        path_byte=np.array(cols[7], np.uint8),
        hop_width=np.array(cols[8], np.uint8),
        paths=list(cols[9]),
    )


def _absent_as_nan(values: tuple[float, ...]) -> npt.NDArray[np.float32]:
    """Stored NULLs arrive as +inf (see packets.iter_observations); the store uses NaN."""
    arr = np.array(values, np.float64)
    arr[np.isinf(arr)] = np.nan
    return arr.astype(np.float32)
