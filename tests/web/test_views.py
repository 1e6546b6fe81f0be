"""Every view renders its charts and tables with data, cleanly; on a phone, in the dark."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from tests.web.conftest import Dashboard, open_view, screenshot, watch

pytestmark = pytest.mark.browser

# view -> (charts at least, filled table rows at least); every view of the dashboard
VIEWS = {
    "overview": (1, 2),
    "rf": (6, 1),
    "topology": (4, 3),
    "distance": (3, 3),
    "channels": (4, 2),
    "hash-sizes": (4, 3),
    "hash-collisions": (2, 1),
    "roles": (3, 4),
    "observers-skew": (2, 3),
    "nodes-skew": (3, 10),
}
# the freshness line names the analytic, which for the clock views is not the view's name
ANALYTIC_OF_VIEW = {"observers-skew": "observers-clock-skew", "nodes-skew": "nodes-clock-skew"}


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
                assert canvas.get_attribute("role") == "img"
        filled = page.locator("main#view table.data tbody tr:not(:has(td.empty))")
        assert filled.count() >= rows
        if view != "overview":  # each analytic view says how old its snapshot is
            analytic = ANALYTIC_OF_VIEW.get(view, view)
            expect(page.locator("#freshness")).to_contain_text(f"{analytic}: snapshot")
            expect(page.locator("#freshness")).to_contain_text("next recompute")
        screenshot(page, f"{view}-{scheme}")
        trouble.assert_clean()
    finally:
        context.close()


def test_views_are_readable_on_a_phone_in_the_dark(dashboard: Dashboard, browser: Browser) -> None:
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, color_scheme="dark"
    )
    try:
        page = context.new_page()
        trouble = watch(page)
        for view in sorted(VIEWS):
            open_view(page, dashboard, f"#/{view}")
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, f"{view} scrolls sideways on a phone ({width}px)"
            background = page.evaluate("getComputedStyle(document.documentElement).backgroundColor")
            assert background == "rgb(17, 21, 28)"  # the dark theme's --bg
            screenshot(page, f"{view}-phone-dark", full_page=False)
        trouble.assert_clean()
    finally:
        context.close()


def test_reach_rings_load_one_observer_at_a_time(dashboard: Dashboard, browser: Browser) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        trouble = watch(page)
        fetched: list[str] = []
        page.on("request", lambda r: fetched.append(r.url.split("/", 3)[3]))
        open_view(page, dashboard, "#/topology")
        picker = page.locator("#reach-observer")
        options = picker.locator("option")
        assert options.count() >= 2
        caption = page.locator('section[aria-labelledby="s-reach-rings"] figcaption')
        expect(caption).to_contain_text(options.nth(0).inner_text())
        picker.select_option(index=1)
        expect(caption).to_contain_text(options.nth(1).inner_text())
        reads = [u for u in fetched if u.startswith("api/analytics/topology")]
        # the summary, then each observer shown; never the whole body with every ring
        assert reads[0] == "api/analytics/topology/summary"
        assert len(reads) == 3 and "api/analytics/topology" not in reads
        trouble.assert_clean()
    finally:
        context.close()


def test_channel_messages_load_for_the_chosen_channel(
    dashboard: Dashboard, browser: Browser
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        trouble = watch(page)
        open_view(page, dashboard, "#/channels")
        messages = page.locator("#s-latest-messages ~ * table.data tbody tr")
        assert messages.count() > 0
        assert not messages.first.locator("td.empty").count()
        trouble.assert_clean()
    finally:
        context.close()
