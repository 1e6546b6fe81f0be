"""Append-only numpy columns and append-only intern tables, safe to read without a lock.

One writer appends; readers hold prefixes. A reader's prefix never changes under it:
appends write only past every prefix handed out, and growth allocates a new buffer,
leaving the old one to the readers that still hold it.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator, Sequence
from typing import Any, Generic, TypeVar

import numpy as np
import numpy.typing as npt

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def frozen(array: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """A read-only view of `array` (the buffer stays writable for its owner)."""
    view = array.view()
    view.flags.writeable = False
    return view


class Column:
    """A growable one-dimensional numpy array with one writer; capacity doubles."""

    __slots__ = ("_data", "_size")

    def __init__(self, dtype: npt.DTypeLike, capacity: int = 1024) -> None:
        self._data: npt.NDArray[Any] = np.empty(max(capacity, 16), dtype=dtype)
        self._size = 0

    def __len__(self) -> int:
        return self._size

    @staticmethod
    def of(values: npt.NDArray[Any], dtype: npt.DTypeLike | None = None) -> Column:
        """A new column holding `values` (with room to grow by a quarter)."""
        column = Column(dtype or values.dtype, values.shape[0] + values.shape[0] // 4)
        column.append(values)
        return column

    @property
    def dtype(self) -> np.dtype[Any]:
        """The element type."""
        return self._data.dtype

    def append(self, values: npt.ArrayLike) -> None:
        """Append values; rows already handed to readers are never touched."""
        arr = np.asarray(values, dtype=self._data.dtype)
        need = self._size + arr.shape[0]
        if need > self._data.shape[0]:
            capacity = self._data.shape[0]
            while capacity < need:
                capacity *= 2
            grown = np.empty(capacity, dtype=self._data.dtype)
            grown[: self._size] = self._data[: self._size]
            # Readers keep the old buffer alive through their views; we never write to it again.
            self._data = grown
        self._data[self._size : need] = arr
        self._size = need

    def widen(self, dtype: npt.DTypeLike) -> None:
        """Change the element type to a wider one (a copy; readers keep the old buffer)."""
        wider = np.empty(self._data.shape[0], dtype=dtype)
        wider[: self._size] = self._data[: self._size]
        self._data = wider

    def view(self) -> npt.NDArray[Any]:
        """A read-only view of the rows appended so far."""
        return frozen(self._data[: self._size])


class InternTable(Generic[K, V]):
    """An append-only mapping key -> dense id, with the value stored per id.

    Lookups from readers pass the id bound of their snapshot, so keys added later are
    invisible to them. CPython dict and list operations are atomic under the GIL, which is
    what makes sharing the live containers safe here.
    """

    __slots__ = ("_ids", "_values")

    def __init__(self) -> None:
        self._ids: dict[K, int] = {}
        self._values: list[V] = []

    def __len__(self) -> int:
        return len(self._values)

    def intern(self, key: K, value: V) -> int:
        """The id of `key`, adding it with `value` when new."""
        found = self._ids.get(key)
        if found is not None:
            return found
        new_id = len(self._values)
        self._values.append(value)
        self._ids[key] = new_id
        return new_id

    def bounded(self) -> BoundedIntern[K, V]:
        """A read-only view of the ids assigned so far."""
        return BoundedIntern(self._ids, self._values, len(self._values))


class BoundedIntern(Sequence[V], Generic[K, V]):
    """An intern table as of one moment: ids >= `size` do not exist for this reader."""

    __slots__ = ("_ids", "_size", "_values")

    def __init__(self, ids: dict[K, int], values: list[V], size: int) -> None:
        self._ids = ids
        self._values = values
        self._size = size

    def __len__(self) -> int:
        return self._size

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return self._values[: self._size][index]
        if index < 0:
            index += self._size
        if not 0 <= index < self._size:
            raise IndexError(index)
        return self._values[index]

    def __iter__(self) -> Iterator[V]:
        values = self._values
        for i in range(self._size):
            yield values[i]

    def id_of(self, key: K) -> int | None:
        """The id of `key`, or None when it was not known at this moment."""
        found = self._ids.get(key)
        if found is None or found >= self._size:
            return None
        return found


def empty_intern() -> BoundedIntern[Any, Any]:
    """An intern view with nothing in it."""
    return BoundedIntern({}, [], 0)


class HashIndex:
    """Content hash (as uint64) -> row, for one writer and bounded readers.

    Most keys live in two sorted numpy arrays searched by bisection; the few added since
    the last merge sit in a small dict. Keeping hundreds of thousands of keys out of
    Python objects saves their memory and, more, the heap fragmentation long-lived small
    objects cause when they are created among the load's short-lived ones.
    """

    __slots__ = ("_keys", "_recent", "_rows")

    def __init__(self) -> None:
        self._keys: npt.NDArray[np.uint64] = np.empty(0, np.uint64)
        self._rows: npt.NDArray[np.int64] = np.empty(0, np.int64)
        self._recent: dict[int, int] = {}

    def __len__(self) -> int:
        return int(self._keys.shape[0]) + len(self._recent)

    def get(self, key: int) -> int | None:
        """The row of `key` for the writer (no bound)."""
        found = self._recent.get(key)
        if found is not None:
            return found
        return _bisect(self._keys, self._rows, key)

    def get_many(self, keys: list[int]) -> list[int]:
        """The rows of many keys for the writer, -1 where absent (one search, not one each)."""
        n = self._keys.shape[0]
        out = [-1] * len(keys)
        if n and keys:
            wanted = np.array(keys, np.uint64)
            at = np.minimum(np.searchsorted(self._keys, wanted), n - 1)
            hit = self._keys[at] == wanted
            out = np.where(hit, self._rows[at], -1).tolist()
        recent = self._recent
        if recent:
            for i, key in enumerate(keys):
                found = recent.get(key)
                if found is not None:
                    out[i] = found
        return out

    def extend(self, keys: npt.NDArray[np.uint64], rows: npt.NDArray[np.int64]) -> None:
        """Record new keys; rows only ever grow."""
        if keys.shape[0] <= 64:
            self._recent.update(zip(keys.tolist(), rows.tolist(), strict=True))
            if len(self._recent) <= max(1024, self._keys.shape[0] // 16):
                return
            keys = np.fromiter(self._recent.keys(), np.uint64, len(self._recent))
            rows = np.fromiter(self._recent.values(), np.int64, len(self._recent))
        else:
            keys = np.concatenate([keys, np.fromiter(self._recent, np.uint64, len(self._recent))])
            rows = np.concatenate(
                [rows, np.fromiter(self._recent.values(), np.int64, len(self._recent))]
            )
        all_keys = np.concatenate([self._keys, keys])
        order = np.argsort(all_keys, kind="stable")
        self._keys = all_keys[order]
        self._rows = np.concatenate([self._rows, rows])[order]
        # A new dict: readers holding the old one keep a consistent view of it.
        self._recent = {}

    def bounded(self, size: int) -> BoundedHashIndex:
        """A read-only view of the rows below `size`."""
        return BoundedHashIndex(self._keys, self._rows, self._recent, size)


class BoundedHashIndex:
    """A HashIndex as of one moment."""

    __slots__ = ("_keys", "_recent", "_rows", "_size")

    def __init__(
        self,
        keys: npt.NDArray[np.uint64],
        rows: npt.NDArray[np.int64],
        recent: dict[int, int],
        size: int,
    ) -> None:
        self._keys = keys
        self._rows = rows
        self._recent = recent
        self._size = size

    def get(self, key: int) -> int | None:
        """The row of `key`, or None when it did not exist at this moment."""
        found = self._recent.get(key)
        if found is None:
            found = _bisect(self._keys, self._rows, key)
        if found is None or found >= self._size:
            return None
        return found


def _bisect(keys: npt.NDArray[np.uint64], rows: npt.NDArray[np.int64], key: int) -> int | None:
    if not 0 <= key < 1 << 64:
        return None
    i = int(np.searchsorted(keys, np.uint64(key)))
    if i < keys.shape[0] and int(keys[i]) == key:
        return int(rows[i])
    return None


def empty_hash_index() -> BoundedHashIndex:
    """An index with nothing in it."""
    return BoundedHashIndex(np.empty(0, np.uint64), np.empty(0, np.int64), {}, 0)
