"""/openapi.json, generated from the route table, so it lists exactly what is served."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from meshlens import __version__
from meshlens.api.resources.schemas import RESOURCE_COMPONENTS
from meshlens.api.routes import RouteSpec
from meshlens.api.schemas import COMPONENTS, Schema


def _operation(spec: RouteSpec) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for status, doc in sorted(spec.responses.items()):
        entry: dict[str, Any] = {"description": doc.description}
        if doc.schema is not None:
            entry["content"] = {doc.media: {"schema": doc.schema}}
        responses[str(status)] = entry
    operation: dict[str, Any] = {
        "summary": spec.summary,
        "tags": [spec.tag],
        "operationId": spec.method.lower() + re.sub(r"[^A-Za-z0-9]+", "_", spec.path),
        "responses": responses,
    }
    if spec.params:
        operation["parameters"] = [
            {
                "name": p.name,
                "in": p.where,
                "required": p.where == "path",
                "schema": p.schema,
                "description": p.description,
            }
            for p in spec.params
        ]
    if spec.body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": spec.body}},
        }
    return operation


def build_openapi(specs: Iterable[RouteSpec]) -> dict[str, Any]:
    """An OpenAPI 3.1 document of `specs` (its schemas are JSON Schema 2020-12)."""
    paths: dict[str, dict[str, Any]] = {}
    for spec in specs:
        # Starlette's converters (`{asset:path}`) are not part of an OpenAPI template.
        path = re.sub(r"{(\w+):\w+}", r"{\1}", spec.path)
        paths.setdefault(path, {})[spec.method.lower()] = _operation(spec)
    schemas: dict[str, Schema] = {**COMPONENTS, **RESOURCE_COMPONENTS}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "meshlens",
            "version": __version__,
            "description": "Analytics for MeshCore mesh radio networks; CoreScope-compatible"
            " routes. Default-shape analytics are background-recomputed snapshots"
            " (ETag/304, Age, Cache-Control); see docs/api.md.",
        },
        "paths": paths,
        "components": {"schemas": schemas},
    }
