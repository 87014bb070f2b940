"""Errors under the web door's paths answer as pages, not problem+json.

The app's one middleware (``qunshop.assembly.middlewares``) hands this module the errors of
these paths (a service's, or a 404 from the router); the other paths' become problem+json.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from aiohttp import web

from qunshop.error_words import message_of, readable
from qunshop.errors import ErrorCode, QunshopError
from qunshop.keys import request_id_of
from services import health
from web.labels import field_name
from web.render import render

logger = logging.getLogger(__name__)

PREFIXES = ("/h5/", "/h5", "/console", "/admin")
MACHINE_PREFIXES = ("/api/", "/bot/", "/pay/")  # their callers read problem+json codes

# A service's field error kinds (its ``errors[].type``), as a person is told them.
PROBLEMS = {
    "in_the_past": "已经过去了，请选一个将来的时间",
    "text_required": "请填写内容",
    "too_long": "太长了，请删减一些",
    "schedule_required": "请选择时间",
    "price_above_list": "不能高于商品原价",
}


def _said(errors: object) -> str:
    """A service's first field error (``{"loc": [field], "type": kind}``) in a person's
    words, when its kind is one this page knows; else nothing."""
    if not isinstance(errors, list) or not errors or not isinstance(errors[0], dict):
        return ""
    first = errors[0]
    problem = PROBLEMS.get(str(first.get("type", "")))
    loc = first.get("loc") or [""]
    return f"{field_name(str(loc[-1]))}：{problem}" if problem else ""


def form_problem(exc: QunshopError) -> str:
    """What to fix in a form, in a person's words: a validation error's own detail when it
    is written for a person (in Chinese), else its first field error's kind when known."""
    fix = readable(exc.detail) if exc.code is ErrorCode.VALIDATION_FAILED else ""
    return fix or _said(exc.extra.get("errors"))


def is_page_path(path: str) -> bool:
    return path == "/" or path.startswith(PREFIXES)


def answers_as_page(request: web.Request, exc: Exception) -> bool:
    """Whether this error leaves as a page: everything under the web door's paths, and an
    address nobody serves asked for by a browser (a mistyped ``/consol``), outside the
    paths of the API, the webhooks and the payment notifies, whose callers read codes."""
    if is_page_path(request.path):
        return True
    return (
        isinstance(exc, web.HTTPNotFound)
        and not request.path.startswith(MACHINE_PREFIXES)
        and _prefers_html(request.headers.get("Accept", ""))
    )


def _prefers_html(accept: str) -> bool:
    """A browser's Accept names text/html above JSON; ``*/*`` alone (curl) is not one."""
    weights: dict[str, float] = {}
    for part in accept.split(","):
        kind, *params = (piece.strip() for piece in part.split(";"))
        weight = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        weights[kind.lower()] = max(weight, weights.get(kind.lower(), 0.0))
    html = weights.get("text/html", 0.0)
    data = max(weights.get("application/json", 0.0), weights.get("application/problem+json", 0.0))
    return html > 0 and html > data


def back_link(request: web.Request, status: int, home: str = "") -> str:
    """Where the page's 返回 link goes: the page the person came from on this site (a form
    they can fix, the browser keeping what they typed), else their console's home; none for
    a shopper's page or when signing in is what is missing. Refused (403), not back to the
    refused page itself but to ``home``, the pages that are theirs when a whole console is
    not (web/auth.py), else as any other error."""
    if status == 401:
        return ""
    came = urlsplit(request.headers.get("Referer", ""))
    refused_here = status == 403 and came.path == request.path
    if came.netloc == request.host and is_page_path(came.path) and not refused_here:
        return came.path + (f"?{came.query}" if came.query else "")
    if status == 403 and home:
        return home
    for console in ("/console", "/admin"):
        if request.path.startswith(console) and request.path != console:
            return console
    return ""


def error_page(
    request: web.Request, status: int, code: str, detail: str = "", home: str = ""
) -> web.Response:
    """``detail``: what to fix in a form (a validation error's field and rule), else nothing;
    ``home``: where a person refused a whole console goes back to (``back_link``)."""
    message = message_of(status, code)
    rid = request_id_of(request)
    values = {
        "status": status,
        "code": code,
        "message": message,
        "detail": detail,
        "request_id": rid,
        "back": back_link(request, status, home),
        # A shopper's page has no console to go back to: the group chat is where deals are.
        "to_the_group": status == 404 and request.path.startswith("/h5/"),
        # An address nobody serves: the front page says where each door is.
        "to_the_front": status == 404 and not is_page_path(request.path),
    }
    return render(request.config_dict, "error.html", values, status=status)


def error_response(request: web.Request, exc: Exception) -> web.Response:
    """An error under the web door's paths as a page (a redirect is not an error)."""
    if isinstance(exc, QunshopError):
        home = str(exc.extra.get("home", ""))
        return error_page(request, exc.status, exc.code.value, form_problem(exc), home)
    if isinstance(exc, web.HTTPException):
        return error_page(request, exc.status, f"http_{exc.status}")
    rid = request_id_of(request)
    if health.is_outage(exc):
        logger.warning(
            "dependency down on %s %s (request %s): %s", request.method, request.path, rid, exc
        )
        return error_page(request, 503, ErrorCode.SERVICE_UNAVAILABLE.value)
    logger.error(
        "unhandled error on %s %s (request %s)", request.method, request.path, rid, exc_info=exc
    )
    return error_page(request, 500, ErrorCode.INTERNAL_ERROR.value)
