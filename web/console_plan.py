"""The leader console's planning pages: campaigns (create, edit, pause, resume, close) and
the calendar of scheduled activities (create, move, cancel). Each form calls the same
service the API and chat call, then redirects back with a note."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from models.activity import ActivityKind
from qunshop.errors import BadRequest, ErrorCode
from qunshop.keys import CLOCK, REDIS
from services import activities, activity_calendar, campaigns, communities
from web import confirm
from web.admin import _fen, _int
from web.auth import Leader
from web.labels import ACTIVITY_KINDS, field_name
from web.page import back, page

if TYPE_CHECKING:
    from aiohttp import web
    from multidict import MultiDictProxy

    from qunshop.keys import Resources
    from services.auth import Principal

SHANGHAI = ZoneInfo("Asia/Shanghai")  # the console's wall clock, as people read it
# What the console's form schedules (a flash sale needs its goods: the chat and the API);
# the calendar shows every kind, in web/labels.py's words.
KINDS = {k: ACTIVITY_KINDS[k.value] for k in (ActivityKind.ANNOUNCEMENT, ActivityKind.CHECKIN)}
REPEATS = {"once": "一次", "daily": "每天", "weekly": "每周"}
MAX_TITLE = 128  # the campaign title's column
END = confirm.Question(
    "立即结束「{name}」？",
    (
        "结束后不能再开团、参团，也不能恢复；只想先停一下，请用「暂停」。",
        "还没拼满的团不会再有人加入，到截止时间按未成团处理，已付款的自动退款。",
        "已成团的订单不受影响，照常到货、提货。",
    ),
    "确认结束",
    back="/console/campaigns",
    nav=confirm.CONSOLE_NAV,
)


def _when(text: str, field: str) -> datetime:
    """A datetime-local field (2026-12-05T18:30), read as Shanghai time."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise BadRequest(
            ErrorCode.VALIDATION_FAILED, f"{field_name(field)}：请选择日期和时间"
        ) from None
    return value.replace(tzinfo=SHANGHAI, second=0, microsecond=0)


def _title(text: str) -> str:
    title = text.strip()
    if not 1 <= len(title) <= MAX_TITLE:
        raise BadRequest(ErrorCode.VALIDATION_FAILED, f"标题：请填写 1 到 {MAX_TITLE} 个字")
    return title


def _check_times(starts_at: datetime, ends_at: datetime, now: datetime) -> None:
    """The campaign service's own time rules, said in the words of the form's fields."""
    if ends_at <= starts_at:
        raise BadRequest(ErrorCode.VALIDATION_FAILED, "结束时间：要晚于开始时间")
    if ends_at <= now:
        raise BadRequest(ErrorCode.VALIDATION_FAILED, "结束时间：已经过去了，请选一个将来的时间")


async def _led(principal: Principal) -> list[Any]:
    return [c.community for c in await communities.my_communities(actor=principal) if c.is_leader]


@page("GET", "/console/campaigns", auth=Leader, template="console/campaigns.html")
async def campaign_list(
    *, principal: Principal, config: Resources, query: MultiDictProxy[str]
) -> dict[str, Any]:
    now = config[CLOCK].now()
    managed = await campaigns.managed(principal=principal)
    return {
        "campaigns": managed,
        "stock_left": await campaigns.stock_left(c.id for c in managed),
        "skus": await campaigns.skus_for(principal=principal),
        "communities": await _led(principal),
        "now": now,
    }


@page("POST", "/console/campaigns", auth=Leader)
async def create_campaign(
    *, principal: Principal, form: dict[str, str], config: Resources
) -> web.StreamResponse:
    now = config[CLOCK].now()
    draft = campaigns.CampaignDraft(
        community_id=form.get("community_id", ""),
        sku_id=form.get("sku_id", ""),
        title=_title(form.get("title", "")),
        group_price=_fen(form.get("group_price", ""), "group_price"),
        team_size=_int(form.get("team_size", ""), "team_size", low=2, high=50),
        starts_at=_when(form.get("starts_at", ""), "starts_at"),
        ends_at=_when(form.get("ends_at", ""), "ends_at"),
        stock_cap=_int(form.get("stock_cap", ""), "stock_cap", low=1, high=1_000_000),
    )
    _check_times(draft.starts_at, draft.ends_at, now)
    made = await campaigns.create_campaign(principal=principal, draft=draft, now=now)
    return back("/console/campaigns", f"已创建：{made.title}")


@page("POST", "/console/campaigns/{campaign_id}/edit", auth=Leader)
async def edit_campaign(
    *, principal: Principal, form: dict[str, str], config: Resources, campaign_id: str
) -> web.StreamResponse:
    now = config[CLOCK].now()
    limit = form.get("per_user_limit", "").strip()
    edit = campaigns.CampaignEdit(
        title=_title(form["title"]) if form.get("title", "").strip() else None,
        ends_at=_when(form["ends_at"], "ends_at") if form.get("ends_at") else None,
        per_user_limit=_int(limit, "per_user_limit", low=1, high=100) if limit else None,
    )
    if edit.ends_at is not None and edit.ends_at <= now:
        raise BadRequest(ErrorCode.VALIDATION_FAILED, "结束时间：已经过去了，请选一个将来的时间")
    done = await campaigns.update(principal=principal, campaign_id=campaign_id, edit=edit, now=now)
    return back("/console/campaigns", f"已保存：{done.title}")


