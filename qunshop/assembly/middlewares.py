"""The one middleware every request passes through: request ids, metrics and the access log,
errors as problem+json (or pages), the NUL guard and the caller. Every failure leaves as
application/problem+json with a stable code, or as a page under the web door's paths."""

from __future__ import annotations

import functools
import json
import logging
import os
import re
import time
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from miniapp_api.auth import read_caller
from qunshop.assembly.metrics import Metrics, route_of
from qunshop.errors import BadRequest, ErrorCode, QunshopError
from qunshop.keys import REQUEST_ID
from qunshop.logcontext import REQUEST_ID as REQUEST_ID_VAR
from qunshop.logcontext import UPDATE_KEY
from services import health
from web.errors import answers_as_page, error_response

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


def edge_middleware(metrics: Metrics) -> Middleware:
    """What every request passes through, in one frame rather than one per concern (each
    frame of aiohttp's chain costs a refused flash-sale buyer about 1.5 % of its CPU), in
    this order:

    - its request id (a safe incoming ``X-Request-ID``, else a fresh one) on the request,
      on the log lines of the request (``qunshop.logcontext``) and on its response;
    - its count and time by route template (``metrics``) and one access log line, both with
      the status it left with (499: cancelled, the client went away);
    - errors as answers: under the web door's paths, and a browser's 404 outside the API's,
      as pages (``web.errors``), elsewhere, or when the page itself fails, as
      application/problem+json; a redirect passes;
    - a NUL in the path or query refused before any view, so it never reaches PostgreSQL;
    - the caller read from the bearer token (``miniapp_api.auth.read_caller``) before the
      view: Redis down there is a 503 (or its page), not a 500.
    """

    @web.middleware
    async def edge(request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        # 32 random lowercase hex digits, as uuid4().hex gave, for less. Not the random
        # module: ids are echoed to clients, and enough of them would give away its state.
        rid = incoming if _SAFE_ID.match(incoming) else os.urandom(16).hex()
        request[REQUEST_ID] = rid
        rid_token = REQUEST_ID_VAR.set(rid)
        key_token = UPDATE_KEY.set(None)
        status = 499  # cancelled, unless an answer or a redirect says otherwise
        try:
            try:
                if "\x00" in request.path or "\x00" in request.query_string:  # both decoded
                    raise BadRequest(ErrorCode.URL_HAS_NUL, "the URL holds a NUL character")
                await read_caller(request, request.app)  # the root app: these middlewares'
                response = await handler(request)
            except web.HTTPException as exc:
                if exc.status < 400:  # a redirect
                    status = exc.status
                    raise
                response = _error_answer(request, exc, rid)
            except Exception as exc:
                response = _error_answer(request, exc, rid)
            status = response.status
            if not response.prepared:
                response.headers.setdefault(REQUEST_ID_HEADER, rid)
            return response
        finally:
            seconds = time.perf_counter() - started
            metrics.observe(request.method, route_of(request), status, seconds)
            REQUEST_ID_VAR.reset(rid_token)
            UPDATE_KEY.reset(key_token)
            if access_logger.isEnabledFor(logging.INFO):
                log_access(request, status, started, rid)

    return edge


def _error_answer(request: web.Request, exc: Exception, rid: str) -> web.Response:
    if answers_as_page(request, exc):
        try:
            return error_response(request, exc)
        except Exception as failed:  # the error page itself failed: a problem, then
            exc = failed
    return problem_for(request, exc, rid)


def problem_for(request: web.Request, exc: Exception, rid: str) -> web.Response:
    """An error as application/problem+json: a service's with its code, an HTTP error with
    its status's, a dependency down as 503, anything else logged and a bare 500."""
    if isinstance(exc, QunshopError):
        return problem(exc.status, exc.code.value, exc.detail, rid, **exc.extra)
    if isinstance(exc, web.HTTPException):
        code = _HTTP_CODES.get(exc.status)
        if code is None:
            code_text = (exc.reason or "error").lower().replace(" ", "_")
        else:
            code_text = code.value
        answer = problem(exc.status, code_text, exc.reason or code_text, rid)
        if "Allow" in exc.headers:  # a 405 names the methods that are allowed (RFC 9110)
            answer.headers["Allow"] = exc.headers["Allow"]
        return answer
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
    logger.error(
        "unhandled error on %s %s (request %s)",
        request.method,
        request.path,
        rid,
        exc_info=exc,
    )
    return problem(
        500, ErrorCode.INTERNAL_ERROR.value, "the server failed; quote the request id", rid
    )
