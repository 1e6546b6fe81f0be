"""docs/api.md documents every route the server serves (STYLE.md rule 16)."""

from __future__ import annotations

from meshlens.analytics.registry import ANALYTICS
from tests.api.conftest import Serve
from tests.conftest import REPO


def test_every_served_route_is_in_docs_api_md(serve: Serve) -> None:
    text = (REPO / "docs" / "api.md").read_text()
    server = serve(analytics=ANALYTICS)
    with server.client() as http:
        paths = http.get("/openapi.json").json()["paths"]
    missing = sorted(path for path in paths if f"{path}`" not in text)
    assert not missing, f"add to docs/api.md: {missing}"
