"""Background recomputation and compute placement; knows no analytic, no HTTP, no store.

- `Recomputer` (recomputer.py): recomputes one result on a cadence; `load()` is one read.
- `RecomputerSet` (recomputer_set.py): start/stop together, stagger, warm-up gate, sink.
- `Published`, `Rendered`, `render`, `LazyExtra` (published.py): the immutable encoded snapshot.
- `OnDemandCache` (on_demand.py): single-flight bounded cache for filtered shapes.
- Runners (runners.py, fork_runner.py): where a job runs; `produce_on` composes them.
- child.py: what a compute child is and does to itself (frames, fork, priority, memory).
- `ReplicaRunner` (replica_runner.py): one long-lived child that follows the state by deltas.
- `Pace` (pacing.py): keeps a runner's jobs to a share of one CPU, resting after its work.
"""

from meshlens.recomputer.child import ChildComputeError, ChildLostError
from meshlens.recomputer.fork_runner import ForkRunner, ForkRunnerStats
from meshlens.recomputer.on_demand import OnDemandCache, OnDemandStats, published_size, submitted
from meshlens.recomputer.pacing import Pace
from meshlens.recomputer.published import (
    LazyExtra,
    Published,
    Rendered,
    etag_of,
    gzip_compress,
    gzip_variant,
    render,
)
from meshlens.recomputer.recomputer import Outcome, Recomputer
from meshlens.recomputer.recomputer_set import (
    PublishSink,
    RecomputerSet,
    SnapshotBoard,
    StopHandle,
)
from meshlens.recomputer.replica_runner import ReplicaRunner, ReplicaRunnerStats
from meshlens.recomputer.runners import (
    InlineRunner,
    Runner,
    RunnerStoppedError,
    ThreadRunner,
    produce_on,
    render_job,
)
from meshlens.recomputer.stats import RecomputerStats

__all__ = [
    "ChildComputeError",
    "ChildLostError",
    "ForkRunner",
    "ForkRunnerStats",
    "InlineRunner",
    "LazyExtra",
    "OnDemandCache",
    "OnDemandStats",
    "Outcome",
    "Pace",
    "PublishSink",
    "Published",
    "Recomputer",
    "RecomputerSet",
    "RecomputerStats",
    "Rendered",
    "ReplicaRunner",
    "ReplicaRunnerStats",
    "Runner",
    "RunnerStoppedError",
    "SnapshotBoard",
    "StopHandle",
    "ThreadRunner",
    "etag_of",
    "gzip_compress",
    "gzip_variant",
    "produce_on",
    "published_size",
    "render",
    "render_job",
    "submitted",
]
