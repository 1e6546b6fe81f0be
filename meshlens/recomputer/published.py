"""What a recomputer publishes: encoded bytes with their ETag, stamped with when and from what.

A compute is encoded once (`render`, usually inside the compute child so the parent never
spends its GIL on JSON), and a read serves the stored bytes as they are. Nothing here is
ever mutated after construction: readers on any thread share the same object.
"""

from __future__ import annotations

import gzip
import hashlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

# ISA-L gzips 3-6x as fast as zlib at about its ratio: a fifth of a staging compute round
# was zlib (docs/benchmarks.md, "A cheaper round"). It is built for x86-64 and 64-bit ARM
# (pyproject.toml); elsewhere the stdlib's zlib does the same job, slower.
_isal_compress: Callable[..., bytes] | None
try:
    from isal.igzip import compress as _isal_compress
except ImportError:
    _isal_compress = None

# Published bodies: ISA-L's level 3 (its highest) gzips a staging round's nine bodies
# (3.3 MB of JSON) to 786 KB in 11 ms; zlib's default level 6 took 60 ms for 755 KB.
GZIP_LEVEL = 3 if _isal_compress is not None else 6
# Below about one TCP segment gzip saves no round trip, only CPU on both ends.
GZIP_MIN_BYTES = 1400
# Keep the gzip variant only when it is clearly smaller; a near-tie costs the client CPU.
GZIP_MAX_RATIO = 0.9


def gzip_compress(body: bytes, level: int) -> bytes:
    """The body as gzip at `level`, deterministic (mtime 0: same body, same bytes)."""
    if _isal_compress is not None:
        return _isal_compress(body, compresslevel=level, mtime=0)
    return gzip.compress(body, compresslevel=level, mtime=0)


def etag_of(body: bytes) -> str:
    """A strong ETag (with its quotes) derived from the body: same bytes, same tag."""
    # blake2b releases the GIL on large inputs and runs at ~1 GB/s; 128 bits never collide
    # in practice, and the tag is a cache validator, not a security boundary.
    return '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'


def gzip_variant(body: bytes) -> bytes | None:
    """The body gzipped, or None when compressing would not help."""
    if len(body) < GZIP_MIN_BYTES:
        return None
    packed = gzip_compress(body, GZIP_LEVEL)
    return packed if len(packed) <= len(body) * GZIP_MAX_RATIO else None


class LazyExtra(Mapping[str, bytes], ABC):
    """Side outputs made when a key is read: for many keys that are read one at a time.

    Sent from the compute child as it is (so it must pickle), kept in `Published.extra`,
    and never mutated; reading a key may cost a little CPU, never a compute.
    """

    @property
    @abstractmethod
    def size_bytes(self) -> int:
        """About how many bytes it holds (what a cache bounded in bytes counts)."""


@dataclass(frozen=True, slots=True)
class Rendered:
    """An encoded compute result: the body, its ETag, its gzip variant and side outputs."""

    body: bytes
    etag: str
    gzip_body: bytes | None = None
    # Side outputs keyed by name (e.g. one body per node): a plain dict, or a LazyExtra;
    # either pickles across the compute child's pipe, typed read-only so nobody mutates it.
    extra: Mapping[str, bytes] = field(default_factory=dict)


def render(body: bytes, extra: Mapping[str, bytes] | None = None) -> Rendered:
    """Wrap an encoded body: compute its ETag and, when it helps, its gzip variant."""
    return Rendered(
        body=body,
        etag=etag_of(body),
        gzip_body=gzip_variant(body),
        extra=extra if isinstance(extra, LazyExtra) else dict(extra) if extra else {},
    )


@dataclass(frozen=True, slots=True)
class Published:
    """One immutable snapshot of an analytic as served: bytes plus when and from what."""

    body: bytes
    etag: str
    computed_at_ms: int  # wall time the compute started: the data is at least this fresh
    generation: int  # store generation read before the compute (0 when not tracked)
    duration_s: float
    extra: Mapping[str, bytes] = field(default_factory=dict)
    gzip_body: bytes | None = None

    @classmethod
    def stamp(
        cls, rendered: Rendered, *, computed_at_ms: int, generation: int, duration_s: float
    ) -> Published:
        """Publish a rendered result with the recomputer's stamps."""
        return cls(
            body=rendered.body,
            etag=rendered.etag,
            computed_at_ms=computed_at_ms,
            generation=generation,
            duration_s=duration_s,
            extra=rendered.extra,
            gzip_body=rendered.gzip_body,
        )

    def age_s(self, now_ms: int) -> float:
        """Seconds since the compute started (never negative)."""
        return max(0.0, (now_ms - self.computed_at_ms) / 1000.0)

    @property
    def size_bytes(self) -> int:
        """Bytes held by this snapshot (body, gzip variant and side outputs)."""
        gz = len(self.gzip_body) if self.gzip_body is not None else 0
        if isinstance(self.extra, LazyExtra):  # counting its items would make them all
            return len(self.body) + gz + self.extra.size_bytes
        return len(self.body) + gz + sum(len(k) + len(v) for k, v in self.extra.items())
