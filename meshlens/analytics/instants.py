"""RFC3339 text for many instants at once, as `meshlens.times.iso_seconds` writes one."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from meshlens.times import iso_seconds

# Years 1970..9999 (unix ms): where numpy's datetime text and strftime agree exactly.
_VECTOR_MS = (0, 253_402_300_800_000)


def iso_seconds_many(ms: Sequence[int]) -> list[str]:
    """`iso_seconds` of many instants at once (numpy formats them in one call)."""
    values = np.asarray(ms, np.int64)
    if values.size == 0:
        return []
    if int(values.min()) < _VECTOR_MS[0] or int(values.max()) >= _VECTOR_MS[1]:
        return [iso_seconds(int(v)) for v in values.tolist()]
    # Whole seconds by floor division, as the datetime arithmetic of iso_seconds gives.
    seconds = (values // 1000).astype("datetime64[s]")
    return [f"{text}Z" for text in np.datetime_as_string(seconds, unit="s").tolist()]
