"""Importing captures: meshcoretomqtt JSONL, flat packet JSONL and CoreScope databases.

Each reader yields `(place, Sighting | InputError)`: a bad line or row is reported with its
line number or row id and the reason, and everything else is imported. The same input
imported twice adds nothing, because the pipeline's database decides what is new.
"""

from __future__ import annotations

import dataclasses
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from meshlens.errors import InputError
from meshlens.ingest.corescope import (
    Item,
    path_hops,
    read_corescope,
    read_corescope_tables,
    with_path,
)
from meshlens.ingest.messages import (
    envelope_time_ms,
    first_number,
    json_object,
    parse_topic,
    read_packet_message,
)
from meshlens.ingest.outcome import Outcome
from meshlens.ingest.pipeline import Pipeline
from meshlens.ingest.status import ObserverStatus, read_status_message
from meshlens.records import Sighting
from meshlens.times import parse_instant

_SQLITE_MAGIC = b"SQLite format 3\x00"
_EXAMPLES = 20


class FileFormat(Enum):
    """The kinds of input `meshlens import` understands."""

    MQTT_JSONL = "meshcoretomqtt JSONL"
    PACKETS_JSONL = "packet JSONL"
    CORESCOPE_DB = "CoreScope database"


@dataclass(slots=True)
class ImportReport:
    """What one file contributed."""

    path: Path
    format: FileFormat
    records: int = 0
    new_transmissions: int = 0
    stored: int = 0
    duplicates: int = 0
    skipped: Counter[str] = field(default_factory=Counter)  # neither packets nor statuses
    statuses: int = 0  # observer status messages applied to the observers table
    rejected: Counter[str] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)  # the first few rejections, with place
    adopted: tuple[int, int] = (0, 0)  # CoreScope node and observer rows taken over

    def reject(self, place: str, reason: str, detail: str) -> None:
        """Count a rejected record, keeping the first few as examples."""
        self.rejected[reason] += 1
        if len(self.examples) < _EXAMPLES:
            self.examples.append(f"{place}: {reason}: {detail}" if detail else f"{place}: {reason}")


def detect_format(path: Path) -> FileFormat:
    """Tell the format from the file's first bytes or first non-empty line."""
    try:
        with path.open("rb") as f:
            head = f.read(len(_SQLITE_MAGIC))
            if head == _SQLITE_MAGIC:
                return FileFormat.CORESCOPE_DB
            f.seek(0)
            for line in f:
                if line.strip():
                    first = json_object(line, f"{path}:1")
                    break
            else:
                raise InputError("empty", str(path), "no records")
    except OSError as err:
        raise InputError("unreadable", str(path), err.strerror or str(err)) from None
    if "topic" in first and "payload" in first:
        return FileFormat.MQTT_JSONL
    if "hex" in first or ("tx_hex" in first and "path" in first):
        return FileFormat.PACKETS_JSONL
    raise InputError(
        "unknown_format",
        str(path),
        "expected a SQLite database, or JSONL of {topic, payload} or {hex, observer, ...}",
    )


def read_records(path: Path, fmt: FileFormat, *, now_ms: int) -> Iterator[Item]:
    """The sightings of a file, or the error of each record that is not one."""
    if fmt is FileFormat.CORESCOPE_DB:
        yield from read_corescope(path)
    else:
        yield from _read_jsonl(path, fmt, now_ms)


def _read_jsonl(path: Path, fmt: FileFormat, now_ms: int) -> Iterator[Item]:
    read = _mqtt_line if fmt is FileFormat.MQTT_JSONL else _packet_line
    with path.open("rb") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            place = f"{path.name}:{number}"
            try:
                yield place, read(json_object(line, place), place, now_ms)
            except InputError as err:
                yield place, err


def _mqtt_line(record: dict[str, object], place: str, now_ms: int) -> Sighting | ObserverStatus:
    topic, payload = record.get("topic"), record.get("payload")
    if not isinstance(topic, str):
        raise InputError("bad_topic", place, "'topic' must be a string")
    if isinstance(payload, str | bytes):
        payload = json_object(payload, place)
    if not isinstance(payload, dict):
        raise InputError("not_an_object", place, "'payload' must be a JSON object")
    parsed = parse_topic(topic)
    sent = envelope_time_ms(payload)
    if parsed.kind == "status":
        status = read_status_message(parsed, payload, received_at_ms=sent[0] if sent else now_ms)
        return dataclasses.replace(status, where=place)
    sighting = read_packet_message(parsed, payload, received_at_ms=sent[0] if sent else now_ms)
    return dataclasses.replace(sighting, where=place)