@page("POST", "/console/campaigns/{campaign_id}/{verb:pause|resume}", auth=Leader)
async def campaign_verb(
    *, principal: Principal, config: Resources, campaign_id: str, verb: str
) -> web.StreamResponse:
    now = config[CLOCK].now()
    if verb == "pause":
        done = await campaigns.pause(principal=principal, campaign_id=campaign_id, now=now)
        note = f"已暂停：{done.title}"
    else:
        done = await campaigns.resume(principal=principal, campaign_id=campaign_id, now=now)
        note = f"已恢复：{done.title}"
    return back("/console/campaigns", note)


@page("POST", "/console/campaigns/{campaign_id}/close", auth=Leader, template=confirm.TEMPLATE)
async def close_campaign(
    *, principal: Principal, form: dict[str, str], config: Resources, campaign_id: str
) -> web.StreamResponse | dict[str, Any]:
    """Ending cannot be undone (a paused campaign can be resumed): asked once more first,
    unless it is over already (closing it again changes nothing)."""
    now = config[CLOCK].now()
    shown = await campaigns.one_managed(principal=principal, campaign_id=campaign_id)
    if END.needed(form, undone=shown.ends_at > now):
        return END.page(name=shown.title, action=f"/console/campaigns/{shown.id}/close")
    done = await campaigns.close(principal=principal, campaign_id=shown.id, now=now)
    return back("/console/campaigns", f"已结束：{done.title}")


def _monday(text: str, today: date) -> date:
    try:
        day = date.fromisoformat(text) if text else today
    except ValueError:
        raise BadRequest(ErrorCode.VALIDATION_FAILED, "周：请按 2026-12-07 这样填写日期") from None
    return day - timedelta(days=day.weekday())


@page("GET", "/console/calendar", auth=Leader, template="console/calendar.html")
async def calendar(
    *, principal: Principal, config: Resources, query: MultiDictProxy[str]
) -> dict[str, Any]:
    now = config[CLOCK].now()
    monday = _monday(query.get("week", ""), now.astimezone(SHANGHAI).date())
    led = await _led(principal)
    chosen = next((c for c in led if str(c.id) == query.get("community")), led[0] if led else None)
    days = (
        await activity_calendar.week(
            principal=principal, community_id=chosen.id, first_day=monday, now=now
        )
        if chosen
        else []
    )
    return {
        "community": chosen,
        "communities": led,
        "days": days,
        "monday": monday,
        "previous": monday - timedelta(days=7),
        "next": monday + timedelta(days=7),
        "kinds": KINDS,
        "repeats": REPEATS,
    }


def _calendar(form: dict[str, str], day: date | None = None) -> str:
    """Back to the week the leader acted on: the one the activity now falls in, or the one
    the form was posted from, not always this week."""
    week = day.isoformat() if day else form.get("week", "")[:10]
    return f"/console/calendar?community={quote(form.get('community_id', ''))}&week={quote(week)}"


@page("POST", "/console/calendar", auth=Leader)
async def schedule(
    *, principal: Principal, form: dict[str, str], config: Resources
) -> web.StreamResponse:
    try:
        kind = ActivityKind(form.get("kind", ""))
    except ValueError:
        raise BadRequest(ErrorCode.VALIDATION_FAILED, "类型：请选择群公告或签到") from None
    if kind not in KINDS:
        raise BadRequest(ErrorCode.VALIDATION_FAILED, "类型：请选择群公告或签到")
    at = _when(form.get("at", ""), "at")
    repeat = form.get("repeat", "once")
    if repeat not in REPEATS:  # never read a mistyped choice as 一次
        raise BadRequest(ErrorCode.VALIDATION_FAILED, "重复：请选择一次、每天或每周")
    cron = {
        "daily": f"{at.minute} {at.hour} * * *",
        "weekly": f"{at.minute} {at.hour} * * {at.isoweekday() % 7}",
    }.get(repeat)
    draft = activities.Draft(
        kind=kind,
        title=form.get("title", ""),
        text=form.get("text", ""),
        cron=cron,
        run_at=None if cron else at,
    )
    await activities.create_activity(
        principal=principal,
        community_id=form.get("community_id", ""),
        draft=draft,
        now=config[CLOCK].now(),
    )
    return back(_calendar(form, at.date()), "已安排")


@page("POST", "/console/calendar/move", auth=Leader)
async def move(
    *, principal: Principal, form: dict[str, str], config: Resources
) -> web.StreamResponse:
    at = _when(form.get("at", ""), "at")
    await activities.edit_activity(
        principal=principal,
        community_id=form.get("community_id", ""),
        activity_id=form.get("activity_id", ""),
        run_at=at,
        cron=None,
        now=config[CLOCK].now(),
        redis=config[REDIS],
    )
    return back(_calendar(form, at.date()), "已改期")


@page("POST", "/console/calendar/cancel", auth=Leader)
async def cancel(
    *, principal: Principal, form: dict[str, str], config: Resources
) -> web.StreamResponse:
    await activities.cancel_activity(
        principal=principal,
        community_id=form.get("community_id", ""),
        activity_id=form.get("activity_id", ""),
        now=config[CLOCK].now(),
        redis=config[REDIS],
    )
    return back(_calendar(form), "已取消")
