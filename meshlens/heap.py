"""glibc's heap: give the pages of freed memory back to the operating system.

glibc keeps freed memory in the arena it came from for that arena to reuse, and gives
back on its own only what ends up at an arena's top. A process whose threads come and
go (each round of computes is read by a new thread, which glibc may give another arena)
keeps every arena's freed peak: RssAnon grew 255 -> 475 MB in 300 s of back-to-back
recomputes at the staging profile, in thirteen arenas of 10-20 MB (docs/benchmarks.md,
session 33). `malloc_trim(0)` gives every arena's free pages back.

C functions are looked up once, at import (`libc_function`), so that a forked child
never dlopens: another thread may hold the loader's lock at the fork.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable


def libc_function(name: str) -> Callable[..., int] | None:
    """`name` from the C library this process runs on (None where it has none such)."""
    try:
        function: Callable[..., int] = getattr(ctypes.CDLL(None), name)
    except (OSError, AttributeError):  # not glibc (musl, macOS), or not Linux
        return None
    return function


_TRIM = libc_function("malloc_trim")


def return_freed_memory() -> None:
    """Give the pages of every arena's free memory back (ctypes drops the GIL meanwhile).

    A no-op where glibc is absent.
    """
    if _TRIM is not None:
        _TRIM(0)
