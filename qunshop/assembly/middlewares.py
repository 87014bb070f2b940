"""Request ids and errors: every failure leaves as application/problem+json with a stable code."""

from __future__ import annotations

import functools
import json
import logging
import os
import re
import time
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from qunshop.errors import BadRequest, ErrorCode, QunshopError
from qunshop.keys import REQUEST_ID, request_id_of
from services import health

logger = logging.getLogger(__name__)
access_logger = logging.getLogger("qunshop.access")

REQUEST_ID_HEADER = "X-Request-ID"
PROBLEM_TYPE = "application/problem+json; charset=utf-8"
_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")

_HTTP_CODES = {
    404: ErrorCode.ROUTE_NOT_FOUND,
    405: ErrorCode.METHOD_NOT_ALLOWED,
    413: ErrorCode.PAYLOAD_TOO_LARGE,
    415: ErrorCode.UNSUPPORTED_MEDIA_TYPE,
}


def problem(status: int, code: str, detail: str, request_id: str, **extra: Any) -> web.Response:
    if extra:
        body = json.dumps(
            {**_problem_fields(status, code, detail), "request_id": request_id, **extra},
            ensure_ascii=False,
            default=str,
        ).encode()
    else:  # most refusals: the same bytes as above, the fixed part rendered once
        rid = json.dumps(request_id, ensure_ascii=False).encode()
        body = _problem_head(status, code, detail) + b', "request_id": ' + rid + b"}"
    return web.Response(
        status=status,
        body=body,
        headers={"Content-Type": PROBLEM_TYPE, REQUEST_ID_HEADER: request_id},
    )


def _problem_fields(status: int, code: str, detail: str) -> dict[str, Any]:
    return {
        "type": f"urn:qunshop:problem:{code}",
        "title": code.replace("_", " "),
        "status": status,
        "code": code,
        "detail": detail,
    }


@functools.lru_cache(maxsize=1024)
def _problem_head(status: int, code: str, detail: str) -> bytes:
    """A problem's body up to its request id, without the closing brace. A burst of refusals
    repeats a few of these thousands of times."""
    return json.dumps(_problem_fields(status, code, detail), ensure_ascii=False)[:-1].encode()


def log_access(request: web.Request, status: int, started: float, rid: str) -> None:
    """One line per request: method, path, status, duration and request id."""
    millis = (time.perf_counter() - started) * 1000
    access_logger.info(
        "%s %s %s %.1fms %s",
        request.method,
        request.path,
        status,
        millis,
        rid,
        extra={
            "method": request.method,
            "path": request.path,
            "status": status,
            "duration_ms": round(millis, 1),
            "request_id": rid,
        },
    )


@web.middleware
async def request_id_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    started = time.perf_counter()
    incoming = request.headers.get(REQUEST_ID_HEADER, "")
    # 32 random lowercase hex digits, as uuid4().hex gave, for less. Not the random module:
    # ids are echoed to clients, and enough of them would give away its state.
    rid = incoming if _SAFE_ID.match(incoming) else os.urandom(16).hex()
    request[REQUEST_ID] = rid
    logged = access_logger.isEnabledFor(logging.INFO)
    try:
        response = await handler(request)
    except web.HTTPException as exc:  # a redirect (errors became problems further in)
        if logged:
            log_access(request, exc.status, started, rid)
        raise
    except BaseException:  # cancelled: the client went away mid-request
        if logged:
            log_access(request, 499, started, rid)
        raise
    if not response.prepared:
        response.headers.setdefault(REQUEST_ID_HEADER, rid)
    if logged:
        log_access(request, response.status, started, rid)
    return response


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    rid = request_id_of(request)
    try:
        return await handler(request)
    except QunshopError as exc:
        return problem(exc.status, exc.code.value, exc.detail, rid, **exc.extra)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = _HTTP_CODES.get(exc.status)
        if code is None:
            code_text = (exc.reason or "error").lower().replace(" ", "_")
        else:
            code_text = code.value
        answer = problem(exc.status, code_text, exc.reason or code_text, rid)
        if "Allow" in exc.headers:  # a 405 names the methods that are allowed (RFC 9110)
            answer.headers["Allow"] = exc.headers["Allow"]
        return answer
    except Exception as exc:
        if health.is_outage(exc):  # the database or Redis is down: retry later, not a bug
            logger.warning(
                "dependency down on %s %s (request %s): %s", request.method, request.path, rid, exc
            )
            return problem(
                503,
                ErrorCode.SERVICE_UNAVAILABLE.value,
                "a dependency is down; retry shortly",
                rid,
            )
        logger.exception("unhandled error on %s %s (request %s)", request.method, request.path, rid)
        return problem(
            500, ErrorCode.INTERNAL_ERROR.value, "the server failed; quote the request id", rid
        )


@web.middleware
async def nul_guard_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A NUL in the decoded path or query is refused here, once for every door: PostgreSQL
    text cannot hold one, so it would reach a query only to fail there as a 500."""
    if "\x00" in request.path or "\x00" in request.query_string:  # both decoded
        raise BadRequest(ErrorCode.URL_HAS_NUL, "the URL holds a NUL character")
    return await handler(request)
