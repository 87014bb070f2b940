"""Shoppers' commands: 团购/deals, 参团/join, 我的订单/orders, 邀请/invite."""

from __future__ import annotations

from handlers.account import with_link
from handlers.cards import team_card, team_url
from handlers.routing import Command, Context, Router
from models.groupbuy import Campaign
from models.user import Role
from qunshop.chat import ChatType, Reply, Text
from qunshop.errors import Conflict, ErrorCode
from services import flashsale, groupbuy, groupchat, storefront
from services.auth import Principal

router = Router("shop")


def principal_of(ctx: Context) -> Principal:
    assert ctx.principal is not None
    return ctx.principal


@router.route(Command("团购", "deals", "拼团"))
async def list_deals(ctx: Context, args: str = "") -> Reply:
    # Each reply ends pointing to 秒杀 when a flash sale runs or is to come (one EXISTS).
    if ctx.update.chat_type is ChatType.SINGLE:  # one-to-one: every community of theirs
        groups = await groupchat.member_deals(user_id=principal_of(ctx).user_id, now=ctx.now)
        flash = await flashsale.any_on_offer([c.id for c, _ in groups], now=ctx.now)
        return Text(ctx.render("deals_private.j2", groups=groups, has_flash=flash))
    if ctx.community is None:
        return Text(ctx.render("not_bound.j2"))
    found = await groupchat.deals(
        community=ctx.community, now=ctx.now, user_id=principal_of(ctx).user_id
    )
    flash = await flashsale.any_on_offer([ctx.community.id], now=ctx.now)
    return Text(
        ctx.render(
            "deals.j2",
            community=ctx.community,
            deals=found,
            now=ctx.now,
            staff=is_staff(ctx),
            has_flash=flash,
        )
    )


def is_staff(ctx: Context) -> bool:
    """Leaders' hints (开团, 活动 秒杀) are shown to leaders and operators only."""
    return principal_of(ctx).role in (Role.LEADER, Role.ADMIN)


@router.route(Command("商品", "products", "货架"))
async def list_products(ctx: Context, args: str = "") -> Reply:
    if ctx.update.chat_type is ChatType.SINGLE:  # one-to-one: every community of theirs
        found = await groupchat.persons_communities(user_id=principal_of(ctx).user_id)
        shelves = [(c, await storefront.community_skus(c.id)) for c in found]
        return Text(ctx.render("products_private.j2", shelves=shelves, staff=is_staff(ctx)))
    if ctx.community is None:
        return Text(ctx.render("not_bound.j2"))
    lines = await storefront.community_skus(ctx.community.id)
    return Text(
        ctx.render("products.j2", community=ctx.community, lines=lines, staff=is_staff(ctx))
    )


def not_bound(ctx: Context) -> Text:
    """No community here: a group not bound yet, or a one-to-one chat, which has no group."""
    if ctx.update.chat_type is ChatType.SINGLE:
        return Text(ctx.render("in_group_only.j2"))
    return Text(ctx.render("not_bound.j2"))


def group_chat_id(ctx: Context) -> str | None:
    """The group chat a team or order comes from; a one-to-one chat is no group (its id is
    the person's)."""
    return ctx.update.chat_id if ctx.update.chat_type is ChatType.GROUP else None


@router.route(Command("参团", "join", pattern=r"(?P<code>[A-Za-z0-9]{4,16})", glued=True))
async def join(ctx: Context, args: str, code: str = "", bad_args: bool = False) -> Reply:
    if bad_args or not code:
        hint = "团码在「团购」列出的每个团后面，发送「团购」看看。"
        return Text(ctx.render("usage.j2", usage="参团 <团码>", example="参团 7K3MXQ2A", hint=hint))
    try:
        result = await groupbuy.join_team(
            principal=principal_of(ctx), team_ref=code, now=ctx.now, chat_id=group_chat_id(ctx)
        )
    except Conflict as refused:
        if refused.code is not ErrorCode.TEAM_CLOSED:
            raise
        # The refusal's state tells a team that filled and 成团 from one that ended short.
        said = refused.extra
        text = ctx.render(
            "team_ended.j2", code=said["team_code"], state=said["state"], staff=is_staff(ctx)
        )
        return Text(text)
    campaign = await Campaign.get(id=result.team.campaign_id)
    return await with_link(
        ctx,
        ctx.render(
            "joined.j2",
            team=result.team,
            order=result.order,
            campaign=campaign,
            seats_left=max(result.team.size - result.team.seats_held, 0),
            minutes=campaign.reservation_minutes,
            team_url=team_url(ctx, result.team),
        ),
    )


# 付款/支付: what a shopper told "到小程序支付" types next; her orders say what waits and where.
@router.route(
    Command(
        "我的订单", "订单", "查订单", "orders", "myorders", "my-orders", "order", "付款", "支付"
    )
)
async def my_orders(ctx: Context, args: str = "") -> Reply:
    # A group reads the reply too: what someone bought and paid is theirs, as 取货码 is. An
    # unlinked sender still gets the mini-program's link, privately, where orders are paid.
    if ctx.update.chat_type is not ChatType.SINGLE:
        return await with_link(ctx, ctx.render("private_only.j2", command="我的订单"))
    lines = await storefront.shown_orders(principal_of(ctx), redis=ctx.redis)
    return await with_link(ctx, ctx.render("orders.j2", lines=lines, tz=ctx.tz))


__all__ = ["group_chat_id", "is_staff", "not_bound", "router", "team_card"]
