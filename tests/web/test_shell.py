"""The dashboard shell: served with its security headers, routed by the hash, filtered."""

from __future__ import annotations

import httpx
import pytest

from tests.web.conftest import Dashboard, Watched, open_view

pytestmark = pytest.mark.browser


def test_page_and_files_carry_a_csp_without_inline_script(dashboard: Dashboard) -> None:
    with httpx.Client(base_url=dashboard.base) as http:
        for path in ("/", "/web/app.js", "/web/app.css", "/web/vendor/chart.umd.min.js"):
            response = http.get(path)
            assert response.status_code == 200, path
            csp = response.headers["content-security-policy"]
            assert "script-src 'self';" in csp
            assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
            assert "object-src 'none'" in csp and "frame-ancestors 'none'" in csp
            assert response.headers["x-content-type-options"] == "nosniff"
            assert response.headers["referrer-policy"] == "no-referrer"
        assert http.get("/").headers["content-type"] == "text/html; charset=utf-8"
        js = http.get("/web/app.js")
        assert js.headers["content-type"] == "text/javascript; charset=utf-8"
        again = http.get("/web/app.js", headers={"If-None-Match": js.headers["etag"]})
        assert again.status_code == 304
        missing = http.get("/web/views/nothing-here.js")
        assert missing.status_code == 404
        assert missing.json() == {"error": "asset not found: views/nothing-here.js"}


def test_the_page_has_no_inline_script_or_style(dashboard: Dashboard) -> None:
    html = httpx.get(dashboard.url()).text
    assert "<style" not in html and " style=" not in html
    assert all("src=" in tag for tag in html.split("<script")[1:])


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
