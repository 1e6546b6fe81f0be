"""The hash, roles and clock views' own behaviour: region deep links, keyboard, lazy loads.

What every view must do (charts, tables, themes, a phone) is in test_views.py.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Request

from tests.web.conftest import Dashboard, Watched, open_view, screenshot

pytestmark = pytest.mark.browser

VIEWS = ("hash-sizes", "hash-collisions", "roles", "observers-skew", "nodes-skew")


@pytest.mark.parametrize("view", sorted(VIEWS))
def test_a_deep_link_opens_the_view(dashboard: Dashboard, watched: Watched, view: str) -> None:
    page = watched.page
    open_view(page, dashboard, f"#/{view}?region=SJC")
    assert page.locator("main#view").get_attribute("data-view") == view
    assert page.locator(f'nav a[href="#/{view}"]').get_attribute("aria-current") == "page"
    assert page.locator("main#view h1").inner_text() in page.title()
    # Only hash views take a region; the others hide the selector.
    assert page.locator("#region").is_visible() == view.startswith("hash-")
    watched.trouble.assert_clean()


def test_the_collision_grid_works_from_the_keyboard(dashboard: Dashboard, watched: Watched) -> None:
    page = watched.page
    open_view(page, dashboard, "#/hash-collisions")
    cells = page.locator("table.collision-grid button")
    assert cells.count() == 256
    # Each cell says what it is in words, not only in colour.
    assert all((cells.nth(i).get_attribute("aria-label") or "").startswith(f"{i:02X}:")
               for i in (0, 17, 255))  # fmt: skip
    cells.first.focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowDown")
    focused = page.evaluate("document.activeElement.dataset.prefix")
    assert focused == "11"
    page.keyboard.press("Enter")
    assert page.locator(".cell-detail h3").inner_text().startswith("Prefix 11:")
    used = page.locator('table.collision-grid button:not([data-state="empty"])').first
    used.click()
    assert page.locator(".cell-detail li").count() >= 1
    watched.trouble.assert_clean()


def test_a_node_history_is_fetched_only_when_picked(dashboard: Dashboard, watched: Watched) -> None:
    page = watched.page
    details: list[str] = []

    def on_request(request: Request) -> None:
        path = request.url.split("?")[0]
        if path.endswith("/clock-skew") and "/api/nodes/clock-skew" not in path:
            details.append(path)

    page.on("request", on_request)
    open_view(page, dashboard, "#/nodes-skew")
    assert details == []
    page.locator("button.history-button").first.click()
    page.locator("#node-history figure.chart").wait_for()
    assert len(details) == 1
    assert page.locator("#node-history canvas").get_attribute("aria-label")
    screenshot(page, "nodes-skew-history")
    watched.trouble.assert_clean()


def test_observer_drift_follows_the_chosen_observer(dashboard: Dashboard, watched: Watched) -> None:
    page = watched.page
    open_view(page, dashboard, "#/observers-skew")
    history = page.locator(".clock-history")
    first = history.get_attribute("data-pubkey")
    picker = page.locator("#observer-history")
    assert picker.locator("option").count() >= 2
    second = picker.locator("option").nth(1).get_attribute("value")
    picker.select_option(index=1)
    page.wait_for_selector(f'.clock-history[data-pubkey="{second}"]')
    assert first != second
    watched.trouble.assert_clean()


def test_role_nodes_are_paged(dashboard: Dashboard, watched: Watched) -> None:
    page = watched.page
    open_view(page, dashboard, "#/roles")
    caption = page.locator("#s-nodes-by-role ~ * caption").first
    before = caption.inner_text()
    assert before.split(": ")[1].startswith("1–")
    rows = page.locator("#s-nodes-by-role ~ * table.data tbody tr")
    assert 0 < rows.count() <= 25
    nxt = page.locator("button.page-next")
    if nxt.is_enabled():
        nxt.click()
        page.wait_for_selector("#s-nodes-by-role ~ * caption >> text=/: 26–/")
    watched.trouble.assert_clean()
