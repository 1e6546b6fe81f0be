"""`meshlens simulate`: run a profile into a database, a JSONL file or an MQTT broker."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from meshlens.sim.outputs import RunReport, write_database, write_jsonl
from meshlens.sim.profiles import DAY_MS, DEFAULT_CENTER, DEFAULT_END_MS, profile_named
from meshlens.sim.publisher import publish_mqtt
from meshlens.sim.simulation import SimulationSpec, region_names
from meshlens.sim.texts import HASHTAG_CHANNELS
from meshlens.times import iso_seconds, parse_instant


@dataclass(frozen=True, slots=True)
class SimulateRequest:
    """The command line of `meshlens simulate`, checked."""

    spec: SimulationSpec
    db: Path | None = None
    jsonl: Path | None = None
    mqtt: str | None = None
    rate_per_s: float = 50.0
    force: bool = False
    quiet: bool = False


def parse_center(text: str | None) -> tuple[float, float]:
    """`LAT,LON` -> a point; raises ValueError naming what is wrong."""
    if not text:
        return DEFAULT_CENTER
    lat_text, _, lon_text = text.partition(",")
    lat, lon = float(lat_text), float(lon_text)
    if not (-80 <= lat <= 80 and -180 <= lon <= 180):
        raise ValueError(f"--center {text!r} is not a LAT,LON point away from the poles")
    return lat, lon


def parse_end(text: str | None, now_ms: int) -> int:
    """`--end`: an ISO time, `now`, or the fixed default (so a seed gives the same bytes)."""
    if not text:
        return DEFAULT_END_MS
    if text == "now":
        return now_ms
    parsed = parse_instant(text)
    if parsed is None:
        raise ValueError(f"--end {text!r} is not an ISO time or 'now'")
    return parsed


def build_spec(profile: str, seed: int, center: str | None, end: str | None) -> SimulationSpec:
    """A SimulationSpec from command-line strings."""
    return SimulationSpec(
        profile_named(profile), seed, parse_center(center), parse_end(end, time.time_ns() // 10**6)
    )


def run(request: SimulateRequest) -> RunReport:
    """Run the simulation with a progress bar and print a summary."""
    console = Console(stderr=True, quiet=request.quiet)
    spec = request.spec
    for target in (request.db, request.jsonl):
        if target is not None and target.exists():
            if not request.force:
                raise FileExistsError(f"{target} exists; pass --force to replace it")
            for old in target.parent.glob(target.name + "*"):
                old.unlink()
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("day {task.fields[day]:.1f}/{task.fields[days]:.1f}"),
        TextColumn("{task.fields[obs]:>10,} obs {task.fields[rate]:>7,.0f}/s"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=False) as progress:
        days = spec.profile.duration_ms / DAY_MS
        task = progress.add_task(
            f"simulate {spec.profile.name}",
            total=spec.profile.duration_ms,
            day=0.0,
            days=days,
            obs=0,
            tx=0,
            rate=0.0,
        )
        started = time.perf_counter()

        def advance(at_ms: int, observations: int, transmissions: int) -> None:
            done = max(0, at_ms - spec.start_ms)
            rate = observations / max(time.perf_counter() - started, 1e-6)
            progress.update(
                task,
                completed=done,
                day=done / DAY_MS,
                obs=observations,
                tx=transmissions,
                rate=rate,
            )

        if request.db is not None:
            report = write_database(spec, request.db, advance)
        elif request.jsonl is not None:
            report = write_jsonl(spec, request.jsonl, advance)
        else:
            assert request.mqtt is not None
            report = publish_mqtt(spec, request.mqtt, request.rate_per_s, advance)
        advance(spec.end_ms, report.observations, report.transmissions)
    console.print(summary(request, report))
    return report


def summary(request: SimulateRequest, report: RunReport) -> Table:
    """The closing table: what was made, where, and how fast."""
    spec = request.spec
    table = Table(
        title=f"meshlens simulate {spec.profile.name} --seed {spec.seed}", show_header=False
    )
    target = request.db or request.jsonl or request.mqtt
    rows = [
        ("output", str(target)),
        ("window", f"{iso_seconds(spec.start_ms)} .. {iso_seconds(spec.end_ms)}"),
        (
            "nodes / observers / regions",
            f"{spec.profile.nodes:,} / {spec.profile.observers} / {spec.profile.regions}",
        ),
        ("observations", f"{report.observations:,}"),
        ("transmissions sent", f"{report.transmissions:,}"),
        ("status messages", f"{report.status_messages:,}"),
        ("elapsed", f"{report.elapsed_s:.1f} s"),
    ]
    for key, value in report.stored.items():
        rows.append((f"stored {key}", f"{value:,}"))
    if report.ingest_s:
        rows.append(("pipeline time", f"{report.ingest_s:.1f} s"))
    if report.truth_path is not None:
        rows.append(("ground truth", str(report.truth_path)))
    rows.append(("hashChannels to decrypt", ", ".join(HASHTAG_CHANNELS)))
    rows.append(("hashRegions (scopes)", ", ".join(region_names(spec.profile))))
    for label, text in rows:
        table.add_row(label, text)
    return table
