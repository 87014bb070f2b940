"""Shoppers' coupons and points: 领券/coupons, 我的券/mycoupons, 积分/points."""

from __future__ import annotations

from handlers.routing import Command, Context, Router
from qunshop.chat import Reply, Text
from services import coupon_gate, coupons, points
from services.auth import Principal

router = Router("coupons")


def principal_of(ctx: Context) -> Principal:
    assert ctx.principal is not None
    return ctx.principal


@router.route(Command("领券", "coupons", "coupon", pattern=r"(?P<number>\d{1,3})?"))
async def claim(
    ctx: Context, args: str, number: str | None = None, bad_args: bool = False
) -> Reply:
    """Without a number: what one may claim here; with one: claim that one."""
    if bad_args:
        return Text(ctx.render("usage.j2", usage="领券 <编号>", example="领券 1"))
    community_id = ctx.community.id if ctx.community else None
    # The first page, numbered: 领券 <n> claims the n-th of the same page.
    offered, more = await coupons.claimable(community_id=community_id, now=ctx.now)
    if not number:
        return Text(ctx.render("coupons/claimable.j2", templates=offered, more=more is not None))
    index = int(number) - 1
    if not 0 <= index < len(offered):
        return Text(ctx.render("coupons/no_such_coupon.j2", number=number, count=len(offered)))
    template = offered[index]
    held = await coupon_gate.claim(
        redis=ctx.redis, principal=principal_of(ctx), template_id=template.id, now=ctx.now
    )
    return Text(
        ctx.render("coupons/claimed.j2", coupon=held.coupon, template=held.template, tz=ctx.tz)
    )


@router.route(Command("我的券", "券", "mycoupons"))
async def mine(ctx: Context, args: str = "") -> Reply:
    if ctx.in_group:  # what someone holds and spends is theirs, as 我的订单 is
        return Text(ctx.render("private_only.j2", command="我的券"))
    held, more = await coupons.mine(principal_of(ctx).user_id, now=ctx.now, limit=10)
    return Text(ctx.render("coupons/mine.j2", held=held, tz=ctx.tz, more=more is not None))


@router.route(Command("积分", "我的积分", "points"))
async def my_points(ctx: Context, args: str = "") -> Reply:
    if ctx.in_group:  # the history names what was bought, returned and spent
        return Text(ctx.render("private_only.j2", command="积分"))
    summary = await points.summary(principal_of(ctx).user_id, now=ctx.now)
    return Text(ctx.render("coupons/points.j2", summary=summary, tz=ctx.tz))
