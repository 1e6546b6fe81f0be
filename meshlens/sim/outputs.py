"""Where a simulation goes: a meshlens database, a meshcoretomqtt JSONL file, or MQTT.

The database is written through the real ingest `Pipeline` in large batches, so it is an
ordinary meshlens database; the JSONL holds the same messages an observer fleet would
publish, which `meshlens import` reads back into the same rows.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path

import orjson

from meshlens.db.database import Database
from meshlens.frozen import constructor
from meshlens.ingest.pipeline import Pipeline
from meshlens.records import Observer, ObserverId, Sighting
from meshlens.sim import messages
from meshlens.sim.events import Observation, StatusReport
from meshlens.sim.simulation import Simulation, SimulationSpec, channel_keys, region_keys
from meshlens.sim.truth import TruthRecorder
from meshlens.store.store import PacketStore

BATCH = 20_000
_new_sighting = constructor(Sighting)  # millions of them: the fast frozen-record build

Progress = Callable[[int, int, int], None]  # (simulated time ms, observations, transmissions)


@dataclass(slots=True)
class RunReport:
    """What a run produced and how long it took."""

    observations: int = 0
    status_messages: int = 0
    transmissions: int = 0
    elapsed_s: float = 0.0
    ingest_s: float = 0.0  # time spent inside the pipeline (database output only)
    truth_path: Path | None = None
    stored: dict[str, int] = field(default_factory=dict)


def truth_path(output: Path) -> Path:
    """Where the ground truth of `output` goes: beside it, `<output>.truth.npz`."""
    return output.with_name(output.name + ".truth.npz")


def write_database(
    spec: SimulationSpec, path: Path, on_progress: Progress | None = None
) -> RunReport:
    """Generate into a new meshlens database through the ingest pipeline.

    The simulation runs in a forked child and streams batches of sightings to this
    process, which runs the pipeline: the two halves overlap on a 2-core machine.
    """
    report = RunReport()
    started = time.perf_counter()
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_produce, args=(spec, sender), name="meshlens-sim", daemon=True)
    child.start()  # before the database's writer thread exists
    sender.close()
    db = Database(path)
    try:
        pipeline = Pipeline(
            db, PacketStore(), keys=channel_keys(), regions=region_keys(spec.profile)
        )
        while True:
            message = receiver.recv()
            if message[0] == "batch":
                _, values, last_ms, transmissions = message
                batch = [_new_sighting(*v) for v in values]
                began = time.perf_counter()
                pipeline.process(batch)
                report.ingest_s += time.perf_counter() - began
                report.observations += len(batch)
                if on_progress is not None:
                    on_progress(last_ms, report.observations, transmissions)
                continue
            _, truth, observers, report.transmissions, report.status_messages = message
            break
        pipeline.adopt([], observers)
        counts = pipeline.counters.snapshot()
        report.stored = {
            "observations": counts.stored_observations,
            "transmissions": counts.new_transmissions,
            "duplicates": counts.duplicates,
            "rejected": sum(counts.rejected.values()),
        }
    finally:
        db.close()
        child.join(timeout=30)
    report.truth_path = truth_path(path)
    truth.save(report.truth_path)
    report.elapsed_s = time.perf_counter() - started
    return report


def _produce(spec: SimulationSpec, out: Connection) -> None:
    """The child: run the simulation, send sightings in batches, then the ground truth."""
    sim = Simulation(spec)
    truth = sim.truth_recorder()
    batch: list[messages.SightingValues] = []
    latest: dict[int, StatusReport] = {}
    statuses = 0
    for event in sim.events():
        if isinstance(event, StatusReport):
            statuses += 1
            latest[event.observer] = event
            continue
        truth.add(event)
        batch.append(messages.sighting_values(sim.mesh, event))
        if len(batch) >= BATCH:
            out.send(("batch", batch, event.at_ms, sim.transmissions))
            batch = []
    out.send(("batch", batch, spec.end_ms, sim.transmissions))
    out.send(("done", truth.result(), status_observers(sim, latest), sim.transmissions, statuses))
    out.close()


def status_observers(sim: Simulation, latest: dict[int, StatusReport]) -> list[Observer]:
    """Observer rows carrying the metadata of each observer's last status message.

    `meshlens import` skips status messages; until live ingest handles them, the database
    output records their content this way (`Pipeline.adopt` only fills gaps), so observer
    pages have models, radios and battery levels.
    """
    rows = []
    for slot, status in sorted(latest.items()):
        observer = sim.mesh.observers[slot]
        rows.append(
            Observer(
                id=ObserverId(messages.observer_id(sim.mesh, slot)),
                name=sim.mesh.nodes[observer.node].name,
                iata=observer.iata,
                first_seen_ms=status.stamp_ms,
                last_seen_ms=status.stamp_ms,
                model=observer.model,
                firmware=observer.firmware,
                client_version=observer.client_version,
                radio=observer.radio,
                battery_mv=status.battery_mv,
                uptime_secs=status.uptime_secs,
                noise_floor=status.noise_floor,
            )
        )
    return rows


def write_jsonl(spec: SimulationSpec, path: Path, on_progress: Progress | None = None) -> RunReport:
    """Generate meshcoretomqtt messages, one `{"topic", "payload"}` object per line."""
    sim = Simulation(spec)
    report = RunReport()
    started = time.perf_counter()
    truth = sim.truth_recorder()
    dumps = orjson.dumps
    with path.open("wb") as out:
        for event in sim.events():
            if isinstance(event, Observation):
                report.observations += 1
                truth.add(event)
                record = {
                    "topic": messages.topic(sim.mesh, event.observer, "packets"),
                    "payload": messages.packet_message(sim.mesh, event),
                }
            else:
                report.status_messages += 1
                record = {
                    "topic": messages.topic(sim.mesh, event.observer, "status"),
                    "payload": messages.status_message(sim.mesh, event),
                }
            out.write(dumps(record) + b"\n")
            if on_progress is not None and report.observations % 20_000 == 0:
                on_progress(event.at_ms, report.observations, sim.transmissions)
    return _finish(sim, report, truth, path, started)


def _finish(
    sim: Simulation, report: RunReport, truth: TruthRecorder, output: Path, started: float
) -> RunReport:
    report.transmissions = sim.transmissions
    report.truth_path = truth_path(output)
    truth.result().save(report.truth_path)
    report.elapsed_s = time.perf_counter() - started
    return report
