"""Scheduled activities in chat: leaders' 活动/activity, everyone's 签到/checkin and 秒杀/flash.

    活动 公告 每天 09:00 明早到货          an announcement every day at 09:00
    活动 签到 工作日 08:30                  the check-in call, Monday to Friday
    活动 周报 每周一 09:00                  the leader's weekly statement, in private
    活动 秒杀 明天 20:00 <商品编号> 9.9 100 限购2 30分钟  (the number 商品 shows)
    活动 公告 2026-12-01 09:00 内容         once; also 今天/明天/后天 HH:MM
    活动 公告 cron 0 9 * * 1-5 内容         any crontab line
    活动 列表 / 活动 改期 <序号> <时间> / 活动 取消 <序号>
    秒杀 / flash                             everyone: the sales running and to come

Times are the community's local time. Parsing is here; the rules are in services/activities.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from handlers.routing import Command, Context, Roles, Router
from handlers.shop import is_staff, not_bound, principal_of
from models.activity import ActivityKind
from models.user import Role
from qunshop import error_words
from qunshop.chat import ChatType, Reply, Text
from qunshop.errors import Invalid
from services import activities, checkin, flashsale, groupchat, storefront
from services.flashsale import FlashSpec

router = Router("activities")
staff = Roles(Role.LEADER, Role.ADMIN)

KINDS = {
    "公告": ActivityKind.ANNOUNCEMENT,
    "announcement": ActivityKind.ANNOUNCEMENT,
    "notice": ActivityKind.ANNOUNCEMENT,
    "签到": ActivityKind.CHECKIN,
    "checkin": ActivityKind.CHECKIN,
    "秒杀": ActivityKind.FLASH_SALE,
    "flash": ActivityKind.FLASH_SALE,
    "周报": ActivityKind.EARNINGS_STATEMENT,
    "earnings": ActivityKind.EARNINGS_STATEMENT,
}
_END = r"(?:\s+|$)"
_HM = r"(?P<h>\d{1,2})[:：](?P<m>\d{2})"
_WEEKDAYS = dict(
    zip("一二三四五六日天", ("mon", "tue", "wed", "thu", "fri", "sat", "sun", "sun"), strict=True)
)
_DAILY = re.compile(rf"(?:每天|daily)\s*{_HM}{_END}")
_WORKDAYS = re.compile(rf"(?:工作日|weekdays)\s*{_HM}{_END}")
_WEEKLY = re.compile(rf"(?:每周|每星期|星期|周)(?P<d>[一二三四五六日天])\s*{_HM}{_END}")
_DATE = re.compile(rf"(?P<y>\d{{4}})[-/.](?P<mo>\d{{1,2}})[-/.](?P<d>\d{{1,2}})\s+{_HM}{_END}")
_RELATIVE = re.compile(rf"(?P<day>今天|明天|后天)\s*{_HM}{_END}")
_CRON = re.compile(rf"cron\s+(?P<expr>(?:\S+\s+){{4}}\S+){_END}")
_FLASH = re.compile(
    r"(?P<sku>[0-9a-fA-F-]{32,36}|\d{1,3})\s+(?P<yuan>\d{1,7})(?:\.(?P<cents>\d{1,2}))?\s+"
    rf"(?P<stock>\d{{1,6}})(?:\s+限购\s*(?P<limit>\d{{1,3}}))?(?:\s+(?P<minutes>\d{{1,4}})分钟)?{_END}"
)
_NUMBER = re.compile(r"(?P<n>\d{1,3})")


@dataclass(frozen=True)
class Schedule:
    cron: str | None = None
    run_at: datetime | None = None


def parse_when(text: str, *, tz: ZoneInfo, now: datetime) -> tuple[Schedule, str] | None:
    """The schedule at the start of ``text`` and the rest; None when there is none."""
    found = None
    for pattern in (_DAILY, _WORKDAYS, _WEEKLY, _DATE, _RELATIVE):
        found = pattern.match(text)
        if found:
            break
    if found is None:
        cron = _CRON.match(text)
        return (Schedule(cron=" ".join(cron["expr"].split())), text[cron.end() :]) if cron else None
    hour, minute = int(found["h"]), int(found["m"])
    if hour > 23 or minute > 59:
        return None
    rest = text[found.end() :]
    if found.re is _DAILY:
        return Schedule(cron=f"{minute} {hour} * * *"), rest
    if found.re is _WORKDAYS:
        return Schedule(cron=f"{minute} {hour} * * mon-fri"), rest
    if found.re is _WEEKLY:
        return Schedule(cron=f"{minute} {hour} * * {_WEEKDAYS[found['d']]}"), rest
    if found.re is _DATE:
        try:
            day = date(int(found["y"]), int(found["mo"]), int(found["d"]))
        except ValueError:
            return None
    else:
        offset = ("今天", "明天", "后天").index(found["day"])
        day = now.astimezone(tz).date() + timedelta(days=offset)
    at = datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz)
    return Schedule(run_at=at), rest


def _usage(ctx: Context) -> Reply:
    return Text(ctx.render("activities/usage.j2"))


def _refused(ctx: Context, error: Invalid) -> Reply:
    kind = (error.extra.get("errors") or [{}])[0].get("type", "")
    words = error_words.message_of(error.status, error.code)  # never the service's English
    return Text(ctx.render("activities/refused.j2", kind=kind, error=error, words=words))


def _flash(args: str) -> tuple[FlashSpec, str] | None:
    found = _FLASH.match(args)
    if found is None:
        return None
    spec = FlashSpec(
        sku_id=found["sku"],
        price=int(found["yuan"]) * 100 + int((found["cents"] or "0").ljust(2, "0")),
        stock=int(found["stock"]),
        per_user_limit=int(found["limit"] or 1),
        minutes=int(found["minutes"] or 30),
    )
    return spec, args[found.end() :]


async def _sku_of(ctx: Context, spec: FlashSpec) -> FlashSpec:
    """A short number (from 商品) names the community's SKU; a full id stays as it is."""
    if not spec.sku_id.isdigit():
        return spec
    assert ctx.community is not None
    line = await storefront.sku_by_number(ctx.community.id, int(spec.sku_id))
    return replace(spec, sku_id=str(line.product.sku_id))


