"""Browser fixtures: a simulated store served by `meshlens serve`, and Chromium pages on it.

The server is the real CLI in a child process on a free port, over a database the
simulator wrote (profile small, ending now so windows like 24h hold data). Pages record
console errors, page errors, failed requests and HTTP errors, so each test can assert
the dashboard ran cleanly. Screenshots go to `artifacts/web/` (gitignored) or
$MESHLENS_ARTIFACTS.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Page,
    Playwright,
    Request,
    Response,
    sync_playwright,
)

from tests.conftest import REPO, require

CHROMIUM = Path("/usr/bin/chromium")
READY_TIMEOUT_S = 60.0
VIEW_TIMEOUT_MS = 15_000


@dataclass
class Dashboard:
    """A running `meshlens serve` on the simulated store."""

    base: str
    db: Path
    process: subprocess.Popen[str]
    reader: threading.Thread
    log: list[str] = field(default_factory=list)

    def url(self, fragment: str = "") -> str:
        """The dashboard URL with a `#/...` fragment."""
        return f"{self.base}/{fragment}"


@dataclass
class Trouble:
    """What went wrong in a page: each list should stay empty."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    http_errors: list[str] = field(default_factory=list)

    def assert_clean(self) -> None:
        """No console error, uncaught exception, failed request or 4xx/5xx answer."""
        assert self.console_errors == [], self.console_errors
        assert self.page_errors == [], self.page_errors
        assert self.failed_requests == [], self.failed_requests
        assert self.http_errors == [], self.http_errors


def artifacts_dir() -> Path:
    """Where screenshots go ($MESHLENS_ARTIFACTS, else artifacts/web in the checkout)."""
    root = Path(os.environ.get("MESHLENS_ARTIFACTS", REPO / "artifacts"))
    path = root / "web"
    path.mkdir(parents=True, exist_ok=True)
    return path


def simulate(db: Path) -> None:
    """Write the small simulated mesh into `db`, ending now."""
    subprocess.run(
        [sys.executable, "-m", "meshlens", "simulate", "--profile", "small", "--db", str(db),
         "--end", "now", "--quiet"],
        check=True, cwd=db.parent, env=_env(), timeout=120,
    )  # fmt: skip


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def start_server(db: Path) -> Dashboard:
    """`meshlens serve` on 127.0.0.1, port 0, once it says where it listens."""
    process = subprocess.Popen(
        [sys.executable, "-m", "meshlens", "serve", "--db", str(db), "--host", "127.0.0.1",
         "--port", "0"],
        cwd=db.parent, env=_env(), stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    listening = threading.Event()
    found: dict[str, str] = {}
    log: list[str] = []

    def drain() -> None:  # keep reading so the child never blocks on a full pipe
        assert process.stderr is not None
        for line in process.stderr:
            log.append(line)
            if "listening on http://" in line and not listening.is_set():
                found["port"] = line.rsplit(":", 1)[1].strip()
                listening.set()
        listening.set()

    reader = threading.Thread(target=drain, daemon=True, name="serve-log")
    reader.start()
    if not listening.wait(READY_TIMEOUT_S) or "port" not in found:
        process.kill()
        raise AssertionError("meshlens serve did not start:\n" + "".join(log))
    return Dashboard(f"http://127.0.0.1:{found['port']}", db, process, reader, log)


def wait_ready(dashboard: Dashboard, timeout_s: float = READY_TIMEOUT_S) -> None:
    """Until /api/health says loaded and every analytic has its first snapshot."""
    with httpx.Client(base_url=dashboard.base, timeout=10.0) as http:
        start = time.monotonic()
        while True:
            health = http.get("/api/health").json()
            if not health["load"]["loading"] and health["analyticsReady"]:
                return
            assert time.monotonic() - start < timeout_s, f"not ready: {health}"
            time.sleep(0.05)  # polling real background work (the load), not time itself


@pytest.fixture(scope="session")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    """A served simulated store, shared by the session's browser tests."""
    require(CHROMIUM.exists(), f"Chromium at {CHROMIUM}")
    db = tmp_path_factory.mktemp("web") / "small.db"
    simulate(db)
    running = start_server(db)
    try:
        wait_ready(running)
        yield running
    finally:
        running.process.terminate()
        try:
            running.process.wait(30)
        except subprocess.TimeoutExpired:
            running.process.kill()
            running.process.wait(10)
        running.reader.join(10)
        if running.process.stderr is not None:
            running.process.stderr.close()


@pytest.fixture(scope="session")
def playwright_session() -> Iterator[Playwright]:
    """One Playwright driver for the session."""
    require(CHROMIUM.exists(), f"Chromium at {CHROMIUM}")
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright_session: Playwright) -> Iterator[Browser]:
    """Debian's Chromium, headless."""
    launched = playwright_session.chromium.launch(executable_path=str(CHROMIUM))
    try:
        yield launched
    finally:
        launched.close()


@dataclass
class Watched:
    """A page and what went wrong in it."""

    page: Page
    trouble: Trouble


def watch(page: Page) -> Trouble:
    """Record a page's console errors, uncaught exceptions and failed requests."""
    trouble = Trouble()

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            trouble.console_errors.append(f"{message.text} at {message.location}")

    def on_failed(request: Request) -> None:
        # The shell aborts the fetches of a view it leaves; those are not failures.
        if request.failure != "net::ERR_ABORTED":
            trouble.failed_requests.append(f"{request.method} {request.url}: {request.failure}")

    def on_response(response: Response) -> None:
        if response.status >= 400:
            trouble.http_errors.append(f"{response.status} {response.url}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: trouble.page_errors.append(str(error)))
    page.on("requestfailed", on_failed)
    page.on("response", on_response)
    return trouble


@pytest.fixture
def watched(browser: Browser) -> Iterator[Watched]:
    """A fresh desktop-sized page whose trouble is recorded."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    trouble = watch(page)
    try:
        yield Watched(page, trouble)
    finally:
        context.close()


def open_view(page: Page, dashboard: Dashboard, fragment: str) -> None:
    """Navigate to `#/<view>?...` and wait until the shell marks that view ready."""
    name = fragment.removeprefix("#/").split("?")[0] or "overview"
    page.goto(dashboard.url(fragment))
    page.wait_for_selector(
        f'main#view[data-view="{name}"][data-state="ready"]', timeout=VIEW_TIMEOUT_MS
    )


def screenshot(page: Page, name: str, *, full_page: bool = True) -> Path:
    """A screenshot (of the whole page by default) into the artifacts folder."""
    path = artifacts_dir() / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
