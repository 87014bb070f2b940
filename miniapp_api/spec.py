"""``@endpoint``: what a JSON endpoint takes and gives, declared once, and done as declared.

The declaration feeds /openapi.json and also runs the request: it reads the caller (the
``auth`` reader: ``principal``, ``staff`` or ``optional_principal``), holds the
Idempotency-Key, parses the query and the body, and hands the view what it names among
its keyword-only parameters:

    principal   the caller, as ``auth`` read them
    body        the parsed ``body`` model        query   the parsed ``query`` model
    <name>      the path parameter ``{name}``    config  the app's resources
    now         the clock's time                 clock, settings, redis, http, pay, flash_gate
    request     the request itself (headers, the peer's address)

The view returns a response model (rendered with ``status``), the response model's JSON
already written (bytes, rendered with ``status``: a hot path's answer), None (204), or a
``web.StreamResponse`` of its own (a non-JSON answer, or a status picked at run time).
So a view is parse-call-render, and the document cannot promise what the view does not do.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from pydantic import BaseModel

from miniapp_api.auth import optional_principal, principal
from miniapp_api.http import parse_body, parse_optional_body, parse_query, respond
from miniapp_api.idempotency import idempotent, keyed
from qunshop.keys import CLOCK, COUPON_GATE, FLASH_GATE, HTTP, PAY, REDIS, SETTINGS
from services import moderation

View = Callable[..., Awaitable[Any]]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Reader = Callable[[web.Request], Any]
FollowUp = Callable[[web.Request, Any, web.StreamResponse], Awaitable[web.StreamResponse]]

# The app's resources a view may name as parameters.
RESOURCES: dict[str, web.AppKey[Any]] = {
    "clock": CLOCK,
    "settings": SETTINGS,
    "redis": REDIS,
    "http": HTTP,
    "pay": PAY,
    "flash_gate": FLASH_GATE,
    "coupon_gate": COUPON_GATE,
}


@dataclass(frozen=True)
class EndpointSpec:
    summary: str
    tags: tuple[str, ...] = ()
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: type[BaseModel] | None = None  # None: 204 No Content
    status: int = 200
    # Who may call: None (anyone, no caller read), or the reader that finds the caller and
    # refuses the others. True means ``principal`` (any logged-in user).
    auth: Reader | bool | None = None
    optional_body: bool = False  # no body at all means the model's defaults
    idempotent_key: bool = False
    # A keyed request's follow-up once its effect and recorded answer committed, on a replay
    # too: an outbound call that must not hold the effect's locks (a join's payment).
    after_record: FollowUp | None = None
    errors: tuple[int, ...] = ()
    # Non-JSON endpoints (the pay notify XML) describe their media type here.
    request_media: str = "application/json"
    response_media: str = "application/json"

    @property
    def reader(self) -> Reader | None:
        if self.auth is True:
            return principal
        return self.auth or None  # type: ignore[return-value]

    @property
    def optional_auth(self) -> bool:
        """Readable without a token too."""
        return self.reader is optional_principal


def _wants(view: View) -> tuple[str, ...]:
    params = inspect.signature(view).parameters.values()
    if any(p.kind is not p.KEYWORD_ONLY for p in params):
        raise TypeError(
            f"{view.__qualname__}: an endpoint takes keyword-only parameters by name "
            "(principal, body, query, path parameters, now, config, request, screen; "
            "see this module)"
        )
    return tuple(p.name for p in params)


def _handler(spec: EndpointSpec, view: View) -> Handler:
    wants = _wants(view)
    reader = spec.reader
    if "principal" in wants and reader is None:
        raise TypeError(f"{view.__qualname__} names principal but declares no auth")
    if spec.idempotent_key and reader is None:
        raise TypeError(f"{view.__qualname__}: Idempotency-Key is kept per caller; declare auth")
    read_body = parse_optional_body if spec.optional_body else parse_body
    needs_config = bool(set(wants) & {"config", "now", "screen", *RESOURCES})

    async def run(request: web.Request, caller: Any) -> web.StreamResponse:
        given: dict[str, Any] = {}
        config = request.config_dict if needs_config else None
        for name in wants:
            if name == "principal":
                given[name] = caller
            elif name == "query":
                given[name] = parse_query(request, spec.query)  # type: ignore[arg-type]
            elif name == "body":
                given[name] = await read_body(request, spec.body)  # type: ignore[arg-type]
            elif name == "request":
                given[name] = request
            elif name == "config":
                given[name] = config
            elif name == "now":
                given[name] = config[CLOCK].now()  # type: ignore[index]
            elif name in RESOURCES:
                given[name] = config[RESOURCES[name]]  # type: ignore[index]
            elif name == "screen":  # what a view that takes people's words screens them with
                given[name] = moderation.Screen(
                    http=config[HTTP],  # type: ignore[index]
                    redis=config[REDIS],  # type: ignore[index]
                    settings=config[SETTINGS],  # type: ignore[index]
                )
            else:
                given[name] = request.match_info[name]
        result = await view(**given)
        if isinstance(result, web.StreamResponse):
            return result
        return respond(result, spec.status)

    @functools.wraps(view)
    async def handler(request: web.Request) -> web.StreamResponse:
        caller = reader(request) if reader is not None else None
        if spec.idempotent_key and keyed(request):
            answer = await idempotent(request, caller.user_id, lambda: run(request, caller))
            if spec.after_record is not None:
                answer = await spec.after_record(request, caller, answer)
            return answer
        return await run(request, caller)

    return handler


def endpoint(**kwargs: Any) -> Callable[[View], Handler]:
    spec = EndpointSpec(**kwargs)

    def mark(view: View) -> Handler:
        handler = _handler(spec, view)
        handler.__endpoint__ = spec  # type: ignore[attr-defined]
        return handler

    return mark


def spec_of(view: Any) -> EndpointSpec | None:
    return getattr(view, "__endpoint__", None)
