"""The dashboard's files: served from the package with the CSP, validators and gzip."""

from __future__ import annotations

import re
from pathlib import Path

from meshlens.api.web import CSP, WEB_DIR, load_assets
from tests.api.conftest import Serve


def test_every_dashboard_file_is_served_with_the_security_headers(serve: Serve) -> None:
    server = serve()
    names = sorted(load_assets())
    assert {"index.html", "app.js", "lib/dom.js", "vendor/chart.umd.min.js"} <= set(names)
    with server.client() as http:
        for path in ["/", *(f"/web/{name}" for name in names)]:
            response = http.get(path)
            assert response.status_code == 200, path
            assert response.headers["content-security-policy"] == CSP
            assert response.headers["x-content-type-options"] == "nosniff"
            assert response.headers["referrer-policy"] == "no-referrer"
            assert response.headers["cache-control"] == "no-cache"
        page = http.get("/")
        assert page.headers["content-type"] == "text/html; charset=utf-8"
        assert page.text == (WEB_DIR / "index.html").read_text()


def test_the_csp_allows_no_inline_script_or_style() -> None:
    directives = dict(d.strip().split(" ", 1) for d in CSP.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe" not in CSP


def test_files_revalidate_with_etags_and_compress(serve: Serve) -> None:
    server = serve()
    with server.client() as http:
        plain = http.get("/web/app.js", headers={"Accept-Encoding": "identity"})
        zipped = http.get("/web/vendor/chart.umd.min.js", headers={"Accept-Encoding": "gzip"})
        same = http.get("/web/app.js", headers={
            "Accept-Encoding": "identity", "If-None-Match": plain.headers["etag"]})  # fmt: skip
        head = http.head("/web/app.css")
    assert plain.headers["content-type"] == "text/javascript; charset=utf-8"
    assert "content-encoding" not in plain.headers
    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.headers["etag"].endswith('-gzip"')
    assert zipped.content == (WEB_DIR / "vendor" / "chart.umd.min.js").read_bytes()
    assert same.status_code == 304 and same.content == b""
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-type"] == "text/css; charset=utf-8"


def test_files_revalidate_like_the_api_weak_tags_and_lists(serve: Serve) -> None:
    server = serve()
    with server.client() as http:
        tag = http.get("/web/app.js", headers={"Accept-Encoding": "identity"}).headers["etag"]
        plain = {"Accept-Encoding": "identity"}
        weak = http.get("/web/app.js", headers={**plain, "If-None-Match": f"W/{tag}"})
        listed = http.get("/web/app.js", headers={**plain, "If-None-Match": f'"x", {tag}'})
        other = http.get("/web/app.js", headers={**plain, "If-None-Match": '"x"'})
    assert weak.status_code == 304
    assert listed.status_code == 304
    assert other.status_code == 200


def test_unknown_files_are_a_json_404(serve: Serve) -> None:
    server = serve()
    with server.client() as http:
        missing = http.get("/web/views/nothing.js")
        escape = http.get("/web/../meshlens/api/web.py")
    assert missing.status_code == 404
    assert missing.json() == {"error": "asset not found: views/nothing.js"}
    assert escape.status_code == 404


def test_only_known_file_types_are_loaded(tmp_path: Path) -> None:
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "x.js").write_text("export {};")
    (tmp_path / "notes.py").write_text("secret = 1")
    (tmp_path / "index.html").write_text("<!doctype html>")
    assert sorted(load_assets(tmp_path)) == ["index.html", "lib/x.js"]


def test_the_page_has_no_inline_script_or_style() -> None:
    html = (WEB_DIR / "index.html").read_text()
    assert "<style" not in html and not re.search(r"\sstyle\s*=", html)
    assert all("src=" in tag.split(">")[0] for tag in html.split("<script")[1:])
    assert not re.search(r"\son[a-z]+\s*=", html), "an inline event handler"


def test_no_dashboard_module_parses_html() -> None:
    """API data must never become markup: lib/dom.js builds nodes, nothing uses HTML sinks."""
    sinks = re.compile(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(")
    for path in sorted(WEB_DIR.rglob("*.js")):
        if "vendor" in path.parts:
            continue
        code = [line for line in path.read_text().splitlines() if not line.strip().startswith("//")]
        found = [line.strip() for line in code if sinks.search(line)]
        assert not found, f"{path.relative_to(WEB_DIR)}: {found}"
