"""The benchmark command still runs end to end at `small` scale (figures not checked)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_bench_runs_at_small_scale_and_writes_its_rows(tmp_path: Path) -> None:
    output = tmp_path / "benchmarks.md"
    output.write_text("# meshlens benchmarks\n\nHand-written section.\n")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--profile",
            "small",
            "--quick",
            "--cache",
            str(tmp_path / "cache"),
            "--output",
            str(output),
            "--only",
            "generation",
            "--only",
            "load",
            "--only",
            "ingest",
            "--only",
            "analytics_rf_channels",
            "--only",
            "analytics_skew_hashes",
            "--only",
            "topology",
            "--only",
            "compute_round",
            "--only",
            "receipt_memory",
        ],
        check=False,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr
    text = output.read_text()
    assert "Hand-written section." in text
    for figure in (
        "meshlens simulate --profile small",
        "cold start to loaded store",
        "import rate",
        "rf compute",
        "roles compute",
        "nodes-clock-skew compute",
        "distance compute",
        "topology compute",
        "a compute round: the nine jobs",
        "PSS of an MQTT receipt process",
    ):
        assert figure in text
    assert "| failed |" not in text
