"""Parsing and rendering for JSON views: bad input becomes a 4xx problem, never a 500."""

from __future__ import annotations

import json
from typing import TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from qunshop.errors import BadRequest, ErrorCode, Invalid, QunshopError

M = TypeVar("M", bound=BaseModel)


class UnsupportedMediaType(QunshopError):
    status = 415


def _field_errors(exc: ValidationError) -> list[dict[str, object]]:
    return [
        {"loc": [str(p) for p in err["loc"]], "msg": err["msg"], "type": err["type"]}
        for err in exc.errors(include_url=False, include_context=False, include_input=False)
    ]


def _nul_at(data: object) -> list[str] | None:
    """Where a string (or key) holds a NUL character: PostgreSQL cannot store one."""
    stack: list[tuple[list[str], object]] = [([], data)]  # iterative: depth costs no stack
    while stack:
        loc, value = stack.pop()
        if isinstance(value, str) and "\x00" in value:
            return loc
        if isinstance(value, dict):
            for key, item in value.items():
                if "\x00" in str(key):
                    return [*loc, str(key)]
                stack.append(([*loc, str(key)], item))
        elif isinstance(value, list):
            stack.extend(([*loc, str(i)], item) for i, item in enumerate(value))
    return None


def validate(model: type[M], data: object) -> M:
    if (loc := _nul_at(data)) is not None:
        raise Invalid(
            ErrorCode.VALIDATION_FAILED,
            "the request has invalid fields",
            errors=[{"loc": loc, "msg": "NUL characters are not allowed", "type": "nul_char"}],
        )
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise Invalid(
            ErrorCode.VALIDATION_FAILED, "the request has invalid fields", errors=_field_errors(exc)
        ) from None


async def read_json(request: web.Request) -> object:
    if request.content_type != "application/json":
        raise UnsupportedMediaType(
            ErrorCode.UNSUPPORTED_MEDIA_TYPE, "send the body as application/json"
        )
    raw = await request.read()  # aiohttp enforces client_max_size here (413)
    try:
        # json.loads's own reading of bytes (UTF-8, -16 or -32), with a decoder built once:
        # json.loads builds one per call when given parse_constant.
        return _DECODER.decode(raw.decode(json.detect_encoding(raw), "surrogatepass") or "null")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadRequest(ErrorCode.MALFORMED_JSON, f"the body is not valid JSON: {exc}") from None
    except RecursionError:  # JSON nested a thousand deep: no body of ours is
        raise BadRequest(ErrorCode.MALFORMED_JSON, "the body is nested too deeply") from None
    except ValueError:  # an integer of more than 4,300 digits (int_max_str_digits)
        raise BadRequest(ErrorCode.MALFORMED_JSON, "a number in the body is too long") from None


def _no_constant(name: str) -> object:
    """NaN and Infinity are Python's extensions, not JSON."""
    raise json.JSONDecodeError(f"{name} is not JSON", name, 0)


_DECODER = json.JSONDecoder(parse_constant=_no_constant)


async def parse_body(request: web.Request, model: type[M]) -> M:
    return validate(model, await read_json(request))


async def parse_optional_body(request: web.Request, model: type[M]) -> M:
    """A body whose every field is optional: sending none at all means the defaults."""
    if not request.body_exists:
        return validate(model, {})
    return await parse_body(request, model)


def parse_query(request: web.Request, model: type[M]) -> M:
    return validate(model, dict(request.query))


def respond(model: BaseModel | bytes | None, status: int = 200) -> web.Response:
    """A response model, or its JSON already written (bytes), or no content."""
    if model is None:
        return web.Response(status=204)
    body = model if isinstance(model, bytes) else model.model_dump_json(by_alias=True).encode()
    return web.Response(status=status, body=body, content_type="application/json")
