"""The hash, roles and clock views: data in charts and tables, keyboard use, lazy loads."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Request

from tests.web.conftest import Dashboard, Watched, open_view, screenshot, watch

pytestmark = pytest.mark.browser

# view -> (charts at least, filled table rows at least)
VIEWS = {
    "hash-sizes": (4, 3),
    "hash-collisions": (2, 1),
    "roles": (3, 4),
    "observers-skew": (2, 3),
    "nodes-skew": (3, 10),
}


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("view", sorted(VIEWS))
def test_view_renders_charts_and_tables_with_data(
    dashboard: Dashboard, browser: Browser, view: str, scheme: str
) -> None:
    context = browser.new_context(
        viewport={"width": 1280, "height": 900},
        color_scheme=scheme,  # type: ignore[arg-type]
    )
    try:
        page = context.new_page()
        trouble = watch(page)
        open_view(page, dashboard, f"#/{view}")
        charts, rows = VIEWS[view]
        figures = page.locator("main#view figure.chart")
        assert figures.count() >= charts
        for i in range(figures.count()):  # every chart has a text alternative
            canvas = figures.nth(i).locator("canvas")
            if canvas.count():
                assert (canvas.get_attribute("aria-label") or "").strip()
        filled = page.locator("main#view table.data tbody tr:not(:has(td.empty))")
        assert filled.count() >= rows
        screenshot(page, f"{view}-{scheme}")
        trouble.assert_clean()
    finally:
        context.close()


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


def test_the_views_are_readable_on_a_phone(dashboard: Dashboard, browser: Browser) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    try:
        page = context.new_page()
        trouble = watch(page)
        for view in sorted(VIEWS):
            open_view(page, dashboard, f"#/{view}")
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, f"{view} scrolls sideways on a phone ({width}px)"
            screenshot(page, f"{view}-phone")
        trouble.assert_clean()
    finally:
        context.close()
