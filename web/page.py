"""``@page``: the declaration that does what every page would otherwise repeat.

    @page("GET", "/console/pickups", auth=Leader, template="console/pickups.html")
    async def pickups(*, principal, config):
        return {"day": await pickup.day_list(principal=principal, now=config[CLOCK].now())}

After a form, a handler returns ``back(path, note)``: the browser is sent to ``path`` and
that page shows ``note`` as its status banner. The note rides in the query signed with the
app's secret and an expiry (a signed flash): a link anyone writes cannot put words into the
banner, and an unsigned, altered or old note shows nothing.

The handler asks by name for what it uses: ``principal`` (checked by ``auth``), ``config``
(the app's resources), ``request``, ``query``, ``share`` (the sharer's code the page was
opened with, ``?s=``, checked; web/ways_in.py), ``form`` (a POST's fields, after its CSRF
token was checked) and the path's parameters. It returns the template's values, or a
response of its own (a redirect after a form). Errors are rendered as pages by
web/errors.py. Pages with ``auth`` or ``forms`` get a ``csrf_token`` for their forms.

A form's POST may name the GET page it was filled on (``again=``): a mistake the person can
fix (a 400 or 422) then shows that page again, with what was typed (``kept``) and what to fix
(``problem``, in web/errors.py's words) above the form, instead of an error page.
"""

from __future__ import annotations

import hashlib
import hmac
import inspect
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlencode

from aiohttp import web

from qunshop.errors import BadRequest, ErrorCode, QunshopError
from qunshop.keys import CLOCK, SETTINGS
from web import session
from web.errors import form_problem, message_of
from web.labels import field_name
from web.page_cache import PageCache
from web.render import render
from web.ways_in import sharer

if TYPE_CHECKING:
    from datetime import timedelta

    from qunshop.keys import Resources
    from services.auth import Principal

Handler = Callable[..., Awaitable[Any]]
PAGE_CACHE = web.AppKey("qunshop.page_cache", PageCache)
MAX_FIELD = 2000  # characters of one form field
NOTE_SECONDS = 600  # the redirect's GET follows at once; a reload a little later still says it
MAX_NOTE = 100
_NOTE_DOMAIN = b"qunshop-note-v1|"  # this MAC stands for nothing else the app signs


class Auth(Protocol):
    async def principal(self, request: web.Request, config: Resources) -> Principal: ...


@dataclass(frozen=True)
class Page:
    method: str
    path: str
    view: Callable[[web.Request], Awaitable[web.StreamResponse]]
    template: str | None
    auth: Auth | None


PAGES: list[Page] = []  # declarations, in the order their modules declare them
_TEMPLATE_OF: dict[Handler, str] = {}  # a GET page's template, for a form shown again
FIXABLE = (400, 422)  # a form's mistakes, shown on the form again (``again``)


class Back(web.Response):
    """Where a form sends the browser next (post/redirect/get), and what that page says:
    ``@page`` signs the note into the address (it holds the secret)."""

    def __init__(self, path: str, note: str) -> None:
        super().__init__(status=303, headers={"Location": path})
        self.path, self.note = path, note[:MAX_NOTE]


def back(path: str, note: str) -> Back:
    return Back(path, note)


def _note_mac(config: Resources, note: str, expires: int) -> str:
    secret = config[SETTINGS].secret_key.get_secret_value().encode()
    signed = _NOTE_DOMAIN + f"{expires}|{note}".encode()
    return hmac.new(secret, signed, hashlib.sha256).hexdigest()[:32]


def _flash(config: Resources, response: Back) -> None:
    expires = int(config[CLOCK].now().timestamp()) + NOTE_SECONDS
    mac = _note_mac(config, response.note, expires)
    query = urlencode({"note": response.note, "ns": f"{expires}.{mac}"})
    response.headers["Location"] = f"{response.path}{'&' if '?' in response.path else '?'}{query}"


def _flashed(config: Resources, request: web.Request) -> str:
    """The banner's note if the server signed it and it is fresh; else nothing."""
    note, signature = request.query.get("note", ""), request.query.get("ns", "")
    expires, _, mac = signature.partition(".")
    if not note or not (expires.isascii() and expires.isdigit()) or len(note) > MAX_NOTE:
        return ""
    if int(expires) < config[CLOCK].now().timestamp():
        return ""
    wanted = _note_mac(config, note, int(expires)).encode()
    return note if hmac.compare_digest(mac.encode(), wanted) else ""


