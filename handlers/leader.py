"""Leaders' commands: 绑定/bind, 开团/start, 统计/stats, 公告/notice, 到货/arrived, 批次/batch."""

from __future__ import annotations

import re

from handlers.cards import team_card
from handlers.routing import Command, Context, Roles, Router
from handlers.shop import group_chat_id, not_bound, principal_of
from models.user import Role
from qunshop.chat import ChatType, Reply, Text
from services import batch_sheets, batches, groupbuy, groupchat, moderation, notify, pickup

router = Router("leader")
staff = Roles(Role.LEADER, Role.ADMIN)


@router.route(Command("绑定", "bind", pattern=r"(?P<robot_key>[A-Za-z0-9-]{8,128})?"), staff)
async def bind(
    ctx: Context, args: str, robot_key: str | None = None, bad_args: bool = False
) -> Reply:
    if bad_args:
        return Text(ctx.render("usage.j2", usage="绑定 [群机器人key]", example="绑定"))
    if ctx.update.chat_type is not ChatType.GROUP:
        return Text(ctx.render("group_only.j2"))
    community = await groupchat.bind_chat(
        principal=principal_of(ctx), chat_id=ctx.update.chat_id, robot_key=robot_key, now=ctx.now
    )
    return Text(ctx.render("bound.j2", community=community))


@router.route(
    Command(
        "开团",
        "start",
        pattern=r"(?P<number>\d{1,3})?\s*(?P<buy>我也买|我也参团|参团|buy|join)?",
    ),
    staff,
)
async def start(
    ctx: Context,
    args: str,
    number: str | None = None,
    buy: str | None = None,
    bad_args: bool = False,
) -> Reply:
    """Open a team for the group; the leader holds a seat only when they say they buy too."""
    if bad_args:
        return Text(ctx.render("usage.j2", usage="开团 <团购序号> [我也买]", example="开团 1"))
    if ctx.community is None:
        return not_bound(ctx)
    campaign = await groupchat.deal_by_number(
        community=ctx.community, number=int(number) if number else None, now=ctx.now
    )
    who, chat_id = principal_of(ctx), group_chat_id(ctx)
    if buy:
        started = await groupbuy.start_team(
            principal=who, campaign_id=str(campaign.id), now=ctx.now, chat_id=chat_id
        )
        team = started.team
    else:
        team = await groupbuy.open_team(
            principal=who, campaign_id=str(campaign.id), now=ctx.now, chat_id=chat_id
        )
    leader = await ctx.load_user()
    return team_card(ctx, team, campaign, sharer=leader.nickname)


@router.route(Command("统计", "stats"), staff)
async def stats(ctx: Context, args: str = "") -> Reply:
    if ctx.community is None and ctx.update.chat_type is ChatType.SINGLE:  # the ones they lead
        days = await groupchat.led_today(principal=principal_of(ctx), now=ctx.now)
        if days:
            lines = [ctx.render("stats.j2", community=c, stats=figures) for c, figures in days]
            return Text("\n".join(lines))
    if ctx.community is None:
        return not_bound(ctx)
    figures = await groupchat.today(
        principal=principal_of(ctx), community=ctx.community, now=ctx.now
    )
    return Text(ctx.render("stats.j2", community=ctx.community, stats=figures))


@router.route(Command("公告", "notice", pattern=r"(?P<body>.{1,500})"), staff)
async def notice(ctx: Context, args: str, body: str = "", bad_args: bool = False) -> Reply:
    if bad_args or not body.strip():
        return Text(ctx.render("usage.j2", usage="公告 <内容>", example="公告 明早9点到货"))
    if ctx.community is None:
        return not_bound(ctx)
    said = ctx.render("notice.j2", community=ctx.community, body=body.strip())
    verdict = await moderation.announcement(
        principal=principal_of(ctx),
        community=ctx.community,
        text=body.strip(),
        message=notify.text(said),
        now=ctx.now,
        wechat=ctx.screen(),
    )
    if verdict.held:  # never repeated into the group before an operator approves it
        return Text(ctx.render("notice_held.j2", reason=verdict.reason))
    return Text(said)


SHORT = r"(\d{1,4})\s*(?:缺|short|-)\s*(\d{1,5})"  # 1缺2: pick-list number, units short


@router.route(Command("到货", "arrived", pattern=rf"(?P<counts>(?:{SHORT}[\s,，、]*)*)"), staff)
async def arrived(ctx: Context, args: str = "", counts: str = "", bad_args: bool = False) -> Reply:
    """到货, or 到货 1缺2 3缺1: the batch arrived, these SKUs short by these many units."""
    if bad_args:
        return Text(ctx.render("usage.j2", usage="到货 [序号缺件数 …]", example="到货 1缺2"))
    delivery = await pickup.arrived(
        principal=principal_of(ctx),
        community_id=str(ctx.community.id) if ctx.community else None,
        now=ctx.now,
        shortages=[batches.Shortage(sku=n, short=int(k)) for n, k in re.findall(SHORT, counts)],
        consent_template=ctx.settings.subscribe_template_arrived,
    )
    return Text(ctx.render("arrived.j2", delivery=delivery))


@router.route(Command("批次", "batch"), staff)
async def batch(ctx: Context, args: str = "") -> Reply:
    """The delivery batch on its way (else the latest): its pick list, numbered for 到货."""
    current = await batch_sheets.current_sheet(
        principal=principal_of(ctx), community_id=str(ctx.community.id) if ctx.community else None
    )
    return Text(
        ctx.render("batch.j2", sheet=current.sheet, plan=current.plan, states=STATES, tz=ctx.tz)
    )


STATES = {"dispatched": "配送中", "arrived": "已到货", "closed": "已结束"}


@router.route(
    Command(
        "绑定",
        "bind",
        "开团",
        "start",
        "统计",
        "stats",
        "公告",
        "notice",
        "到货",
        "arrived",
        "批次",
        "batch",
    )
)
async def not_leader(ctx: Context, args: str = "", **_: object) -> Reply:
    return Text(ctx.render("leaders_only.j2"))
