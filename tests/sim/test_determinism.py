"""Same seed, same bytes; another seed, another mesh."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

from meshlens.sim.outputs import write_jsonl
from meshlens.sim.simulation import SimulationSpec


def _digest(spec: SimulationSpec, path: Path) -> str:
    write_jsonl(spec, path)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_same_seed_gives_byte_identical_jsonl(small_spec: SimulationSpec, tmp_path: Path) -> None:
    first = _digest(small_spec, tmp_path / "a.jsonl")
    second = _digest(small_spec, tmp_path / "b.jsonl")
    assert first == second
    assert (tmp_path / "a.jsonl").stat().st_size > 10_000


def test_another_seed_gives_another_mesh(small_spec: SimulationSpec, tmp_path: Path) -> None:
    other = dataclasses.replace(small_spec, seed=small_spec.seed + 1)
    assert _digest(small_spec, tmp_path / "a.jsonl") != _digest(other, tmp_path / "b.jsonl")


def test_ground_truth_is_written_beside_the_output(
    small_spec: SimulationSpec, tmp_path: Path
) -> None:
    report = write_jsonl(small_spec, tmp_path / "out.jsonl")
    assert report.truth_path == tmp_path / "out.jsonl.truth.npz"
    assert report.truth_path.is_file()
