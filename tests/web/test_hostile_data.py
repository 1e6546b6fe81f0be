"""Names and messages from the air are shown as text and run nothing; warming up is retried."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Dialog, Page

from tests.api.running import HeldLoad, Running, start
from tests.web.conftest import VIEW_TIMEOUT_MS, Trouble, screenshot, watch
from tests.web.hostile import (
    EVIL_MESSAGE,
    EVIL_NODE,
    EVIL_OBSERVER,
    hostile_settings,
    serve_hostile,
)

pytestmark = pytest.mark.browser

# view -> the hostile strings it must show as text
SHOWN = {
    "overview": (EVIL_OBSERVER,),
    "roles": (EVIL_NODE,),
    "nodes-skew": (EVIL_NODE,),
    "observers-skew": (EVIL_OBSERVER,),
    "hash-sizes": (EVIL_NODE,),
    "hash-collisions": (EVIL_NODE,),
    "channels": (EVIL_MESSAGE,),
}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """The hostile mesh, served and past its warm-up."""
    running = serve_hostile(tmp_path_factory.mktemp("hostile"))
    try:
        running.wait_ready()
        yield running
    finally:
        running.stop()


def open_at(page: Page, base: str, fragment: str) -> None:
    """Navigate to `base/#/<view>` and wait until the shell marks that view ready."""
    name = fragment.removeprefix("#/").split("?")[0]
    page.goto(f"{base}/{fragment}")
    page.wait_for_selector(
        f'main#view[data-view="{name}"][data-state="ready"]', timeout=VIEW_TIMEOUT_MS
    )


def assert_inert(page: Page, dialogs: list[str]) -> None:
    """No dialog opened, no <img src=x> and no inline <script> made it into the page."""
    assert dialogs == []
    assert page.locator('img[src="x"]').count() == 0
    assert page.locator("script:not([src])").count() == 0


def watch_dialogs(page: Page) -> list[str]:
    """Record (and dismiss) every alert/confirm/prompt the page opens."""
    opened: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        opened.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    return opened


@pytest.mark.parametrize("view", sorted(SHOWN))
def test_hostile_names_and_messages_are_text(hostile: Running, browser: Browser, view: str) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        trouble = watch(page)
        dialogs = watch_dialogs(page)
        open_at(page, hostile.base, f"#/{view}")
        text = page.locator("main#view").text_content() or ""
        for hostile_text in SHOWN[view]:
            assert hostile_text in text, f"{hostile_text!r} not shown as text in {view}"
        assert_inert(page, dialogs)
        screenshot(page, f"hostile-{view}")
        trouble.assert_clean()
    finally:
        context.close()


def test_a_hostile_node_history_is_text(hostile: Running, browser: Browser) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        trouble = watch(page)
        dialogs = watch_dialogs(page)
        open_at(page, hostile.base, "#/nodes-skew")
        page.get_by_role("button", name=f"Clock history of {EVIL_NODE}").click()
        history = page.locator("#node-history figure.chart figcaption")
        history.wait_for(timeout=VIEW_TIMEOUT_MS)
        assert EVIL_NODE in history.inner_text()
        # The evidence names the observers that heard it, one of them hostile too.
        assert EVIL_OBSERVER in (page.locator("#node-history").text_content() or "")
        assert_inert(page, dialogs)
        trouble.assert_clean()
    finally:
        context.close()


def test_a_view_warming_up_retries_and_shows_its_data(browser: Browser, tmp_path: Path) -> None:
    load = HeldLoad(timeout_s=60)
    server = start(hostile_settings(tmp_path), load=load)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        assert load.entered.wait(10)
        page = context.new_page()
        trouble = watch(page)
        page.goto(f"{server.base}/#/nodes-skew")
        page.wait_for_selector('main#view[data-view="nodes-skew"][data-state="warming"]',
                               timeout=VIEW_TIMEOUT_MS)  # fmt: skip
        assert "Warming up" in page.locator("#status").inner_text()
        load.release.set()
        # The shell waits the server's Retry-After (5 s) and asks again.
        page.wait_for_selector('main#view[data-view="nodes-skew"][data-state="ready"]',
                               timeout=VIEW_TIMEOUT_MS + 10_000)  # fmt: skip
        assert page.locator("#status").inner_text() == ""
        rows = page.locator("main#view table.data tbody tr:not(:has(td.empty))")
        assert rows.count() >= 6
        only_warming(trouble)
    finally:
        load.release.set()
        context.close()
        server.stop()


def only_warming(trouble: Trouble) -> None:
    """The only troubles are the 503 answers of the warm-up (and Chromium's log of them)."""
    assert trouble.http_errors and all(e.startswith("503 ") for e in trouble.http_errors)
    assert all("503" in e for e in trouble.console_errors), trouble.console_errors
    assert trouble.page_errors == [] and trouble.failed_requests == []
