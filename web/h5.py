"""H5 pages: what a shared card or a chat link opens in a browser.

Each page calls one service for its live state, adds the ways into the mini-program, and
renders. Visits are reported by the page itself (``POST /h5/visits``, a beacon), so link
previews that only read the meta tags count nothing.
"""

from __future__ import annotations

import re
import secrets
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from aiohttp import web

from qunshop.errors import BadRequest, ErrorCode
from qunshop.keys import CHAT_TEMPLATES, CLOCK, REDIS, SETTINGS
from services import accounts, bargains, h5_pages, h5_visits, recommendations
from web import session
from web.page import page
from web.ways_in import ways_in, with_sharer

if TYPE_CHECKING:
    import uuid

    from multidict import MultiDictProxy

    from qunshop.keys import Resources

VISITOR_COOKIE = "qs_vid"
VISITOR_SECONDS = 365 * 24 * 3600
LINK_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,128}")
MAX_REF = 64
# How stale a team page may be: a seat taken shows on a load a second later (joining itself
# happens in the mini-program, against the database), and the countdown ticks client-side.
TEAM_PAGE_FRESH = timedelta(seconds=1)


def _page_url(
    config: Resources, request: web.Request, *, with_query: bool = True, share: str | None = None
) -> str:
    """This page's address (the QR code's, on a desktop); without its query, but with the
    sharer's code, for a page every visitor of one sharer is shown alike."""
    where = request.rel_url.path_qs if with_query else request.rel_url.path
    if not with_query and share is not None:
        where = f"{where}?{with_sharer('', share)}"
    return f"{config[SETTINGS].public_base_url}{where}"


def _ticket(
    config: Resources, page_key: str, community_id: uuid.UUID | None, campaign_id: uuid.UUID | None
) -> str:
    return h5_visits.ticket(
        secret=config[SETTINGS].secret_key.get_secret_value(),
        page=page_key,
        community_id=community_id,
        campaign_id=campaign_id,
    )


async def _values(
    config: Resources,
    request: web.Request,
    view: Any,
    ticket: str,
    *,
    share: str | None,
    with_query: bool = True,
    **extra: Any,
) -> dict[str, Any]:
    url = _page_url(config, request, with_query=with_query, share=share)
    return {
        "page": view,
        "state": getattr(view, "state", "open"),
        "ways": await ways_in(config, path=view.path, query=view.query, page_url=url, share=share),
        "page_url": url,
        "visit_ticket": ticket,
        **extra,
    }


@page("GET", "/h5/teams/{code}", template="h5/team.html", shared=TEAM_PAGE_FRESH)
async def team(
    *, code: str, share: str | None, config: Resources, request: web.Request
) -> dict[str, Any]:
    """The page every shared card opens, in bursts: its HTML is the same for every visitor
    of one sharer's link (their ``?s=`` goes on into the mini-program), so it is kept for a
    second."""
    view = await h5_pages.team_page(code, now=config[CLOCK].now())
    campaign = view.campaign
    ticket = _ticket(config, f"team:{view.team.code}", campaign.community_id, campaign.id)
    return await _values(config, request, view, ticket, share=share, with_query=False)


@page("GET", "/h5/campaigns/{campaign_id}", template="h5/campaign.html")
async def campaign(
    *, campaign_id: str, share: str | None, config: Resources, request: web.Request
) -> dict[str, Any]:
    view = await h5_pages.campaign_page(campaign_id, now=config[CLOCK].now())
    c = view.campaign
    ticket = _ticket(config, f"campaign:{c.id}", c.community_id, c.id)
    together, popular = await recommendations.for_sku(sku_id=c.sku_id, community_id=c.community_id)
    return await _values(
        config, request, view, ticket, share=share, together=together, popular=popular
    )


@page("GET", "/h5/products/{product_id}", template="h5/product.html")
async def product(
    *, product_id: str, share: str | None, config: Resources, request: web.Request
) -> dict[str, Any]:
    view = await h5_pages.product_page(product_id, now=config[CLOCK].now())
    url = _page_url(config, request)
    ways = await ways_in(config, path=view.path, query=view.query, page_url=url, share=share)
    return {"page": view, "ways": ways}


