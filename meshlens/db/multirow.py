"""Multi-row statements: many rows in one `INSERT ... VALUES (...), (...)`, cut in runs.

One statement per run instead of one per row: the Python per row shrinks to flattening
its values, and SQLite steps a whole run with the GIL released once (docs/benchmarks.md,
import rate).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

# Rows per statement, a power of two: a batch is cut into power-of-two runs, so a dozen
# statement texts cover every batch size (and stay in the statement cache). 1024 rows of
# up to 31 values stay under SQLite's default limit of 32,766 variables.
CHUNK_ROWS = 1024
_statements: dict[tuple[str, int], str] = {}

Row = TypeVar("Row", bound=tuple[Any, ...])


def chunked(
    rows: Sequence[Row], head: str, one: str, tail: str
) -> Iterator[tuple[Sequence[Row], str]]:
    """Cut `rows` into power-of-two runs, each with its statement `head (one),(one)... tail`."""
    start, n = 0, len(rows)
    while start < n:
        k = CHUNK_ROWS
        while k > n - start:
            k //= 2
        sql = _statements.get((head, k))
        if sql is None:
            sql = _statements[(head, k)] = head + ",".join([one] * k) + tail
        yield rows[start : start + k], sql
        start += k
