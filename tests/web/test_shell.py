"""The dashboard shell in Chromium: routed by the hash, filtered, keyboard-navigable.

The HTTP side (CSP, validators, gzip, 404s) is tested without a browser in tests/api/test_web.py.
"""

from __future__ import annotations

import pytest

from tests.web.conftest import Dashboard, Watched, open_view

pytestmark = pytest.mark.browser


def test_a_deep_link_opens_its_view_with_its_filters(
    dashboard: Dashboard, watched: Watched
) -> None:
    page = watched.page
    open_view(page, dashboard, "#/rf?region=SJC&window=24h")
    assert page.locator("#region").input_value() == "SJC"
    assert page.locator("#window").input_value() == "24h"
    assert page.locator('nav a[href="#/rf"]').get_attribute("aria-current") == "page"
    assert page.title() == "RF · meshlens"
    watched.trouble.assert_clean()


def test_the_default_route_is_the_overview(dashboard: Dashboard, watched: Watched) -> None:
    open_view(watched.page, dashboard, "")
    assert watched.page.locator("main#view").get_attribute("data-view") == "overview"
    # The overview takes no filters: the selectors are hidden and disabled.
    assert watched.page.locator("#region").is_disabled()
    assert not watched.page.locator("#window").is_visible()
    watched.trouble.assert_clean()


def test_an_unknown_view_says_not_available(dashboard: Dashboard, watched: Watched) -> None:
    open_view(watched.page, dashboard, "#/no-such-view")
    text = watched.page.locator("main#view").inner_text()
    assert "no view called" in text
    watched.trouble.assert_clean()


def test_the_nav_moves_between_views_keeping_the_filters(
    dashboard: Dashboard, watched: Watched
) -> None:
    page = watched.page
    open_view(page, dashboard, "#/rf?region=OAK")
    page.click('nav a[href="#/overview"]')
    page.wait_for_selector('main#view[data-view="overview"][data-state="ready"]')
    page.click('nav a[href="#/rf"]')
    page.wait_for_selector('main#view[data-view="rf"][data-state="ready"]')
    assert page.url.endswith("#/rf?region=OAK")
    watched.trouble.assert_clean()


def test_region_and_window_selectors_change_what_is_shown(
    dashboard: Dashboard, watched: Watched
) -> None:
    page = watched.page
    open_view(page, dashboard, "#/rf")
    everything = page.locator(".stat").first.inner_text()
    page.select_option("#region", "SJC")
    page.wait_for_url("**/#/rf?region=SJC")
    page.wait_for_selector('main#view[data-view="rf"][data-state="ready"]')
    one_region = page.locator(".stat").first.inner_text()
    assert one_region != everything
    page.select_option("#window", "1h")
    page.wait_for_url("**/#/rf?region=SJC&window=1h")
    page.wait_for_selector('main#view[data-view="rf"][data-state="ready"]')
    last_hour = page.locator(".stat").first.inner_text()
    assert last_hour != one_region
    watched.trouble.assert_clean()


def test_the_dashboard_is_keyboard_navigable(dashboard: Dashboard, watched: Watched) -> None:
    page = watched.page
    open_view(page, dashboard, "#/overview")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.getAttribute('href')") == "#/overview"
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # the RF link
    page.wait_for_selector('main#view[data-view="rf"][data-state="ready"]')
    assert page.evaluate("document.activeElement.id") == "view"  # focus follows the view
    outline = page.evaluate(
        "getComputedStyle(document.querySelector('#window'), null).outlineStyle"
    )
    page.focus("#window")
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") == "solid"
    assert outline == "none"  # the ring appears only with focus
    watched.trouble.assert_clean()
