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


class KeyIndex(Generic[K]):
    """An append-only key -> row map shared with readers, each bounded by its row count."""

    __slots__ = ("_rows",)

    def __init__(self) -> None:
        self._rows: dict[K, int] = {}

    def __len__(self) -> int:
        return len(self._rows)

    def get(self, key: K) -> int | None:
        """The row of `key` for the writer (no bound)."""
        return self._rows.get(key)

    def add(self, key: K, row: int) -> None:
        """Record a new key; rows only ever grow."""
        self._rows[key] = row

    def bounded(self, size: int) -> BoundedIndex[K]:
        """A read-only view of the rows below `size`."""
        return BoundedIndex(self._rows, size)


class BoundedIndex(Generic[K]):
    """A key -> row map as of one moment."""

    __slots__ = ("_rows", "_size")

    def __init__(self, rows: dict[K, int], size: int) -> None:
        self._rows = rows
        self._size = size

    def get(self, key: K) -> int | None:
        """The row of `key`, or None when it did not exist at this moment."""
        found = self._rows.get(key)
        if found is None or found >= self._size:
            return None
        return found


def empty_index() -> BoundedIndex[Any]:
    """An index with nothing in it."""
    return BoundedIndex({}, 0)