@page("GET", "/h5/flash-sales/{sale_id}", template="h5/flash_sale.html")
async def flash_sale(
    *, sale_id: str, share: str | None, config: Resources, request: web.Request
) -> dict[str, Any]:
    view = await h5_pages.flash_sale_page(sale_id, now=config[CLOCK].now())
    ticket = _ticket(config, f"flash:{view.sale.id}", view.community.id, None)
    return await _values(config, request, view, ticket, share=share)


@page("GET", "/h5/bargains/{code}", template="h5/bargain.html")
async def bargain(
    *, code: str, share: str | None, config: Resources, request: web.Request
) -> dict[str, Any]:
    """A bargain's shared card: its price, the cuts so far, the way into the mini-program
    where a friend cuts once (``POST /api/v1/bargains/{code}/cuts``)."""
    view = await bargains.view(code, now=config[CLOCK].now())
    ticket = _ticket(config, f"bargain:{view.bargain.code}", None, None)
    # The card's title as the mini-program shares it (GET /api/v1/bargains/{code}/share).
    title = config[CHAT_TEMPLATES].get_template("cards/bargain_title.j2").render(view=view)
    return await _values(
        config, request, view, ticket, share=share, with_query=False, share_title=title.strip()
    )


def _param(query: MultiDictProxy[str], name: str) -> str:
    value = query.get(name, "").strip()
    if not value or len(value) > MAX_REF or not value.isprintable():
        raise BadRequest(ErrorCode.VALIDATION_FAILED, "链接不完整，请回到群里重新打开。")
    return value


@page("GET", "/h5/invite", template="h5/invite.html")
async def invite(*, query: MultiDictProxy[str], config: Resources, request: web.Request) -> Any:
    ref = _param(query, "from")
    settings = config[SETTINGS]
    view = await h5_pages.invite_page(
        ref, secret=settings.secret_key.get_secret_value(), now=config[CLOCK].now()
    )
    community_id = view.community.id if view.community else None
    ticket = _ticket(config, f"invite:{ref}", community_id, None)
    return await _values(config, request, view, ticket, share=None)  # its query has its code


@page("GET", "/h5/link", template="h5/link.html")
async def link(*, query: MultiDictProxy[str], config: Resources, request: web.Request) -> Any:
    """Account linking: the way into the mini-program page that redeems the token, while the
    token can still link; a used one says so (the mini-program would refuse it)."""
    token = query.get("token", "")
    if not LINK_TOKEN.fullmatch(token):
        raise BadRequest(
            ErrorCode.VALIDATION_FAILED, "关联链接不完整或已损坏，请在聊天中重新获取。"
        )
    settings = config[SETTINGS]
    state = await accounts.link_state(
        token, secret=settings.secret_key.get_secret_value(), now=config[CLOCK].now()
    )
    ways = await ways_in(
        config, path="pages/link/index", query=f"token={token}", page_url=_page_url(config, request)
    )
    return {"ways": ways, "page_url": _page_url(config, request), "state": state}


async def visit(request: web.Request) -> web.Response:
    """The page's beacon: one visit per browser, page and day (services/h5_visits.py)."""
    config = request.config_dict
    settings = config[SETTINGS]
    data = await request.post()
    text, code = data.get("t", ""), data.get("s", "")
    secret = settings.secret_key.get_secret_value()
    ticket = h5_visits.read_ticket(text, secret=secret) if isinstance(text, str) else None
    if ticket is None:
        raise BadRequest(ErrorCode.VALIDATION_FAILED, "不是本站页面的访问记录")
    visitor = request.cookies.get(VISITOR_COOKIE, "")
    fresh = None
    if not 16 <= len(visitor) <= 64 or not visitor.isalnum():
        visitor = fresh = secrets.token_hex(16)
    await h5_visits.record(
        visitor=visitor,
        page=ticket.page,
        code=code if isinstance(code, str) and 0 < len(code) <= MAX_REF else None,
        community_id=ticket.community_id,
        campaign_id=ticket.campaign_id,
        redis=config[REDIS],
        secret=secret,
        now=config[CLOCK].now(),
    )
    response = web.Response(status=204)
    if fresh is not None:
        session.set_cookie(response, settings, VISITOR_COOKIE, fresh, VISITOR_SECONDS)
    return response


def setup(app: web.Application) -> None:
    app.router.add_post("/h5/visits", visit)
