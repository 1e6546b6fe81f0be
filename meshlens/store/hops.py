"""Interning of path hops: each distinct hop prefix gets one small integer id.

Paths arrive as raw hop bytes. Hops of 1-3 bytes (every ordinary path) are keyed and
interned with vectorised numpy work, so only each *distinct* hop costs Python time;
the rare 4- and 8-byte TRACE route hops take a plain loop.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from meshlens.store.columns import BoundedIntern, InternTable

_VECTOR_WIDTHS = (1, 2, 3)


def hop_key(hop: bytes) -> int:
    """The intern key of a hop: width and big-endian value, in disjoint ranges per width."""
    width = len(hop)
    value = int.from_bytes(hop, "big")
    if width <= 3:
        return (width << 24) | value
    return (width << 64) | value


class HopTable:
    """Hop key -> id, and id -> upper-case hex (the path_json spelling)."""

    __slots__ = ("_dense", "_table")

    def __init__(self) -> None:
        self._table: InternTable[int, str] = InternTable()
        # 1- and 2-byte hops (nearly all of them) map through dense value -> id arrays,
        # so interning millions of hops is one gather instead of a sort.
        self._dense = {1: np.full(1 << 8, -1, np.int32), 2: np.full(1 << 16, -1, np.int32)}

    def __len__(self) -> int:
        return len(self._table)

    def bounded(self) -> BoundedIntern[int, str]:
        """Read-only view for a snapshot."""
        return self._table.bounded()

    def intern_hop(self, hop: bytes) -> int:
        """The id of one hop."""
        return self._table.intern(hop_key(hop), hop.hex().upper())

    def intern_paths(
        self, paths: Sequence[bytes], widths: npt.NDArray[np.uint8]
    ) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.uint8]]:
        """Intern every hop of every path; returns flat hop ids and hops per path."""
        n = len(paths)
        lengths = np.fromiter(map(len, paths), np.int64, n)
        w = np.maximum(widths.astype(np.int64), 1)
        counts = lengths // w
        total = int(counts.sum())
        ids = np.empty(total, np.int32)
        if total == 0:
            return ids, counts.astype(np.uint8)
        flat = np.frombuffer(b"".join(paths), np.uint8)
        path_start = np.cumsum(lengths) - lengths
        hop_path = np.repeat(np.arange(n), counts)
        hop_first = np.cumsum(counts) - counts
        hop_index = np.arange(total) - np.repeat(hop_first, counts)
        hop_w = w[hop_path]
        hop_start = path_start[hop_path] + hop_index * hop_w
        vector = hop_w <= 3
        if vector.any():
            starts = hop_start[vector]
            widths_v = hop_w[vector]
            value = flat[starts].astype(np.int64)
            for k in (1, 2):
                more = widths_v > k
                value[more] = (value[more] << 8) | flat[starts[more] + k]
            ids[vector] = self._intern_values(widths_v, value)
        if not vector.all():
            raw = flat.tobytes()
            for pos in np.flatnonzero(~vector):
                start, width = int(hop_start[pos]), int(hop_w[pos])
                ids[pos] = self.intern_hop(raw[start : start + width])
        return ids, counts.astype(np.uint8)

    def _intern_values(
        self, widths: npt.NDArray[np.int64], values: npt.NDArray[np.int64]
    ) -> npt.NDArray[np.int32]:
        """Ids of hops given as (width 1-3, big-endian value) pairs."""
        out = np.empty(values.shape[0], np.int32)
        for width, table in self._dense.items():
            mask = widths == width
            if not mask.any():
                continue
            wanted = values[mask]
            got = table[wanted]
            unknown = got < 0
            if unknown.any():
                for value in np.unique(wanted[unknown]).tolist():
                    key = (width << 24) | value
                    table[value] = self._table.intern(key, _hex(key))
                got = table[wanted]
            out[mask] = got
        wide = widths == 3
        if wide.any():
            keys = (3 << 24) | values[wide]
            uniq, inverse = np.unique(keys, return_inverse=True)
            uniq_ids = np.fromiter(
                (self._table.intern(int(k), _hex(int(k))) for k in uniq), np.int32, uniq.size
            )
            out[wide] = uniq_ids[inverse]
        return out


def _hex(key: int) -> str:
    width = key >> 24
    return f"{key & 0xFFFFFF:0{2 * width}X}"


class HopUsage:
    """Per hop id: held by some TRACE path, and by some other path (kept at append).

    Multi-byte capability asks which 2- and 3-byte hops only ever occur as TRACE route
    hops (#714); answering from the columns means scanning millions of path hops per
    compute. Both facts only turn true as batches arrive, so the writer marks them per
    batch; a prune (retention) rebuilds them from the kept rows. Each change makes new
    arrays (one byte per distinct hop), so a snapshot's never change.
    """

    __slots__ = ("in_other", "in_trace")

    def __init__(self) -> None:
        self.in_trace: npt.NDArray[np.bool_] = np.zeros(0, np.bool_)
        self.in_other: npt.NDArray[np.bool_] = np.zeros(0, np.bool_)

    def add(
        self, hop_ids: npt.NDArray[np.integer[Any]], trace: npt.NDArray[np.bool_], size: int
    ) -> None:
        """Mark the hops of one batch (`trace`: per hop, its path is a TRACE's)."""
        self.in_trace = _marked(self.in_trace, hop_ids[trace], size)
        self.in_other = _marked(self.in_other, hop_ids[~trace], size)


def _marked(
    current: npt.NDArray[np.bool_], ids: npt.NDArray[np.integer[Any]], size: int
) -> npt.NDArray[np.bool_]:
    """`current` grown to `size` with `ids` set: the same array when nothing changes."""
    if current.shape[0] == size and (ids.size == 0 or current[ids].all()):
        return current
    out = np.zeros(size, np.bool_)
    out[: current.shape[0]] = current
    out[ids] = True
    out.flags.writeable = False
    return out
