"""An empty store: the overview says how to get data in (issue 3)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser

from tests.api.running import settings_for, start
from tests.web.conftest import VIEW_TIMEOUT_MS, watch

pytestmark = pytest.mark.browser


def test_the_overview_of_an_empty_store_says_how_to_connect_or_import(
    browser: Browser, tmp_path: Path
) -> None:
    server = start(settings_for(tmp_path))
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        server.wait_ready()
        page = context.new_page()
        trouble = watch(page)
        page.goto(f"{server.base}/#/overview")
        page.wait_for_selector(
            'main#view[data-view="overview"][data-state="ready"]', timeout=VIEW_TIMEOUT_MS
        )
        panel = page.locator("main#view .empty-store")
        assert panel.locator("h2").inner_text() == "No data yet"
        text = panel.inner_text()
        assert "mqttSources" in text and "meshlens import" in text and "--demo" in text
        trouble.assert_clean()
    finally:
        context.close()
        server.stop()