async def _create(ctx: Context, kind: ActivityKind, args: str) -> Reply:
    assert ctx.community is not None
    tz = ZoneInfo(ctx.community.timezone)
    parsed = parse_when(args, tz=tz, now=ctx.now)
    if parsed is None:
        return _usage(ctx)
    when, rest = parsed
    flash = None
    if kind is ActivityKind.FLASH_SALE:
        parsed_flash = _flash(rest)
        if parsed_flash is None:
            return _usage(ctx)
        flash, rest = parsed_flash
        flash = await _sku_of(ctx, flash)
    draft = activities.Draft(
        kind=kind, text=rest.strip(), cron=when.cron, run_at=when.run_at, flash=flash
    )
    try:
        view = await activities.create_activity(
            principal=principal_of(ctx), community_id=ctx.community.id, draft=draft, now=ctx.now
        )
    except Invalid as exc:
        return _refused(ctx, exc)
    return Text(ctx.render("activities/created.j2", view=view, tz=tz))


async def _listing(ctx: Context) -> Reply:
    assert ctx.community is not None
    views = await activities.list_activities(
        principal=principal_of(ctx), community_id=ctx.community.id
    )
    tz = ZoneInfo(ctx.community.timezone)
    return Text(ctx.render("activities/list.j2", views=views, tz=tz))


async def _cancel(ctx: Context, args: str) -> Reply:
    assert ctx.community is not None
    number = _NUMBER.fullmatch(args)
    if number is None:
        return _usage(ctx)
    who = principal_of(ctx)
    target = await activities.nth_upcoming(
        principal=who, community_id=ctx.community.id, number=int(number["n"])
    )
    view = await activities.cancel_activity(
        principal=who,
        community_id=ctx.community.id,
        activity_id=target.id,
        now=ctx.now,
        redis=ctx.redis,
    )
    return Text(ctx.render("activities/cancelled.j2", view=view, number=number["n"]))


async def _reschedule(ctx: Context, args: str) -> Reply:
    assert ctx.community is not None
    number, _, rest = args.partition(" ")
    tz = ZoneInfo(ctx.community.timezone)
    parsed = parse_when(rest.strip(), tz=tz, now=ctx.now)
    if not _NUMBER.fullmatch(number) or parsed is None or parsed[1].strip():
        return _usage(ctx)
    when = parsed[0]
    who = principal_of(ctx)
    target = await activities.nth_upcoming(
        principal=who, community_id=ctx.community.id, number=int(number)
    )
    try:
        view = await activities.edit_activity(
            principal=who,
            community_id=ctx.community.id,
            activity_id=target.id,
            now=ctx.now,
            redis=ctx.redis,
            cron=when.cron,
            run_at=when.run_at,
        )
    except Invalid as exc:
        return _refused(ctx, exc)
    return Text(ctx.render("activities/created.j2", view=view, tz=tz))


@router.route(Command("活动", "activity", "activities"), staff)
async def activity(ctx: Context, args: str = "") -> Reply:
    if ctx.community is None:
        return not_bound(ctx)
    head, _, rest = args.partition(" ")
    head, rest = head.lower(), rest.strip()
    if head in ("列表", "list"):
        return await _listing(ctx)
    if head in ("取消", "cancel"):
        return await _cancel(ctx, rest)
    if head in ("改期", "reschedule"):
        return await _reschedule(ctx, rest)
    if head in KINDS:
        return await _create(ctx, KINDS[head], rest)
    return _usage(ctx)


@router.route(Command("活动", "activity", "activities"))
async def not_leader(ctx: Context, args: str = "") -> Reply:
    return Text(ctx.render("leaders_only.j2"))


@router.route(Command("秒杀", "flash", "flash-sale", "flashsale"))
async def flash_sales(ctx: Context, args: str = "") -> Reply:
    """The running and upcoming 秒杀 of the group's community (alone: of every community of
    theirs), each with its page: buying is the mini-program's (a Redis gate admits buyers)."""
    if ctx.in_group and ctx.community is None:
        return not_bound(ctx)
    if ctx.community is not None:
        communities = [ctx.community.id]
    else:
        found = await groupchat.persons_communities(user_id=principal_of(ctx).user_id)
        if not found:  # in no community yet: its group is where they find its sales
            return Text(ctx.render("in_group_only.j2"))
        communities = [c.id for c in found]
    cards = await flashsale.on_offer(communities, now=ctx.now)
    return Text(
        ctx.render(
            "activities/flash_sales.j2",
            cards=cards,
            now=ctx.now,
            tz=ctx.tz,
            base=ctx.settings.public_base_url,
            staff=is_staff(ctx),
        )
    )


@router.route(Command("签到", "checkin", "打卡"))
async def check_in(ctx: Context, args: str = "") -> Reply:
    if ctx.update.chat_type is not ChatType.GROUP:
        return Text(ctx.render("activities/checkin_in_group.j2"))
    if ctx.community is None:
        return not_bound(ctx)
    result = await checkin.check_in(
        principal=principal_of(ctx),
        community_id=ctx.community.id,
        now=ctx.now,
        from_group_chat=True,
    )
    return Text(ctx.render("activities/checked_in.j2", result=result))
