"""Bargains in chat: 砍价/bargain (the offers, or start one), 帮砍/cut (cut a friend's once),
砍价购买/bargain-buy (order at the price reached, then pay in the mini-program).

A bargain is public (friends cut it), its order is not: in a group the order's amount and
product are not named, only that it waits for payment and where to look, privately."""

from __future__ import annotations

from typing import TYPE_CHECKING

from handlers.account import with_link
from handlers.routing import Command, Context, Router
from qunshop.chat import Reply, Text
from services import bargains, storefront
from services.auth import Principal

if TYPE_CHECKING:
    from models.bargain import BargainOffer

router = Router("bargains")
CODE = r"(?P<code>[A-Za-z0-9]{4,16})"


def _principal(ctx: Context) -> Principal:
    assert ctx.principal is not None
    return ctx.principal


def _link(ctx: Context, code: str) -> str:
    return f"{ctx.settings.public_base_url}/h5/bargains/{code}"


# The list ends with the sender's own bargains running, their codes and prices.
@router.route(Command("砍价", "bargain", pattern=r"(?P<number>\d{1,3})?"))
async def bargain(
    ctx: Context, args: str, number: str | None = None, bad_args: bool = False
) -> Reply:
    if bad_args:
        return Text(ctx.render("usage.j2", usage="砍价 [编号]", example="砍价 1"))
    offers = await bargains.list_offers(community=ctx.community)
    if not number:
        return await _listing(ctx, offers)
    index = int(number) - 1
    if not 0 <= index < len(offers):
        return Text(ctx.render("bargains/no_such_offer.j2", number=number, count=len(offers)))
    started = await bargains.start(
        principal=_principal(ctx),
        offer_id=str(offers[index].id),
        now=ctx.now,
        chat_id=ctx.update.chat_id,
    )
    if started.view.state == bargains.State.ORDERED:  # as 砍价 says it: where to pay
        return await _listing(ctx, [], [started.view])
    bargain = started.bargain
    deadline = bargain.deadline_at.astimezone(ctx.tz).strftime("%m-%d %H:%M")
    text = ctx.render(
        "bargains/started.j2" if started.new else "bargains/running.j2",
        view=started.view,
        link=_link(ctx, bargain.code),
        deadline=deadline,
    )
    return await with_link(ctx, text)


@router.route(Command("我的砍价", "mybargains"))
async def my_bargains(ctx: Context, args: str = "") -> Reply:
    """The same list as 砍价's, asked for by name: theirs, so alone only, as 我的订单 is."""
    if ctx.in_group:
        return Text(ctx.render("private_only.j2", command="我的砍价"))
    return await _listing(ctx, await bargains.list_offers(community=ctx.community))


# The sender's bargains still to act on: being cut, cut to the floor, or ordered and unpaid.
_LIVE = (bargains.State.OPEN, bargains.State.REACHED, bargains.State.ORDERED)


async def _listing(
    ctx: Context, offers: list[BargainOffer], live: list[bargains.View] | None = None
) -> Reply:
    """The offers, then ``live`` (by default the sender's latest bargains still to act on)."""
    if live is None:
        mine, _ = await bargains.mine(principal=_principal(ctx), now=ctx.now, limit=5)
        live = [v for v in mine if v.state in _LIVE]
    unpaid = [v for v in live if v.state == bargains.State.ORDERED]
    # Alone, an unpaid bargain order says where 我的订单 lists it (numbers are shown only there).
    numbers: dict[object, int] = {}
    if unpaid and not ctx.in_group:
        lines = await storefront.my_orders(_principal(ctx))
        numbers = {line.order.id: n for n, line in enumerate(lines, 1)}
    text = ctx.render(
        "bargains/offers.j2",
        offers=offers,
        mine=live,
        numbers=numbers,
        in_group=ctx.in_group,
        tz=ctx.tz,
    )
    return await with_link(ctx, text) if unpaid else Text(text)


@router.route(Command("帮砍", "cut", pattern=CODE, glued=True))
async def cut(ctx: Context, args: str, code: str = "", bad_args: bool = False) -> Reply:
    if bad_args or not code:
        return Text(ctx.render("usage.j2", usage="帮砍 <砍价码>", example="帮砍 7K3MXQ2A"))
    done = await bargains.cut(principal=_principal(ctx), ref=code, now=ctx.now)
    return Text(ctx.render("bargains/cut.j2", bargain=done.bargain, cut=done.cut))


@router.route(Command("砍价购买", "bargain-buy", pattern=CODE, glued=True))
async def buy(ctx: Context, args: str, code: str = "", bad_args: bool = False) -> Reply:
    if bad_args or not code:
        return Text(ctx.render("usage.j2", usage="砍价购买 <砍价码>", example="砍价购买 7K3MXQ2A"))
    order = await bargains.buy(principal=_principal(ctx), ref=code, now=ctx.now)
    minutes = int(bargains.RESERVATION.total_seconds() // 60)
    text = ctx.render("bargains/ordered.j2", order=order, minutes=minutes, in_group=ctx.in_group)
    return await with_link(ctx, text)
