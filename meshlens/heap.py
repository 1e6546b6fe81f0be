"""glibc's heap: give the pages of freed memory back to the operating system.

glibc keeps freed memory in the arena it came from, for reuse by that arena, and gives
back only what ends up at an arena's top. A server whose threads come and go (a round's
result reader is a new thread each round, so each may get another arena) and whose
large temporaries outgrow glibc's raised mmap threshold then grows by the free memory
each arena keeps: ~220 MB in 400 s of back-to-back recomputes at the staging profile
(docs/benchmarks.md, session 33). `malloc_trim(0)` returns every arena's free pages.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Callable


def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's malloc_trim, looked up once at import (a forked child must not dlopen)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        trim: Callable[[int], int] = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None
    return trim


_TRIM = _malloc_trim()


def return_freed_memory() -> None:
    """Give the pages of every arena's free memory back (ctypes drops the GIL meanwhile).

    A no-op where glibc is absent.
    """
    if _TRIM is not None:
        _TRIM(0)
