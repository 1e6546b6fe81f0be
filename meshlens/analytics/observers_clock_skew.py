"""Observer clock skew: each observer's offset from its peers (analytics-part-b §4).

An observer that hears an advert also heard by others is compared with the median
time they heard it; its offset is the median of those deviations. A positive offset
means the observer's clock runs ahead. Observers never heard on a shared advert have
no row.
"""

from __future__ import annotations

from meshlens.analytics.clockskew.samples import engine_of
from meshlens.analytics.query import Query
from meshlens.analytics.stats import round1
from meshlens.records import JSONValue
from meshlens.store.snapshot import Snapshot


def compute(snap: Snapshot, query: Query) -> list[JSONValue]:
    """The /api/observers/clock-skew body: by |offsetSec| descending, then observerID."""
    del query  # no parameters; the engine does not depend on the time
    calibration = engine_of(snap).calibration
    rows = [
        (round1(offset), snap.observers[idx].id, samples)
        for idx, offset, samples in zip(
            calibration.observer.tolist(),
            calibration.offset_s.tolist(),
            calibration.samples.tolist(),
            strict=True,
        )
    ]
    rows.sort(key=lambda r: (-abs(r[0]), r[1]))
    return [{"observerID": oid, "offsetSec": off, "samples": n} for off, oid, n in rows]
