"""The leader's console: a single-use login link from chat, then the leader's groups and
today's pickups (verify a code). Each page calls the same services the chat and API call."""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from aiohttp import web

from models.growth import OPEN_WITHDRAWAL
from models.user import Role
from qunshop.error_words import MESSAGES
from qunshop.errors import ErrorCode, QunshopError
from qunshop.keys import CLOCK, REDIS, SETTINGS
from qunshop.templates import order_state
from services import (
    communities,
    console_login,
    earnings,
    group_days,
    group_stats,
    pickup,
    withdrawals,
)
from web import confirm, session
from web.auth import HOMES, Leader
from web.page import back, page

if TYPE_CHECKING:
    from multidict import MultiDictProxy

    from models.community import Community
    from qunshop.keys import Resources
    from services.auth import Principal

MAX_CODE = 16  # the pickup code field's maxlength
GROUP_CHARTS = 12  # the busiest groups get a chart each; the table lists them all
VERIFY_REFUSALS = (
    ErrorCode.PICKUP_CODE_NOT_FOUND,
    ErrorCode.PICKUP_CODE_USED,
    ErrorCode.PICKUP_CODE_NOT_YOURS,
    ErrorCode.ORDER_NOT_READY_FOR_PICKUP,
    ErrorCode.ORDER_REFUNDED_NO_PICKUP,
    ErrorCode.ORDER_CANCELLED,
)


def see_other(location: str) -> web.Response:
    """After a form: the browser GETs the next page (post/redirect/get)."""
    return web.Response(status=303, headers={"Location": location})


@page("GET", "/console/login", template="console/login.html", forms=True)
async def login_form(*, query: MultiDictProxy[str], config: Resources) -> dict[str, Any]:
    """The link's page: the token is spent only by the button's POST, so a link preview
    (which only GETs) cannot use it up; an operator's link opens the operators' console."""
    token = query.get("token", "")[:64]
    operator = await console_login.is_operators(token=token, redis=config[REDIS])
    return {"token": token, "operator": operator}


@page("POST", "/console/login", forms=True)
async def login(
    *, form: dict[str, str], config: Resources, request: web.Request
) -> web.StreamResponse:
    try:
        user = await console_login.redeem(token=form.get("token", ""), redis=config[REDIS])
    except QunshopError as exc:
        if exc.code is not ErrorCode.TOKEN_EXPIRED:
            raise
        # An old link tapped again from the chat by someone still signed in: their console,
        # not a page telling them to ask for a new link they do not need.
        try:
            signed_in = await Leader.principal(request, config)
        except QunshopError:
            raise exc from None
        return see_other(HOMES[signed_in.role])
    response = see_other("/admin" if user.role is Role.ADMIN else "/console")
    await session.open_session(
        response, user_id=user.id, redis=config[REDIS], settings=config[SETTINGS]
    )
    return response


@page("POST", "/console/logout", auth=Leader)
async def logout(*, request: web.Request) -> web.StreamResponse:
    response = see_other("/console/login")
    await session.close_session(request, response)
    return response


@page("GET", "/console", auth=Leader, template="console/home.html")
async def home(*, principal: Principal, config: Resources) -> dict[str, Any]:
    cards = [c for c in await communities.my_communities(actor=principal) if c.is_leader]
    settings = config[SETTINGS]
    groups, days, group_charts, names = {}, {}, {}, {}
    window = {"now": config[CLOCK].now(), "timezone": settings.timezone}
    for card in cards:
        key = str(card.community.id)
        groups[card.community.id] = await group_stats.for_community(
            principal=principal, community_id=key
        )
        days[card.community.id] = await group_days.by_day(
            principal=principal, community_id=key, **window
        )
        by_group = await group_days.by_group(principal=principal, community_id=key, **window)
        rows = groups[card.community.id]
        names.update(_group_names(card.community, rows))
        group_charts[card.community.id] = [
            (g.chat_id, by_group[g.chat_id]) for g in rows if g.chat_id in by_group
        ][:GROUP_CHARTS]
    return {
        "cards": cards,
        "groups": groups,
        "names": names,
        "days": days,
        "group_charts": group_charts,
    }


def _group_names(community: Community, rows: list[group_stats.GroupStats]) -> dict[str, str]:
    """What the leader calls each group: the bound group is the community's own; a group
    known only by its opengid or chat id has no name we know, so it is numbered (a cut
    raw id means nothing to a person)."""
    names, unnamed = {}, 0
    for g in rows:
        if g.chat_id == community.chat_id:
            names[g.chat_id] = community.name
        else:
            unnamed += 1
            names[g.chat_id] = f"其他群 {unnamed}"
    return names


