"""Which rows a query covers: the region rule (§1.5) and time windows (§1.6), as masks."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from meshlens.analytics.query import Query
from meshlens.store.snapshot import Snapshot

Mask = npt.NDArray[np.bool_]


def region_observers(snap: Snapshot, query: Query) -> npt.NDArray[np.int32] | None:
    """Store indexes of the observers whose IATA is in the query's region.

    None means "no region filter": no region asked, or (§1.5 quirk kept on purpose) a
    region that matches no observer, which the reference API answers with global data.
    """
    if not query.region:
        return None
    idx = [i for i, o in enumerate(snap.observers) if o.iata.strip().upper() in query.region]
    return np.array(idx, np.int32) if idx else None


def observations_in_region(snap: Snapshot, observers: npt.NDArray[np.int32]) -> Mask:
    """Observations made by one of `observers`."""
    # A lookup table over the few observers beats np.isin's sort on millions of rows.
    chosen = np.zeros(len(snap.observers), np.bool_)
    chosen[observers] = True
    return chosen[snap.obs.observer]


def transmissions_in_region(snap: Snapshot, observers: npt.NDArray[np.int32]) -> Mask:
    """Transmissions heard by at least one of `observers`."""
    mask = np.zeros(len(snap.tx), np.bool_)
    mask[snap.obs.tx[observations_in_region(snap, observers)]] = True
    return mask


def within(times_ms: npt.NDArray[np.int64], query: Query) -> Mask:
    """Times inside the query's window; both ends inclusive (§1.6)."""
    mask = np.ones(times_ms.shape[0], np.bool_)
    if query.since_ms is not None:
        mask &= times_ms >= query.since_ms
    if query.until_ms is not None:
        # Bounds are whole seconds; a time within the last second still counts.
        mask &= times_ms < query.until_ms + 1000
    return mask


def transmissions_in_scope(snap: Snapshot, query: Query) -> Mask:
    """The common rule of topology and channels: window on first_seen, any region observer."""
    mask = within(snap.tx.first_seen_ms, query)
    observers = region_observers(snap, query)
    if observers is not None:
        mask &= transmissions_in_region(snap, observers)
    return mask
