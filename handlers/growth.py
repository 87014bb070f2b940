"""Growth in chat: 邀请/invite for all; 收益/earnings, 提现/withdraw, 核销/verify, 提货单/pickups
for leaders."""

from __future__ import annotations

from handlers.account import link_hint
from handlers.cards import invite_card
from handlers.routing import Command, Context, Roles, Router
from handlers.shop import principal_of
from models.user import Role
from qunshop.chat import Reply, Text
from services import earnings, pickup, share, withdrawals

router = Router("growth")
staff = Roles(Role.LEADER, Role.ADMIN)


@router.route(Command("邀请", "invite"))
async def invite(ctx: Context, args: str = "") -> Reply:
    mine = await share.invite_share(
        user=await ctx.load_user(),
        community_id=ctx.community.id if ctx.community else None,
        settings=ctx.settings,
        now=ctx.now,
    )
    await link_hint(ctx, private=True)  # the card is for others: the link goes apart
    return invite_card(ctx, mine)


@router.route(Command("收益", "earnings"), staff)
async def my_earnings(ctx: Context, args: str = "") -> Reply:
    if ctx.in_group:  # earnings are not for the whole group to read
        return Text(ctx.render("private_only.j2", command="收益"))
    summary = await earnings.summary(
        principal_of(ctx).user_id, now=ctx.now, timezone=ctx.settings.timezone
    )
    return Text(ctx.render("earnings.j2", summary=summary))


@router.route(Command("提现", "withdraw", glued=True), staff)
async def withdraw(ctx: Context, args: str = "") -> Reply:
    """提现 [金额]: yuan, or nothing (全部) for all that is available."""
    if ctx.in_group:  # their money, not the group's business
        return Text(ctx.render("private_only.j2", command="提现"))
    principal = principal_of(ctx)
    withdrawal = await withdrawals.request(
        principal=principal, amount=withdrawals.parse_yuan(args), now=ctx.now
    )
    left = await earnings.balance(principal.user_id)
    return Text(
        ctx.render("withdrawals/requested.j2", withdrawal=withdrawal, available=left.available)
    )


# Spaces inside are allowed (a code read out in two halves); the service drops them.
@router.route(
    Command("核销", "verify", pattern=r"(?P<code>[A-Za-z0-9](?:\s*[A-Za-z0-9]){3,15})", glued=True),
    staff,
)
async def verify(ctx: Context, args: str, code: str = "", bad_args: bool = False) -> Reply:
    if bad_args or not code:
        return Text(ctx.render("usage.j2", usage="核销 <提货码>", example="核销 7K3MXQ2A"))
    line = await pickup.verify(principal=principal_of(ctx), code=code, now=ctx.now)
    return Text(ctx.render("verified.j2", line=line, days=ctx.settings.auto_complete_days))


# Lines of each 提货单 section a reply lists (the counts are all): a reply holds 20 KB
# (bot/streams.py), and two sections of long product names must fit with their notes.
CHAT_LINES = 50


@router.route(Command("提货单", "pickups"), staff)
async def pickups(ctx: Context, args: str = "") -> Reply:
    day = await pickup.day_list(
        principal=principal_of(ctx),
        community_id=str(ctx.community.id) if ctx.community else None,
        now=ctx.now,
        shown=CHAT_LINES,
    )
    return Text(ctx.render("pickups.j2", day=day))


@router.route(
    Command("收益", "earnings", "提现", "withdraw", "核销", "verify", "提货单", "pickups")
)
async def not_leader(ctx: Context, args: str = "", **_: object) -> Reply:
    return Text(ctx.render("leaders_only.j2"))
