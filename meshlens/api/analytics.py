"""The analytics of the registry, served generically: snapshots, filtered shapes, details.

Default shape: the recomputer's latest `Published`, behind the warm-up gate (decision 12:
all nine analytics are gated until a pass over the complete store). Filtered shapes
(region, window): one bounded single-flight cache per TTL setting, keyed by analytic and
shape, computed on the runner and never on the event loop. An analytic whose compute has
not landed answers 501. Nothing here knows any particular analytic.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping

from meshlens.analytics.query import Query, parse_query
from meshlens.analytics.registry import Analytic
from meshlens.api.recompute import render_analytic
from meshlens.api.responses import Representation
from meshlens.config import SETTINGS, Settings
from meshlens.errors import NotBuiltError, NotFoundError, NotReadyError
from meshlens.recomputer import (
    OnDemandCache,
    OnDemandStats,
    Published,
    RecomputerSet,
    Runner,
    SnapshotBoard,
    published_size,
)
from meshlens.records import Clock
from meshlens.store.store import PacketStore

RETRY_AFTER_S = 5  # analytics-part-b §7.6: what the reference system's clients expect
FILTERED_MAX_ENTRIES = 256
FILTERED_MAX_BYTES = 32 << 20
# Details served recently, decompressed with their validators (a lookup on a repeat);
# per-node clock skew bodies are ~15-40 KB, so this holds a few MB at most.
DETAIL_CACHE_ENTRIES = 128


class MissingDetailError(NotFoundError):
    """A detail route's key has no entry; the message is the registry's own."""

    def __init__(self, message: str, key: str) -> None:
        super().__init__(message, key)
        self.args = (message,)


def ttl_of(settings: Settings, ttl_setting: str) -> float:
    """The value of `cacheTTL.<ttl_setting>`, found through the settings registry."""
    key = f"cacheTTL.{ttl_setting}"
    for row in SETTINGS:
        if row.key == key:
            value: object = settings
            for part in row.attr.split("."):
                value = getattr(value, part)
            assert isinstance(value, int | float), key
            return float(value)
    raise KeyError(f"unknown cache TTL setting {key!r}")


class AnalyticsService:
    """Answers for every analytic in the registry; all methods run on the event loop."""

    def __init__(
        self,
        analytics: Iterable[Analytic],
        *,
        board: SnapshotBoard,
        recomputers: RecomputerSet,
        store: PacketStore,
        runner: Runner,
        clock: Clock,
        settings: Settings,
    ) -> None:
        self.analytics = tuple(analytics)
        self.by_name: Mapping[str, Analytic] = {a.name: a for a in self.analytics}
        self._board = board
        self._recomputers = recomputers
        self._store = store
        self._runner = runner
        self._clock = clock
        self._settings = settings
        self._blacklist = frozenset(settings.node_blacklist)
        self._ready: set[str] = set()
        # name -> (the Published it was built from, its Representation)
        self._prepared: dict[str, tuple[Published, Representation]] = {}
        self._details: OrderedDict[tuple[str, str], tuple[Published, Representation]] = (
            OrderedDict()
        )
        self._ttl_s = {a.ttl_setting: ttl_of(settings, a.ttl_setting) for a in self.analytics}
        self._caches: dict[str, OnDemandCache[Published]] = {}
        self.reset_filtered()

    # --- default shape -----------------------------------------------------------------

    def max_age_s(self, analytic: Analytic) -> int:
        """Cache-Control max-age of the default shape: the analytic's interval."""
        return int(self._recomputers[analytic.name].interval_s) or 1

    def is_ready(self, name: str) -> bool:
        """True once `name` may serve its default shape; it never goes back."""
        if name in self._ready:
            return True
        if self._recomputers.is_ready(name):
            self._ready.add(name)
            return True
        return False

    def snapshot(self, analytic: Analytic) -> Representation:
        """The default shape's latest snapshot, prepared for serving."""
        if analytic.compute is None:
            raise NotBuiltError(analytic.name)
        published = self._board.load(analytic.name) if self.is_ready(analytic.name) else None
        if published is None:
            raise NotReadyError(RETRY_AFTER_S)
        prepared = self._prepared.get(analytic.name)
        if prepared is None or prepared[0] is not published:
            prepared = (published, Representation.of(published, self.max_age_s(analytic)))
            self._prepared[analytic.name] = prepared
        return prepared[1]

    def stale_s(self, analytic: Analytic) -> float | None:
        """The snapshot's age when it is past the analytic's maximum staleness, else None."""
        recomputer = self._recomputers[analytic.name]
        if not recomputer.is_stale():
            return None
        published = recomputer.load()
        return None if published is None else published.age_s(self._clock.now_ms())

    def detail(self, analytic: Analytic, key: str) -> Representation:
        """One key's side output of the default shape (e.g. one node's clock skew)."""
        if analytic.detail is None:
            raise NotFoundError("route", analytic.name)
        if analytic.compute is None:
            raise NotBuiltError(analytic.name)
        published = self._board.load(analytic.name) if self.is_ready(analytic.name) else None
        if published is None:
            raise NotReadyError(RETRY_AFTER_S)
        wanted = key.strip().lower()
        cache_key = (analytic.name, wanted)
        found = self._details.get(cache_key)
        if found is not None and found[0] is published:
            self._details.move_to_end(cache_key)
            return found[1]
        compressed = published.extra.get(wanted)
        if compressed is None:
            raise MissingDetailError(analytic.detail.not_found, key)
        rep = Representation.detail(compressed, published, self.max_age_s(analytic))
        self._details[cache_key] = (published, rep)
        self._details.move_to_end(cache_key)
        while len(self._details) > DETAIL_CACHE_ENTRIES:
            self._details.popitem(last=False)
        return rep

    # --- any shape ---------------------------------------------------------------------

    def query(self, analytic: Analytic, params: Mapping[str, str]) -> Query:
        """The shape a request asks for; QueryError names a malformed parameter."""
        return parse_query(
            params,
            now_ms=self._clock.now_ms(),
            accepts=analytic.params,
            node_blacklist=self._blacklist,
        )

    async def represent(
        self, analytic: Analytic, params: Mapping[str, str]
    ) -> tuple[Representation, float | None]:
        """The body for any shape, and its staleness (only defaults can be stale)."""
        if analytic.compute is None:
            raise NotBuiltError(analytic.name)
        query = self.query(analytic, params)
        if query.is_default:
            return self.snapshot(analytic), self.stale_s(analytic)
        return await self.filtered(analytic, query), None

    async def filtered(self, analytic: Analytic, query: Query) -> Representation:
        """A filtered shape through its single-flight cache; computed on the runner."""
        ttl_s = self._ttl_s[analytic.ttl_setting]
        cache = self._caches[analytic.ttl_setting]
        key = (analytic.name, query.cache_key())
        published = await cache.get(key, functools.partial(self._compute, analytic, query))
        return Representation.of(published, max(1, int(ttl_s)))

    async def _compute(self, analytic: Analytic, query: Query) -> Published:
        snapshot = self._store.snapshot()
        started_ms = self._clock.now_ms()
        started_s = time.perf_counter()
        job = functools.partial(render_analytic, analytic, snapshot, query)
        rendered = await asyncio.wrap_future(self._runner.submit(job))
        return Published.stamp(
            rendered,
            computed_at_ms=started_ms,
            generation=snapshot.generation,
            duration_s=time.perf_counter() - started_s,
        )

    def reset_filtered(self) -> None:
        """Forget every filtered result (at the end of loading: they saw a partial store)."""
        self._caches = {
            a.ttl_setting: OnDemandCache(
                ttl_s=self._ttl_s[a.ttl_setting],
                size_of=published_size,
                max_entries=FILTERED_MAX_ENTRIES,
                max_bytes=FILTERED_MAX_BYTES,
                clock=self._clock,
            )
            for a in self.analytics
        }

    def filtered_stats(self) -> dict[str, OnDemandStats]:
        """Counters of each filtered-shape cache, by TTL setting."""
        return {name: cache.stats() for name, cache in self._caches.items()}
