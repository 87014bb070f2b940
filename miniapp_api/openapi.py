"""Builds the OpenAPI 3.1 document from the pydantic models each view declares.

Pydantic v2 emits JSON Schema 2020-12, which is OpenAPI 3.1's own schema dialect, so the
models' schemas go into ``components`` unchanged.
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from miniapp_api.fields import PATH_SCHEMAS, RequestSchema
from miniapp_api.schemas import Problem
from miniapp_api.spec import EndpointSpec, spec_of

_PARAM = re.compile(r"{([^}:]+)(?::[^}]*)?}")
_REASONS = {
    400: "Malformed request",
    401: "Not logged in, or the token expired",
    403: "Not allowed for this user",
    404: "Not found",
    409: "Conflicts with the current state",
    413: "Body too large",
    415: "Wrong content type",
    422: "Invalid fields or values",
    429: "Too many requests",
    502: "An upstream platform failed",
    503: "A dependency is down",
}


Refs = dict[tuple[type[BaseModel], str], Any]


def _operation(spec: EndpointSpec, path: str, refs: Refs) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": spec.summary, "tags": list(spec.tags)}
    params: list[dict[str, Any]] = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": PATH_SCHEMAS.get(name, {"type": "string"}),
        }
        for name in _PARAM.findall(path)
    ]
    if spec.query is not None:
        query = spec.query.model_json_schema(schema_generator=RequestSchema)
        props = query["properties"]
        required = set(query.get("required", []))
        for name, field in spec.query.model_fields.items():
            key = field.alias or name
            params.append(
                {"name": key, "in": "query", "required": key in required, "schema": props[key]}
            )
    if spec.idempotent_key:
        params.append(
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "description": "A repeat with the same key replays the first response",
                "schema": {"type": "string", "minLength": 1, "maxLength": 128},
            }
        )
    if params:
        op["parameters"] = params
    if spec.body is not None:
        op["requestBody"] = {
            "required": True,
            "content": {spec.request_media: {"schema": refs[(spec.body, "validation")]}},
        }
    if spec.response is None:
        op["responses"] = {str(spec.status): {"description": "Done"}}
    else:
        op["responses"] = {
            str(spec.status): {
                "description": "OK",
                "content": {
                    spec.response_media: {"schema": refs[(spec.response, "serialization")]}
                },
            }
        }
    problem = {"application/problem+json": {"schema": refs[(Problem, "serialization")]}}
    codes = set(spec.errors) | {500}
    if spec.body is not None:
        codes |= {400, 413, 415, 422}
    if spec.query is not None:
        codes.add(422)
    if spec.idempotent_key:  # a malformed key is 422; a key reused or still running, 409
        codes |= {409, 422}
    if spec.auth:
        codes |= {401, 403}
        op["security"] = [{"bearer": []}]
    for code in sorted(codes):
        op["responses"][str(code)] = {
            "description": _REASONS.get(code, "Failed"),
            "content": problem,
        }
    return op


def build_openapi(app: web.Application, *, title: str, version: str) -> dict[str, Any]:
    routes: list[tuple[str, str, EndpointSpec]] = []
    wanted: set[tuple[type[BaseModel], str]] = {(Problem, "serialization")}
    for route in app.router.routes():
        spec = spec_of(route.handler)
        # aiohttp adds a HEAD twin to every GET: the same handler, not another operation.
        if spec is None or route.resource is None or route.method == "HEAD":
            continue
        path = _PARAM.sub(lambda m: "{" + m.group(1) + "}", route.resource.canonical)
        routes.append((path, route.method.lower(), spec))
        if spec.body is not None:
            wanted.add((spec.body, "validation"))
        if spec.response is not None:
            wanted.add((spec.response, "serialization"))
    refs, defs = models_json_schema(
        sorted(wanted, key=lambda pair: (pair[0].__name__, pair[1])),
        ref_template="#/components/schemas/{model}",
        schema_generator=RequestSchema,
    )
    paths: dict[str, dict[str, Any]] = {}
    for path, method, spec in routes:
        paths.setdefault(path, {})[method] = _operation(spec, path, refs)
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": defs.get("$defs", {}),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
