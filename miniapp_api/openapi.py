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

from miniapp_api.error_codes import reachable_codes
from miniapp_api.fields import PATH_SCHEMAS, RequestSchema
from miniapp_api.idempotency import idempotent
from miniapp_api.schemas import Problem
from miniapp_api.spec import EndpointSpec, spec_of
from models.groupbuy import TeamStatus
from qunshop.errors import ErrorCode
from services import groupbuy, roles
from services.auth import read_token

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


# Codes the transport answers with, whatever the view: by what the endpoint takes.
BODY_CODES = {
    400: {ErrorCode.MALFORMED_JSON},
    413: {ErrorCode.PAYLOAD_TOO_LARGE},
    415: {ErrorCode.UNSUPPORTED_MEDIA_TYPE},
    422: {ErrorCode.VALIDATION_FAILED},
}
ALWAYS = {500: {ErrorCode.INTERNAL_ERROR}, 503: {ErrorCode.SERVICE_UNAVAILABLE}}

# Members some codes' problems carry beside the code, where the code alone says too little.
PROBLEM_MEMBERS: dict[ErrorCode, dict[str, Any]] = {
    ErrorCode.TEAM_CLOSED: {
        "state": {
            "enum": [TeamStatus.SUCCEEDED.value, TeamStatus.FAILED.value, groupbuy.ENDED],
            "description": (
                "team_closed, from a join: succeeded (the team filled: 成团), failed (it ended"
                " short) or ended (its deadline passed and it is being settled)"
            ),
        },
        "team_code": {"type": "string", "description": "team_closed, from a join: the team's"},
    },
}


def error_codes(spec: EndpointSpec, view: Any) -> dict[int, set[ErrorCode]]:
    """Status -> the codes the endpoint can answer with (see miniapp_api/error_codes.py)."""
    found: dict[int, set[ErrorCode]] = {k: set(v) for k, v in ALWAYS.items()}
    extra = [reachable_codes(view)]
    if spec.body is not None and spec.request_media == "application/json":
        extra.append(BODY_CODES)
    if spec.query is not None:
        extra.append({422: {ErrorCode.VALIDATION_FAILED}})
    if spec.reader is not None:  # the token is read by read_caller, before the view
        extra += [reachable_codes(read_token), reachable_codes(roles.current)]
        extra.append(reachable_codes(spec.reader))
    if spec.idempotent_key:
        extra.append(reachable_codes(idempotent))
    for more in extra:
        for status, codes in more.items():
            found.setdefault(status, set()).update(codes)
    return found


def _operation(spec: EndpointSpec, view: Any, path: str, refs: Refs) -> dict[str, Any]:
    op: dict[str, Any] = {
        "operationId": view.__name__,
        "summary": spec.summary,
        "tags": list(spec.tags),
    }
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
    problem_ref = refs[(Problem, "serialization")]
    by_status = error_codes(spec, view)
    codes = set(spec.errors) | set(by_status)
    if spec.body is not None:
        codes |= {400, 413, 415, 422}
    if spec.query is not None:
        codes.add(422)
    if spec.idempotent_key:  # a malformed key is 422; a key reused or still running, 409
        codes |= {409, 422}
    if spec.reader is not None:  # 403 only where a role or ownership check can refuse (found below)
        codes.add(401)
        op["security"] = [{}, {"bearer": []}] if spec.optional_auth else [{"bearer": []}]
    for code in sorted(codes):
        listed = sorted(c.value for c in by_status.get(code, ()))
        schema = dict(problem_ref)
        if listed:  # JSON Schema 2020-12 (OpenAPI 3.1) allows keywords beside $ref
            schema["properties"] = {"code": {"enum": listed}}
            for found in sorted(by_status.get(code, ())):
                schema["properties"].update(PROBLEM_MEMBERS.get(found, {}))
        op["responses"][str(code)] = {
            "description": _REASONS.get(code, "Failed")
            + (f" ({', '.join(listed)})" if listed else ""),
            "content": {"application/problem+json": {"schema": schema}},
        }
    op["x-error-codes"] = sorted({c.value for found in by_status.values() for c in found})
    return op


def build_openapi(app: web.Application, *, title: str, version: str) -> dict[str, Any]:
    routes: list[tuple[str, str, EndpointSpec, Any]] = []
    wanted: set[tuple[type[BaseModel], str]] = {(Problem, "serialization")}
    for route in app.router.routes():
        spec = spec_of(route.handler)
        # aiohttp adds a HEAD twin to every GET: the same handler, not another operation.
        if spec is None or route.resource is None or route.method == "HEAD":
            continue
        path = _PARAM.sub(lambda m: "{" + m.group(1) + "}", route.resource.canonical)
        routes.append((path, route.method.lower(), spec, route.handler))
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
    for path, method, spec, view in routes:
        paths.setdefault(path, {})[method] = _operation(spec, view, path, refs)
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": defs.get("$defs", {}),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
