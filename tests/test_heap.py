"""heap: the pages of freed heap memory go back to the operating system."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from meshlens import heap


def _rss_anon_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("RssAnon:"):
            return int(line.split()[1])
    raise AssertionError("no RssAnon in /proc/self/status")


def _free_in_the_middle_of_an_arena(freed: list[int], pinned: list[bytearray]) -> None:
    """64 MB in 64 KB blocks (below glibc's mmap threshold), each followed by a small
    block that is kept, so no freed one is at the arena's top; then the big ones freed."""
    blocks: list[bytearray] = []
    for _ in range(1024):
        blocks.append(bytearray(64 * 1024))  # zeroed, so its pages are resident
        pinned.append(bytearray(1024))  # above pymalloc's 512 bytes: the same arena
    before = _rss_anon_kb()
    del blocks
    freed.append(before - _rss_anon_kb())


@pytest.mark.skipif(heap._TRIM is None, reason="glibc's malloc_trim only")
def test_freed_memory_kept_by_a_threads_arena_is_given_back() -> None:
    freed: list[int] = []
    pinned: list[bytearray] = []
    worker = threading.Thread(target=_free_in_the_middle_of_an_arena, args=(freed, pinned))
    worker.start()
    worker.join()
    kept = _rss_anon_kb()
    heap.return_freed_memory()
    returned_kb = kept - _rss_anon_kb()
    assert freed[0] < 16 * 1024  # glibc kept (nearly) all of it when it was freed
    assert returned_kb > 48 * 1024  # and gives back (nearly) all of it now