async def _form(request: web.Request, config: Resources) -> dict[str, str]:
    data = await request.post()
    form: dict[str, str] = {}
    for key, value in data.items():
        if not isinstance(value, str):
            raise BadRequest(ErrorCode.VALIDATION_FAILED, "这里不能上传文件")
        if len(value) > MAX_FIELD or "\x00" in value:
            raise BadRequest(
                ErrorCode.VALIDATION_FAILED, f"{field_name(key)}：内容太长或含有不能用的字符"
            )
        form[key] = value
    session.check_csrf(request, config, form.pop(session.CSRF_FIELD, ""))
    return form


def page(
    method: str,
    path: str,
    *,
    template: str | None = None,
    auth: Auth | None = None,
    forms: bool = False,
    shared: timedelta | None = None,
    again: Handler | None = None,
) -> Callable[[Handler], Handler]:
    """``shared``: the page's HTML is the same for every visitor and may be served from
    memory for this long after it was rendered (web/page_cache.py); keyed by the path and
    the sharer's code, so the handler must read no other part of the query string.
    ``again``: the GET page a POST's form is on, shown again on a mistake (see above)."""

    def declare(handler: Handler) -> Handler:
        own = set(inspect.signature(handler).parameters)
        with_csrf = forms or auth is not None
        if shared is not None and (with_csrf or method != "GET" or "query" in own):
            raise TypeError(f"{handler.__name__}: only a public GET page can be shared")
        if again is not None and (method != "POST" or again not in _TEMPLATE_OF):
            raise TypeError(f"{handler.__name__}: again= names a GET page declared before it")
        again_wants = set(inspect.signature(again).parameters) if again else set()
        wanted = own | again_wants

        async def view(request: web.Request) -> web.StreamResponse:
            config = request.config_dict
            values: dict[str, Any] = {}
            if auth is not None:
                values["principal"] = await auth.principal(request, config)
            form: dict[str, str] = {}
            if method == "POST":
                form = await _form(request, config)
                values["form"] = form
            for name, value in request.match_info.items():
                if name in wanted:
                    values[name] = value
            if "config" in wanted:
                values["config"] = config
            if "request" in wanted:
                values["request"] = request
            if "query" in wanted:
                values["query"] = request.query
            if "share" in wanted:
                values["share"] = sharer(request)
            shown, status = template, 200
            try:
                result = await handler(**{k: v for k, v in values.items() if k in own})
            except QunshopError as exc:
                if again is None or exc.status not in FIXABLE:
                    raise
                problem = {"message": message_of(exc.status, exc.code), "detail": form_problem(exc)}
                shown_again = await again(**{k: v for k, v in values.items() if k in again_wants})
                result = {**shown_again, "kept": form, "problem": problem}
                shown, status = _TEMPLATE_OF[again], exc.status
            if isinstance(result, Back):
                _flash(config, result)
            if isinstance(result, web.StreamResponse):
                return result
            if shown is None:
                raise TypeError(f"{handler.__name__} returned values but has no template")
            context: dict[str, Any] = dict(result) if isinstance(result, Mapping) else {}
            fresh = None
            if with_csrf:
                context["csrf_token"], fresh = session.csrf_token(request, config)
                context.setdefault("principal", values.get("principal"))
                context.setdefault("note", _flashed(config, request))
            response = render(config, shown, context, status=status)
            if fresh is not None:
                session.set_cookie(
                    response,
                    config[SETTINGS],
                    session.CSRF_COOKIE,
                    fresh,
                    session.CSRF_SECONDS,
                    same_site="Strict",
                )
            return response

        async def shared_view(request: web.Request) -> web.StreamResponse:
            config = request.config_dict
            share = sharer(request)  # each sharer's copy carries their code on
            return await config[PAGE_CACHE].serve(
                request.path if share is None else f"{request.path}?s={share}",
                now=config[CLOCK].now(),
                fresh=shared,  # type: ignore[arg-type]
                render=lambda: view(request),
            )

        if method == "GET" and template is not None:
            _TEMPLATE_OF[handler] = template
        chosen = view if shared is None else shared_view
        chosen.__name__ = handler.__name__
        PAGES.append(Page(method, path, chosen, template, auth))
        return handler

    return declare


def setup_pages(app: web.Application) -> None:
    app[PAGE_CACHE] = PageCache()
    for declared in PAGES:
        app.router.add_route(declared.method, declared.path, declared.view)
