"""StoreReplica: the compute child's copy of the store follows every append and prune."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from meshlens.analytics.query import Query
from meshlens.analytics.registry import ANALYTICS
from meshlens.api.recompute import StoreReplica, render_analytic
from meshlens.store.batch import StoreBatch, obs_batch
from meshlens.store.store import PacketStore
from tests.store.test_store import _obs, _observer, _tx

WAIT_S = 10.0
RF = next(a for a in ANALYTICS if a.name == "rf")
QUERY = Query(now_ms=5_000)


def _batch(first: int, n: int) -> StoreBatch:
    ids = range(first, first + n)
    return StoreBatch(
        transmissions=[_tx(i, ts=1000 + i) for i in ids],
        observations=obs_batch([_obs(100 + i, i, bytes([i % 7, i % 5]), ts=1000 + i) for i in ids]),
        observers=[_observer(1)],
    )


@pytest.fixture
def replica() -> Iterator[tuple[PacketStore, StoreReplica]]:
    store = PacketStore()
    store.append(_batch(1, 3))
    follower = StoreReplica(store, [RF], niceness=0)
    yield store, follower
    follower.runner.stop()


def test_the_child_computes_what_the_parent_would_after_later_appends(
    replica: tuple[PacketStore, StoreReplica],
) -> None:
    store, follower = replica
    first = follower.runner.submit("rf", QUERY).result(WAIT_S)
    assert first.body == render_analytic(RF, store.snapshot(), QUERY).body
    store.append(_batch(4, 5))
    store.append(_batch(9, 2))
    again = follower.runner.submit("rf", QUERY).result(WAIT_S)
    assert again.body == render_analytic(RF, store.snapshot(), QUERY).body
    assert again.body != first.body
    stats = follower.runner.stats()
    assert (stats.forks, stats.deltas_sent) == (1, 2)


def test_a_prune_retires_the_child_and_the_next_compute_sees_the_pruned_store(
    replica: tuple[PacketStore, StoreReplica],
) -> None:
    store, follower = replica
    store.append(_batch(4, 5))
    follower.runner.submit("rf", QUERY).result(WAIT_S)
    keep = np.zeros(len(store.snapshot().tx), dtype=np.bool_)
    keep[-2:] = True
    store.prune(keep)
    after = follower.runner.submit("rf", QUERY).result(WAIT_S)
    assert after.body == render_analytic(RF, store.snapshot(), QUERY).body
    assert follower.runner.stats().forks == 2
