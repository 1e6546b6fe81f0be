"""From the registry to running recomputers: one per analytic that has a compute.

Each recomputer's `produce` reads the time in this process and runs the compute, the
per-key details and the JSON encoding elsewhere, so only bytes come back
(`render_analytic`). Where: on a `ReplicaRunner`, the long-lived compute child that
follows the store (`StoreReplica` tells it every change), which computes on its own copy's
snapshot; or on any other runner, with the snapshot taken here (one attribute load; a
forked child must never touch the store's writer side).
"""

from __future__ import annotations

import functools
import pickle
from collections.abc import Callable, Iterable, Iterator, Mapping

import orjson

from meshlens.analytics.query import Query
from meshlens.analytics.registry import Analytic
from meshlens.config import Settings
from meshlens.recomputer import (
    LazyExtra,
    Pace,
    RecomputerSet,
    Rendered,
    ReplicaRunner,
    Runner,
    gzip_compress,
    produce_on,
    render,
)
from meshlens.records import Clock, JSONValue
from meshlens.store.batch import StoreBatch
from meshlens.store.snapshot import Snapshot
from meshlens.store.store import PacketStore

# Results that depend on "now" (recent windows, ages) change while the store does not;
# an unchanged store is still recomputed after this many intervals.
REFRESH_UNCHANGED_INTERVALS = 12
# Detail bodies are compressed once per compute, ~60 MB of JSON at the staging profile:
# level 1 takes ~50 ms of the compute child's time with ISA-L for 6.1 MB kept (zlib's
# level 1 ~150-210 ms for 6.0 MB, its level 6 ~570 ms for 4.5 MB).
DETAIL_GZIP_LEVEL = 1


def encode(value: JSONValue) -> bytes:
    """JSON bytes of a compute result; numpy scalars a kernel left in encode as numbers."""
    return orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY)


def render_analytic(analytic: Analytic, snapshot: Snapshot, query: Query) -> Rendered:
    """Compute, encode and render one analytic (runs on the runner: no I/O, no logging)."""
    if analytic.compute is None:
        raise ValueError(f"analytic {analytic.name!r} has no compute")
    value = analytic.compute(snapshot, query)
    body = encode(value)
    extra: Mapping[str, bytes] | None = None
    detail = analytic.detail
    # Details are served from the default shape only (AnalyticsService.detail), so a
    # filtered shape does not pay for them.
    if detail is not None and query.is_default:
        if detail.derive is not None:
            details = detail.derive(value)
        elif detail.compute is not None:
            details = detail.compute(snapshot, query)
        else:
            raise ValueError(f"detail of {analytic.name!r} has neither compute nor derive")
        if isinstance(details, dict):
            # Detail bodies are kept gzip-compressed: about a tenth of the JSON, and gzip
            # is what most clients receive anyway. See AnalyticsService.detail.
            extra = {key: compress_detail(encode(part)) for key, part in details.items()}
        else:  # a mapping that makes each body when read (NodeDetails): sent as it is
            extra = EncodedDetails(details)
    return render(body, extra)


class EncodedDetails(LazyExtra):
    """Details made when read: each key's body encoded and compressed (as a dict's would be).

    Per-node clock skew is ~40 KB of JSON a node, 60 MB at the staging profile: making,
    encoding and compressing all of it took ~180 ms of a ~700 ms round of CPU, for bodies
    read a node at a time (docs/benchmarks.md, "Node details made when read").
    """

    def __init__(self, details: Mapping[str, JSONValue]) -> None:
        self._details = details

    def __getitem__(self, key: str) -> bytes:
        return compress_detail(encode(self._details[key]))

    def __iter__(self) -> Iterator[str]:
        return iter(self._details)

    def __len__(self) -> int:
        return len(self._details)

    @property
    def size_bytes(self) -> int:
        """What it holds, as it crossed the pipe (only a cache bounded in bytes asks)."""
        return len(pickle.dumps(self._details, protocol=pickle.HIGHEST_PROTOCOL))


def compress_detail(body: bytes) -> bytes:
    """A detail body as stored in Published.extra (gzip, deterministic: no mtime)."""
    return gzip_compress(body, DETAIL_GZIP_LEVEL)


def default_query(settings: Settings, now_ms: int) -> Query:
    """The shape recomputers precompute: no region, no window."""
    return Query(now_ms=now_ms, node_blacklist=frozenset(settings.node_blacklist))


def _job(analytic: Analytic, prepared: tuple[Snapshot, Query]) -> Rendered:
    return render_analytic(analytic, *prepared)


def _replica_job(analytic: Analytic, store: PacketStore, query: Query) -> Rendered:
    # Runs in the replica child: `store` is the child's own copy, kept current by deltas.
    return render_analytic(analytic, store.snapshot(), query)


class StoreReplica:
    """A store listener that keeps a ReplicaRunner's copy of the store current."""

    def __init__(
        self,
        store: PacketStore,
        analytics: Iterable[Analytic],
        niceness: int,
        pace: Pace | None = None,
        cpus: frozenset[int] | None = None,
    ) -> None:
        handlers = {
            a.name: functools.partial(_replica_job, a, store)
            for a in analytics
            if a.compute is not None
        }
        self.runner = ReplicaRunner(
            handlers, apply=store.append, lock=store.write_lock, niceness=niceness, pace=pace,
            cpus=cpus,
        )  # fmt: skip
        store.listen(self)

    def appended(self, batch: StoreBatch) -> None:
        """Send the batch to the child, which appends it to its copy."""
        self.runner.send(batch)

    def pruned(self) -> None:
        """Row numbers changed everywhere: the next compute forks a fresh copy."""
        self.runner.retire()


def _replica_produce(
    replica: ReplicaRunner, name: str, query: Callable[[], Query]
) -> Callable[[], Rendered]:
    def produce() -> Rendered:
        result: Rendered = replica.submit(name, query()).result()
        return result

    return produce


def add_recomputers(
    recomputers: RecomputerSet,
    analytics: Iterable[Analytic],
    *,
    store: PacketStore,
    runner: Runner,
    clock: Clock,
    settings: Settings,
    interval_override_s: float | None = None,
    replica: ReplicaRunner | None = None,
) -> list[str]:
    """Add one member per analytic with a compute; returns their names.

    With a `replica` the computes run there (on its copy of the store), not on `runner`.
    `interval_override_s` replaces every configured interval (tests and benchmarks run
    recomputers every few milliseconds).
    """

    def query() -> Query:
        return default_query(settings, clock.now_ms())

    def prepare() -> tuple[Snapshot, Query]:
        return store.snapshot(), query()

    def generation() -> int:
        return store.generation

    added: list[str] = []
    for analytic in analytics:
        if analytic.compute is None:
            continue
        interval_s = interval_override_s or float(
            settings.analytics.interval_s(analytic.config_key)
        )
        produce = (
            produce_on(runner, prepare, functools.partial(_job, analytic))
            if replica is None
            else _replica_produce(replica, analytic.name, query)
        )
        recomputers.add(
            analytic.name,
            produce,
            interval_s=interval_s,
            generation=generation,
            max_staleness_s=None
            if interval_override_s
            else settings.analytics.staleness_limit_s(analytic.config_key),
            refresh_unchanged_after_s=interval_s * REFRESH_UNCHANGED_INTERVALS,
        )
        added.append(analytic.name)
    return added
