"""The benchmark dataset: a simulated database, built once and cached.

The cache key is the profile, the seed and a digest of the simulator's source, so a change
to the simulator builds a fresh dataset and an unchanged one is reused (migrated first
when the database schema has moved on since it was built). The staging build
is also published at /work/bench-data/staging-seed1.db for other engineers.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path("/work/bench-data")
STAGING_DB = SHARED_DATA / "staging-seed1.db"  # the published staging build (publish())


def code_version() -> str:
    """A digest of the simulator's source files."""
    digest = hashlib.sha256()
    for path in sorted((REPO / "meshlens" / "sim").glob("*.py")):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:10]


def cache_dir() -> Path:
    """/work/bench-data when it exists (shared on this machine), else bench/.cache."""
    return SHARED_DATA if SHARED_DATA.is_dir() else REPO / "bench" / ".cache"


def ensure(
    profile: str, seed: int, directory: Path | None = None
) -> tuple[Path, dict[str, float | int | str]]:
    """The dataset's path and build facts; builds it (timed) when it is not cached."""
    from meshlens.sim.outputs import write_database
    from meshlens.sim.profiles import profile_named
    from meshlens.sim.simulation import SimulationSpec

    folder = directory or cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    version = code_version()
    path = folder / f"{profile}-seed{seed}-{version}.db"
    meta_path = path.with_name(path.name + ".json")
    if path.is_file() and meta_path.is_file():
        migrate(path)
        if profile == "staging" and seed == 1 and folder == SHARED_DATA:
            migrate(STAGING_DB)
        meta: dict[str, float | int | str] = json.loads(meta_path.read_text())
        meta["cached"] = 1
        return path, meta
    # A half-built file of this version, and builds of older simulator versions, go.
    for old in folder.glob(f"{profile}-seed{seed}-*.db*"):
        old.unlink()
    started = time.perf_counter()
    report = write_database(SimulationSpec(profile_named(profile), seed), path)
    meta = {
        "build_s": round(time.perf_counter() - started, 1),
        "pipeline_s": round(report.ingest_s, 1),
        "observations": report.stored.get("observations", 0),
        "transmissions": report.stored.get("transmissions", 0),
        "sent": report.transmissions,
        "status_messages": report.status_messages,
        "db_bytes": path.stat().st_size,
        "code_version": version,
        "cached": 0,
    }
    meta_path.write_text(json.dumps(meta, indent=2))
    if profile == "staging" and seed == 1 and folder == SHARED_DATA:
        publish(path)
    return path, meta


def migrate(path: Path) -> None:
    """Bring a cached database to this meshlens' schema (benchmarks open it read-only)."""
    from meshlens.db.database import Database

    if path.is_file():
        Database(path).close()  # opening migrates; a current file is left as it is


def publish(path: Path) -> None:
    """Copy the staging build (and its ground truth) to the well-known shared path."""
    target = STAGING_DB
    tmp = target.with_name(target.name + ".tmp")
    shutil.copyfile(path, tmp)
    tmp.replace(target)
    truth = path.with_name(path.name + ".truth.npz")
    if truth.is_file():
        shutil.copyfile(truth, SHARED_DATA / "staging-seed1.db.truth.npz")
