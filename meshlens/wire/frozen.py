"""Fast construction of frozen slots dataclasses for the decoder's hot path.

A frozen dataclass sets each field through `object.__setattr__`, which costs ~0.25 µs per
field on the reference machine: more than the rest of a frame's decoding. `constructor`
builds the same object through a mutable twin class with the identical slot layout (plain
slot stores) and then switches its `__class__`, which CPython allows between classes of
identical layout. The result is an ordinary instance of the frozen class.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def constructor(cls: type[T]) -> Callable[..., T]:
    """A positional constructor for frozen slots dataclass `cls` (every field, in order)."""
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    names = tuple(f.name for f in fields)
    if getattr(cls, "__slots__", None) != names or any(not f.init for f in fields):
        raise TypeError(f"{cls.__name__} must be a slots dataclass whose fields are all init")
    twin: type[Any] = dataclasses.make_dataclass(
        f"_{cls.__name__}Builder", names, slots=True, eq=False, repr=False
    )

    def build(*values: Any) -> T:
        obj = twin(*values)
        obj.__class__ = cls
        return obj  # type: ignore[no-any-return]

    build.__doc__ = f"Build a {cls.__name__} from its fields, positionally."
    return build
