"""What a transmission's sightings add up to: first and last seen, count, best observation.

These are the only transmission columns that change after their row is appended, so the
store copies them on write for each append instead of changing arrays readers hold.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

# Per-transmission values that later observations change (copied on write per append).
TX_MUTABLE = ("first_seen_ms", "last_seen_ms", "best_obs", "obs_count")


def new_rows(first_seen_ms: npt.NDArray[np.int64]) -> dict[str, npt.NDArray[Any]]:
    """The mutable values of new transmissions first seen at `first_seen_ms`, no sighting yet."""
    n = first_seen_ms.shape[0]
    return {  # one array for both: they are only ever read, by `grown`'s concatenation
        "first_seen_ms": first_seen_ms,
        "last_seen_ms": first_seen_ms,
        "best_obs": np.full(n, -1, np.int32),
        "obs_count": np.zeros(n, np.int32),
    }


def grown(
    mutable: Mapping[str, npt.NDArray[Any]], added: Mapping[str, npt.NDArray[Any]]
) -> dict[str, npt.NDArray[Any]]:
    """New copies of `mutable` with the rows `added` (may be empty) after their own."""
    if not added:
        return {name: mutable[name].copy() for name in TX_MUTABLE}
    return {name: np.concatenate([mutable[name], added[name]]) for name in TX_MUTABLE}


def fold_sightings(
    mutable: Mapping[str, npt.NDArray[Any]],
    obs_path_len: npt.NDArray[np.uint8],
    *,
    added: Mapping[str, npt.NDArray[Any]],
    tx_rows: npt.NDArray[np.int64],
    ts_ms: npt.NDArray[np.int64],
    path_len: npt.NDArray[np.uint8],
    first_obs: int,
) -> dict[str, npt.NDArray[Any]]:
    """New copies of `mutable`, its new rows `added` appended, with observations folded in.

    The observations are first_obs... (of `tx_rows`). `obs_path_len` is the whole
    observation column, the batch already in it, so any current best row can be looked
    up. Each column is copied once a batch: at the staging scale, copying them twice
    (once to grow, once to fold) was a quarter of the ingest thread's busy samples in a
    profile of the live server (docs/benchmarks.md, session 19).
    """
    columns = grown(mutable, added)
    first, last = columns["first_seen_ms"], columns["last_seen_ms"]
    count, best = columns["obs_count"], columns["best_obs"]
    # protocol §6.2: first_seen is lowered by an earlier sighting, last_seen raised.
    np.minimum.at(first, tx_rows, ts_ms)
    np.maximum.at(last, tx_rows, ts_ms)
    np.add.at(count, tx_rows, 1)
    # Best observation: most hops; on a tie the earliest keeps it.
    obs_rows = np.arange(first_obs, first_obs + tx_rows.shape[0], dtype=np.int64)
    order = np.lexsort((obs_rows, -path_len.astype(np.int64), tx_rows))
    sorted_tx = tx_rows[order]
    lead = np.ones(order.shape[0], bool)
    lead[1:] = sorted_tx[1:] != sorted_tx[:-1]
    cand_tx = sorted_tx[lead]
    cand_obs = obs_rows[order][lead]
    cand_len = path_len[order][lead].astype(np.int64)
    current = best[cand_tx]
    known_len = obs_path_len[np.maximum(current, 0)].astype(np.int64)
    current_len = np.where(current >= 0, known_len, -1)
    wins = cand_len > current_len
    best[cand_tx[wins]] = cand_obs[wins]
    return {"first_seen_ms": first, "last_seen_ms": last, "obs_count": count, "best_obs": best}
