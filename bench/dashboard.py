"""The dashboard in a real browser: time from navigation to each view showing its data.

The browser tests' benchmark mode: the same `meshlens serve` child and Chromium as
tests/web, but on a copy of a staging-scale database. For each view, `cold` opens a
fresh browser context at `/#/<view>` (page, scripts, Chart.js and the view's API reads,
nothing cached) and stops the clock when the shell marks the view `data-state="ready"`
(its data drawn); `hash` switches to the view from another one in a warm page (what a
click in the nav costs). Also the bytes of API JSON each view downloads (as sent, gzip).

    flock /work/bench.lock env PYTHONPATH=. python -m bench.dashboard --rounds 5
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
from collections.abc import Sequence
from pathlib import Path

from playwright.sync_api import Browser, Page, Response, sync_playwright

from bench.dataset import STAGING_DB
from bench.suite import Context, Row
from tests.web.conftest import CHROMIUM, start_server, wait_ready

VIEWS = (
    "overview", "rf", "topology", "distance", "channels",
    "hash-sizes", "hash-collisions", "roles", "observers-skew", "nodes-skew",
)  # fmt: skip
READY_MS = 30_000


def cold(browser: Browser, base: str, view: str) -> tuple[float, int]:
    """ms from navigation start to ready in a fresh context, and API bytes downloaded."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        api_bytes = [0]

        def count(response: Response) -> None:
            if "/api/" in response.url:  # bytes as sent: every API answer has a length
                api_bytes[0] += int(response.headers.get("content-length", "0"))

        page.on("response", count)
        page.goto(f"{base}/#/{view}")
        page.wait_for_selector(f'main[data-view="{view}"][data-state="ready"]', timeout=READY_MS)
        # the shell's mark, in ms since this document's navigation started
        elapsed = page.evaluate(
            "(v) => performance.getEntriesByName('meshlens:ready:' + v)[0].startTime", view
        )
        page.wait_for_load_state("networkidle")  # lazy parts (reach, messages) counted too
        return float(elapsed), api_bytes[0]
    finally:
        context.close()


def by_hash(page: Page, view: str, via: str) -> float:
    """ms to show `view` after switching to it from `via` in a warm page."""
    page.evaluate("(v) => { location.hash = '#/' + v; }", via)
    page.wait_for_selector(f'main[data-view="{via}"][data-state="ready"]', timeout=READY_MS)
    started = page.evaluate(
        "(v) => { const t = performance.now(); location.hash = '#/' + v; return t; }", view
    )
    page.wait_for_selector(f'main[data-view="{view}"][data-state="ready"]', timeout=READY_MS)
    ready = page.evaluate(
        "(v) => performance.getEntriesByName('meshlens:ready:' + v).at(-1).startTime", view
    )
    return float(ready) - float(started)


def main(argv: Sequence[str] | None = None) -> int:
    """Serve a copy of the database, then time every view cold and by hash."""
    parser = argparse.ArgumentParser(prog="python -m bench.dashboard", description=__doc__)
    parser.add_argument("--db", type=Path, default=STAGING_DB)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="meshlens-web-bench-") as tmp:
        db = Path(tmp) / "bench.db"
        shutil.copyfile(args.db, db)
        server = start_server(db)
        try:
            wait_ready(server, timeout_s=600.0)
            with sync_playwright() as driver:
                browser = driver.chromium.launch(executable_path=str(CHROMIUM))
                report(browser, server.base, args.rounds)
                browser.close()
        finally:
            server.process.terminate()
            server.process.wait(60)
    return 0


def report(browser: Browser, base: str, rounds: int) -> None:
    """Print one markdown row per view."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{base}/#/overview")
    page.wait_for_selector('main[data-view="overview"][data-state="ready"]', timeout=READY_MS)
    print("| view | cold: median ms (max) | by hash: median ms (max) | API bytes (gzip) |")
    print("|---|---|---|---|")
    for view in VIEWS:
        colds = [cold(browser, base, view) for _ in range(rounds)]
        via = "overview" if view != "overview" else "rf"
        hashes = [by_hash(page, view, via) for _ in range(rounds)]
        cold_ms = [c[0] for c in colds]
        print(
            f"| {view} | {statistics.median(cold_ms):.0f} ({max(cold_ms):.0f}) | "
            f"{statistics.median(hashes):.0f} ({max(hashes):.0f}) | {colds[-1][1]:,} |",
            flush=True,
        )
    context.close()


if __name__ == "__main__":
    raise SystemExit(main())


# The benchmark suite's part (bench/suite.py): the same measures, three rounds per view.
ORDER = 90
SUITE_ROUNDS = 3


def rows(ctx: Context) -> list[Row]:
    """Per view: cold and by-hash time to data shown, and the API bytes it downloads."""
    if ctx.quick or not CHROMIUM.exists():
        return []
    out: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="meshlens-web-bench-") as tmp:
        db = Path(tmp) / "bench.db"
        shutil.copyfile(ctx.db_path, db)
        server = start_server(db)
        try:
            wait_ready(server, timeout_s=600.0)
            with sync_playwright() as driver:
                browser = driver.chromium.launch(executable_path=str(CHROMIUM))
                try:
                    out = _suite_rows(browser, server.base)
                finally:
                    browser.close()
        finally:
            server.process.terminate()
            server.process.wait(60)
    return out


def _suite_rows(browser: Browser, base: str) -> list[Row]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.goto(f"{base}/#/overview")
        page.wait_for_selector('main[data-view="overview"][data-state="ready"]', timeout=READY_MS)
        out = []
        for view in VIEWS:
            colds = [cold(browser, base, view) for _ in range(SUITE_ROUNDS)]
            via = "overview" if view != "overview" else "rf"
            hashes = [by_hash(page, view, via) for _ in range(SUITE_ROUNDS)]
            cold_ms = [c[0] for c in colds]
            out.append(
                Row(
                    "dashboard",
                    f"`/#/{view}`: navigation to data shown, cold / by hash (median of "
                    f"{SUITE_ROUNDS})",
                    f"{statistics.median(cold_ms):.0f} / {statistics.median(hashes):.0f} ms",
                    "<= 1000 ms",
                    note=f"max {max(cold_ms):.0f} / {max(hashes):.0f} ms; API "
                    f"{colds[-1][1] / 1024:,.0f} KB as sent",
                )
            )
        return out
    finally:
        context.close()