@page("GET", "/console/earnings", auth=Leader, template="console/earnings.html")
async def my_earnings(*, principal: Principal, config: Resources) -> dict[str, Any]:
    summary = await earnings.summary(
        principal.user_id, now=config[CLOCK].now(), timezone=config[SETTINGS].timezone
    )
    mine = await withdrawals.mine(principal.user_id)
    return {
        "summary": summary,
        "statements": await earnings.statements_of(principal.user_id),
        "withdrawals": mine,
        "open": next((w for w in mine if w.status in OPEN_WITHDRAWAL), None),
        "minimum": withdrawals.MINIMUM,
    }


@page("GET", "/console/pickups", auth=Leader, template="console/pickups.html")
async def pickups(
    *, principal: Principal, config: Resources, query: MultiDictProxy[str]
) -> dict[str, Any]:
    day = await pickup.day_list(principal=principal, community_id=None, now=config[CLOCK].now())
    return {"day": day, "code": query.get("code", "")[:MAX_CODE]}


@page("GET", "/console/pickups.csv", auth=Leader)
async def pickups_csv(*, principal: Principal, config: Resources) -> web.StreamResponse:
    """Today's pick list as a spreadsheet (UTF-8 with BOM, so Excel reads the Chinese): every
    line, where the page lists the first of each section."""
    day = await pickup.day_list(
        principal=principal, community_id=None, now=config[CLOCK].now(), shown=None
    )
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["状态", "买家", "商品", "数量", "订单号"])
    for heading, lines in (("待提货", day.waiting), ("待到货", day.arriving), ("", day.picked_up)):
        for line in lines:
            writer.writerow(
                [
                    # Handed over: the order's own state (已自提, 已完成, or 已退款 after).
                    heading or order_state(line.order.status, line.order.kind),
                    _cell(line.buyer),
                    _cell(line.item),
                    line.order.quantity,
                    line.order.out_trade_no,
                ]
            )
    return web.Response(
        body=("\ufeff" + out.getvalue()).encode(),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="pickups-{day.day}.csv"'},
    )


def _cell(text: str) -> str:
    """A cell a spreadsheet will not run as a formula (CSV injection)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


ARRIVED = confirm.Question(
    "货真的到自提点了吗？",
    (
        "等待到货的订单会变成待自提，每位买家会收到提货码，群里会收到到货通知。",
        "通知发出后不能撤回：请在货送到、清点过后再确认。",
    ),
    "确认到货，通知买家",
    back="/console/pickups",
    nav=confirm.CONSOLE_NAV,
)


@page("POST", "/console/pickups/arrived", auth=Leader, template=confirm.TEMPLATE)
async def arrived(
    *, principal: Principal, form: dict[str, str], config: Resources
) -> web.StreamResponse | dict[str, Any]:
    """到货 from the console: the same verb as the chat command and the API. Buyers are told
    at once and come to pick up, so the big button asks once more first (web/confirm.py)."""
    if ARRIVED.needed(form, undone=True):
        return ARRIVED.page(name="", action="/console/pickups/arrived")
    delivery = await pickup.arrived(principal=principal, community_id=None, now=config[CLOCK].now())
    return back("/console/pickups", _arrival_note(delivery))


def _arrival_note(delivery: pickup.Delivery) -> str:
    """What 到货 did, as the chat's answer says it: who is told their code and who is not."""
    if not delivery.orders:
        return "没有等待到货的订单"
    done = f"已确认到货：{delivery.orders} 份订单可以提货了"
    untold = delivery.buyers - delivery.buyers_told
    if not untold:
        return f"{done}，提货码已私信发给 {delivery.buyers} 位买家"
    return (
        f"{done}；{untold} 位买家没有可用的私信渠道，收不到提货码，"
        "请提醒他们在小程序「我的订单」里看提货码"
    )


@page("POST", "/console/pickups/verify", auth=Leader)
async def verify(
    *, principal: Principal, form: dict[str, str], config: Resources
) -> web.StreamResponse:
    try:
        line = await pickup.verify(
            principal=principal, code=form.get("code", ""), now=config[CLOCK].now()
        )
    except QunshopError as exc:  # a wrong code is told on the same page, not an error page
        if exc.code not in VERIFY_REFUSALS:
            raise
        # The code comes back in the field: a mistyped character is fixed, not all retyped.
        typed = quote(form.get("code", "").strip()[:MAX_CODE])
        return back(f"/console/pickups?code={typed}", MESSAGES[exc.code])
    return back("/console/pickups", f"已核销：{line.buyer} {line.item}")
