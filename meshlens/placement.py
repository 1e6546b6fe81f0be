"""Where and at what priority `meshlens serve` runs its work beside the reads it serves.

The computes' runner, the pipeline process, and the priorities of ingest's threads are
chosen here, so the composition root only wires them. The constants are read when a
server is built (module attributes, not copies), so a benchmark can set them first.
"""

from __future__ import annotations

from collections.abc import Callable

from meshlens.config import Settings
from meshlens.ingest.pipeline_process import PipelineSpec
from meshlens.priority import thread_niceness
from meshlens.recomputer import ForkRunner, Pace, Runner, ThreadRunner
from meshlens.storage import channel_keys, pipeline_options, region_keys
from meshlens.wire import ChannelKeys, RegionKeys

# Computes yield the CPU to serving (and to ingest) when both want it.
COMPUTE_NICENESS = 10
# Added to the niceness of ingest's threads (MQTT receipts, the ingest worker, the
# database writer): reads come first on a busy machine, and ingest, which needs ~2 % of a
# core at 500 obs/s, runs in their gaps (docs/architecture.md, "Priorities").
INGEST_NICENESS = 10
# The pipeline process (`ingest.pipelineProcess`) also runs at Linux's SCHED_IDLE: only
# on a CPU nothing else wants (docs/architecture.md, "The pipeline process").
PIPELINE_SCHED_IDLE = True
# How long a thread holding the GIL (the ingest pipeline, a few ms per batch) may keep the
# event loop waiting for it; CPython's default is 5 ms (docs/benchmarks.md, "Serving").
SWITCH_INTERVAL_S = 0.001
# While reads keep the server busy, MQTT sources read ~10 times a second, not for every
# message or two: each read takes the GIL from the event loop (docs/benchmarks.md,
# "Wake-ups"). Sightings wait for a 1 s ingest batch then anyway.
BUSY_GATHER_S = 0.1


def pipeline_spec(
    settings: Settings, keys: ChannelKeys | None = None, regions: RegionKeys | None = None
) -> PipelineSpec:
    """The pipeline process as `meshlens serve` runs it: ingest's niceness, SCHED_IDLE.

    `keys` and `regions` default to the settings' (a caller that built them passes them).
    """
    return PipelineSpec(
        settings.db_path,
        channel_keys(settings) if keys is None else keys,
        region_keys(settings) if regions is None else regions,
        pipeline_options(settings),
        niceness=thread_niceness() + INGEST_NICENESS,
        idle=PIPELINE_SCHED_IDLE,
    )


def make_runner(
    settings: Settings,
    pace: Pace | None = None,
    name: str = "compute",
    cpus: frozenset[int] | None = None,
    on_child: Callable[[bool], None] | None = None,
) -> Runner:
    """Where computes run (`analytics.computeIn`): forked children, or threads; `pace`d or
    not; on `cpus` (None: any); forked children told to `on_child` (ForkRunner)."""
    if settings.analytics.compute_in in ("fork", "replica"):
        return ForkRunner(
            niceness=COMPUTE_NICENESS, pace=pace, name=name, cpus=cpus, on_child=on_child
        )
    return ThreadRunner(niceness=COMPUTE_NICENESS, pace=pace, name=name, cpus=cpus)
