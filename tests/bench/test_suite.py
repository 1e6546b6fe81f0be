"""The suite's page: a partial run keeps the other modules' rows."""

from __future__ import annotations

from pathlib import Path

from bench.suite import Context, Row, merge, previous_results, render, write_page


def _ctx(tmp_path: Path) -> Context:
    return Context("small", 1, tmp_path / "d.db", tmp_path / "d.db.truth.npz", {}, True, tmp_path)


def test_a_partial_run_replaces_only_its_own_modules_rows(tmp_path: Path) -> None:
    page = tmp_path / "benchmarks.md"
    page.write_text("# meshlens benchmarks\n\nKept by hand.\n")
    first = [
        (
            "load",
            [
                Row(
                    "store",
                    "cold start (new process: imports)",
                    "1.0 s",
                    "<= 20 s",
                    note="warm cache: yes",
                )
            ],
            7.0,
        ),
        ("ingest", [Row("ingest", "import rate", "10 obs/s")], 1.0),
    ]
    write_page(page, render(_ctx(tmp_path), first, "python -m bench"))
    again = [("ingest", [Row("ingest", "import rate", "20 obs/s")], 1.0)]
    merged = merge(previous_results(page), again)
    write_page(page, render(_ctx(tmp_path), merged, "python -m bench"))
    text = page.read_text()
    assert "Kept by hand." in text
    assert (
        "| store | cold start (new process: imports) | 1.0 s | <= 20 s | `bench/load.py` |" in text
    )
    assert "- cold start (new process: imports): warm cache: yes" in text
    assert "load 7 s" in text
    assert "20 obs/s" in text and "10 obs/s" not in text
    assert text.count("bench suite: generated") == 1
