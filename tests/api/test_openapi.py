"""/openapi.json lists every route served, and real responses validate against it."""

from __future__ import annotations

import re
from typing import Any

import httpx
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from meshlens.config import Settings
from tests.api.conftest import Serve, chatter
from tests.api.probe import PROBE_ROUTE
from tests.api.running import seed
from tests.ingest.helpers import advert_frame

DOC_URI = "urn:meshlens:openapi"


def _validate(doc: dict[str, Any], method: str, path: str, response: httpx.Response) -> None:
    """The status is documented, and the body matches its schema."""
    operation = doc["paths"][path][method]
    documented = operation["responses"]
    status = str(response.status_code)
    assert status in documented, f"{method.upper()} {path} answered undocumented {status}"
    content = documented[status].get("content")
    if content is None:
        assert response.content == b""
        return
    media, spec = next(iter(content.items()))
    assert response.headers["content-type"].split(";")[0] == media.split(";")[0]
    if media != "application/json":
        return
    registry: Registry[Any] = Registry().with_resource(
        DOC_URI, Resource.from_contents(doc, default_specification=DRAFT202012)
    )
    schema = spec["schema"]
    if "$ref" in schema:
        schema = {"$ref": DOC_URI + schema["$ref"]}
    Draft202012Validator(schema, registry=registry).validate(response.json())


def test_real_responses_match_the_openapi_document(serve: Serve, settings: Settings) -> None:
    seed(settings, chatter(5))
    server = serve()
    server.wait_ready()
    with server.client() as http:
        doc = http.get("/openapi.json").json()
        assert doc["openapi"] == "3.1.0"
        Draft202012Validator.check_schema({"$defs": doc["components"]["schemas"]})
        checked = 0
        for path, operations in doc["paths"].items():
            for method in operations:
                if method != "get":
                    continue
                url = path.replace("{observer}", "obs0").replace("{pubkey}", "ab" * 32)
                _validate(doc, method, path, http.get(url))
                checked += 1
        assert checked == len([p for p in doc["paths"].values() if "get" in p])
        # the other statuses each route documents
        _validate(doc, "get", PROBE_ROUTE, http.get(PROBE_ROUTE, params={"window": "x"}))
        etag = http.get(PROBE_ROUTE).headers["etag"]
        _validate(doc, "get", PROBE_ROUTE, http.get(PROBE_ROUTE, headers={"If-None-Match": etag}))
        _validate(doc, "get", PROBE_ROUTE, http.get(PROBE_ROUTE, params={"region": "SEA"}))
        detail = "/api/probe/{observer}/detail"
        _validate(doc, "get", detail, http.get("/api/probe/nobody/detail"))
        decoded = http.post("/api/decode", json={"hex": advert_frame(3).hex()})
        _validate(doc, "post", "/api/decode", decoded)
        _validate(doc, "post", "/api/decode", http.post("/api/decode", json={"hex": "11"}))


def test_the_document_lists_exactly_the_routes_served(serve: Serve) -> None:
    server = serve()
    with server.client() as http:
        doc = http.get("/openapi.json").json()
    served = {
        (_template(route.path), m) for route in _routes(server) for m in route.methods - {"HEAD"}
    }
    documented = {(path, m.upper()) for path, ops in doc["paths"].items() for m in ops}
    assert served == documented
    assert "/api/analytics/rf" in doc["paths"]  # every registry entry, built or not
    params = {p["name"] for p in doc["paths"][PROBE_ROUTE]["get"]["parameters"]}
    assert params == {"region", "window", "from", "to"}


def _template(path: str) -> str:
    """A Starlette path as OpenAPI writes it (`{asset:path}` -> `{asset}`)."""
    return re.sub(r"{(\w+):\w+}", r"{\1}", path)


def _routes(server: Any) -> list[Any]:
    return list(server.server.app.inner.routes)