def _packet_line(record: dict[str, object], place: str, now_ms: int) -> Sighting:
    """A flat packet record: `hex`, or CoreScope's `tx_hex` plus this observer's `path`."""
    key = "hex" if "hex" in record else "tx_hex"
    hex_text = record.get(key)
    if not isinstance(hex_text, str):
        raise InputError("missing_raw", place, f"'{key}' must be a string")
    try:
        raw = bytes.fromhex(hex_text.replace(" ", "").replace("\n", "").replace("\r", ""))
    except ValueError:
        raise InputError("bad_hex", place, f"'{key}' is not hex: {hex_text[:40]!r}") from None
    path = record.get("path")
    if key == "tx_hex" and isinstance(path, list) and raw[:1] and raw[0] >> 2 & 0x0F != 9:
        raw = with_path(raw, path_hops(path, place), place)
    ts = record.get("ts")
    at = parse_instant(ts) if isinstance(ts, str) else None
    if ts is not None and at is None:
        raise InputError("bad_time", place, f"'ts' is not an RFC3339 time: {ts!r}")
    observer, name, iata = record.get("observer"), record.get("observer_name"), record.get("iata")
    return Sighting(
        raw=raw,
        observer_id=observer if isinstance(observer, str) else "",
        observer_name=name if isinstance(name, str) else "",
        region=iata.strip().upper() if isinstance(iata, str) else "",
        snr_db=first_number(record, "snr"),
        rssi_dbm=first_number(record, "rssi"),
        score=None,
        direction="rx",
        received_at_ms=now_ms if at is None else at,
        where=place,
    )


# -- driving the pipeline ---------------------------------------------------------------

OnRecord = Callable[[int], None]


def import_file(
    path: Path,
    pipeline: Pipeline,
    *,
    now_ms: int,
    batch_size: int = 5000,
    on_record: OnRecord | None = None,
) -> ImportReport:
    """Import one file through the pipeline; never raises for bad records, only reports."""
    fmt = detect_format(path)
    report = ImportReport(path, fmt)
    batch: list[Sighting] = []
    statuses: list[ObserverStatus] = []
    for place, item in read_records(path, fmt, now_ms=now_ms):
        report.records += 1
        if isinstance(item, InputError):
            report.reject(place, item.reason, item.detail)
        elif isinstance(item, ObserverStatus):
            statuses.append(item)
        else:
            batch.append(item)
        if len(batch) >= batch_size:
            _flush(pipeline, batch, report)
        if on_record is not None:
            on_record(report.records)
    _flush(pipeline, batch, report)
    # Statuses last: observers are then numbered in the order their packets arrive, as
    # live ingest and `simulate --db` number them; a status only adds metadata.
    if statuses:
        pipeline.apply_statuses(statuses)
        report.statuses = len(statuses)
    return report


def _flush(pipeline: Pipeline, batch: list[Sighting], report: ImportReport) -> None:
    if not batch:
        return
    for s, result in zip(batch, pipeline.process(batch), strict=True):
        if result.outcome is Outcome.NEW:
            report.new_transmissions += 1
            report.stored += 1
        elif result.outcome is Outcome.STORED:
            report.stored += 1
        elif result.outcome is Outcome.DUPLICATE:
            report.duplicates += 1
        else:
            report.reject(s.where, result.reason or "rejected", result.detail)
    batch.clear()


# -- the command: several files, a progress bar and a summary ---------------------------


def import_paths(
    paths: Sequence[Path], pipeline: Pipeline, *, quiet: bool = False
) -> list[ImportReport | InputError]:
    """Import each file, showing progress; returns one report (or the file's error) each."""
    console = Console(quiet=quiet)
    outcomes: list[ImportReport | InputError] = []
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TextColumn("{task.completed:>10,} records"),
        TimeElapsedColumn(),
        transient=True,
        console=Console(stderr=True, quiet=quiet),
    ) as progress:
        for path in paths:
            task = progress.add_task(path.name, total=None)
            try:
                report = import_file(
                    path,
                    pipeline,
                    now_ms=time.time_ns() // 1_000_000,
                    on_record=_reporter(progress, task),
                )
            except InputError as err:
                outcomes.append(err)
                console.print(f"[red]{path}[/red]: {err}", soft_wrap=True)
                continue
            if report.format is FileFormat.CORESCOPE_DB:
                nodes, observers, notes = read_corescope_tables(
                    path, now_ms=time.time_ns() // 10**6
                )
                pipeline.adopt(nodes, observers)
                report.adopted = (len(nodes), len(observers))
                for note in notes:
                    report.reject(note.split(": ")[1], note.rsplit(": ", 1)[-1], "")
            outcomes.append(report)
    console.print(summary_table([r for r in outcomes if isinstance(r, ImportReport)]))
    for outcome in outcomes:
        if isinstance(outcome, ImportReport):
            for example in outcome.examples:
                console.print(f"  [yellow]{example}[/yellow]")
    return outcomes


def _reporter(progress: Progress, task: TaskID) -> OnRecord:
    def advance(records: int) -> None:
        if records % 1000 == 0:  # redrawing per record would cost more than the import
            progress.update(task, completed=records)

    return advance


def summary_table(reports: Sequence[ImportReport]) -> Table:
    """One row per imported file."""
    table = Table(title="meshlens import")
    columns = ("file", "format", "records", "new tx", "stored obs", "duplicates", "statuses",
               "rejected")  # fmt: skip
    for column in columns:
        table.add_column(column, justify="left" if column in ("file", "format") else "right")
    for r in reports:
        rejected = ", ".join(f"{reason} {n}" for reason, n in r.rejected.most_common()) or "0"
        table.add_row(
            r.path.name, r.format.value, f"{r.records:,}", f"{r.new_transmissions:,}",
            f"{r.stored:,}", f"{r.duplicates:,}", f"{r.statuses:,}", rejected,
        )  # fmt: skip
    return table
