"""Scheduled community activities: leaders plan them, the clock fires each firing once.

A community's leader (or an admin) schedules an announcement, the daily check-in call, a
flash sale or the weekly earnings statement, once (``run_at``) or recurring (``cron``, in the
community's time zone). ``next_run_at``, in UTC, is the one deadline the clock reads:
creating and editing compute it, cancelling clears it.

``run_due`` fires what is due. ActivityRun's unique (activity, due_at) makes each firing
happen once however many schedulers try; occurrences missed while the server was down
coalesce into one firing; a failing activity is logged with its id and retried with backoff,
and never stops the others.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from models.activity import Activity, ActivityKind, ActivityRun, FlashSale
from models.community import Community
from models.user import User
from qunshop.errors import Conflict, ErrorCode, Invalid, NotFound
from services import (
    backoff,
    clockstats,
    communities,
    flashgate,
    flashsale,
    moderation,
    notify,
    schedules,
    statements,
)
from services.flashsale import FlashSpec
from services.ids import parse_uuid

if TYPE_CHECKING:
    import uuid

    from redis.asyncio import Redis

    from services.auth import Principal

logger = logging.getLogger(__name__)

TITLE_MAX = 128
TEXT_MAX = 500
RETRY_FIRST = timedelta(minutes=1)
RETRY_MAX = timedelta(hours=1)
RETRY_ATTEMPTS = 6  # then this firing is given up; a recurring activity waits for its next
# Until qunshop/errors.py names it, the nearest existing code (see the report).
NOT_FOUND = ErrorCode.ACTIVITY_NOT_FOUND


class _Unset(Enum):
    UNSET = "unset"


UNSET = _Unset.UNSET
"""An edit leaves a field that is UNSET as it is (None may be a real value)."""


@dataclass(frozen=True)
class Draft:
    kind: ActivityKind
    title: str = ""
    text: str = ""
    cron: str | None = None  # crontab, in the community's time zone
    run_at: datetime | None = None  # once
    flash: FlashSpec | None = None


@dataclass(frozen=True)
class View:
    activity: Activity
    flash_sale: FlashSale | None = None


@dataclass(frozen=True)
class Firing:
    """One firing, as the door that words it needs it."""

    activity: Activity
    community: Community
    due_at: datetime
    local_time: datetime  # due_at in the community's time zone
    text: str
    flash_sale: FlashSale | None = None
    statement: statements.WeekStatement | None = None


Render = Callable[[Firing], dict[str, Any]]


def _invalid(field: str, kind: str, msg: str) -> Invalid:
    return Invalid(
        ErrorCode.VALIDATION_FAILED,
        f"{field}: {msg}",
        errors=[{"loc": [field], "msg": msg, "type": kind}],
    )


def _check_words(kind: ActivityKind, title: str, text: str) -> None:
    if len(title) > TITLE_MAX:
        raise _invalid("title", "too_long", f"at most {TITLE_MAX} characters")
    if len(text) > TEXT_MAX:
        raise _invalid("text", "too_long", f"at most {TEXT_MAX} characters")
    if kind is ActivityKind.ANNOUNCEMENT and not text.strip():
        raise _invalid("text", "text_required", "an announcement needs its text")


def first_run(
    *, cron: str | None, run_at: datetime | None, timezone: str, now: datetime
) -> datetime:
    """When a schedule first fires after ``now``, in UTC; Invalid for a bad schedule."""
    if (cron is None) == (run_at is None):
        raise _invalid("schedule", "schedule_required", "give cron (recurring) or run_at (once)")
    if cron is not None:
        try:
            first = schedules.next_fire(cron, timezone, after=now)
        except schedules.BadCron as exc:
            raise _invalid("cron", "invalid_cron", f"not a valid cron expression: {exc}") from None
        if first is None:
            raise _invalid("cron", "invalid_cron", "this cron expression never fires")
        return first
    assert run_at is not None
    if run_at.tzinfo is None:
        raise _invalid("run_at", "naive_time", "run_at must carry a time zone")
    if run_at <= now:
        raise _invalid("run_at", "in_the_past", "the start time has already passed")
    return run_at.astimezone(UTC)


def _check_kind(kind: ActivityKind, *, cron: str | None, has_flash: bool) -> None:
    if kind is ActivityKind.FLASH_SALE:
        if cron is not None:
            raise _invalid("cron", "flash_sale_once", "a flash sale happens once: give run_at")
        if not has_flash:
            raise _invalid("flash_sale", "flash_sale_required", "give the SKU, price and stock")
    elif has_flash:
        raise _invalid("flash_sale", "not_a_flash_sale", "only a flash sale takes flash_sale")


async def _managed(principal: Principal, community_id: str | uuid.UUID) -> Community:
    community = await communities.get_community(community_id)
    await communities.ensure_can_manage(principal, community)
    return community


async def _find(community: Community, activity_id: str | uuid.UUID) -> Activity:
    key = parse_uuid(activity_id)
    activity = await Activity.get_or_none(id=key, community_id=community.id) if key else None
    if activity is None:
        raise NotFound(NOT_FOUND, "no such activity in this community")
    return activity


async def create_activity(
    *, principal: Principal, community_id: str | uuid.UUID, draft: Draft, now: datetime
) -> View:
    community = await _managed(principal, community_id)
    _check_words(draft.kind, draft.title, draft.text)
    await moderation.screen_words(principal, f"{draft.title}\n{draft.text}", now=now)
    _check_kind(draft.kind, cron=draft.cron, has_flash=draft.flash is not None)
    first = first_run(cron=draft.cron, run_at=draft.run_at, timezone=community.timezone, now=now)
    async with in_transaction():
        activity = await Activity.create(
            community=community,
            kind=draft.kind,
            title=draft.title.strip(),
            payload={"text": draft.text.strip()},
            cron=" ".join(draft.cron.split()) if draft.cron else None,
            run_at=first if draft.run_at is not None else None,
            next_run_at=first,
            created_by_id=principal.user_id,
        )
        sale = None
        if draft.flash is not None:
            sale = await flashsale.open_sale(
                activity=activity, community=community, spec=draft.flash, starts_at=first
            )
    logger.info(
        "activity %s (%s) scheduled in %s for %s", activity.id, draft.kind, community.id, first
    )
    return View(activity=activity, flash_sale=sale)


async def edit_activity(
    *,
    principal: Principal,
    community_id: str | uuid.UUID,
    activity_id: str | uuid.UUID,
    now: datetime,
    redis: Redis,
    title: str | _Unset = UNSET,
    text: str | _Unset = UNSET,
    cron: str | None | _Unset = UNSET,
    run_at: datetime | None | _Unset = UNSET,
) -> View:
    """Change the given fields. A new cron or run_at replaces the schedule and reschedules."""
    community = await _managed(principal, community_id)
    activity = await _find(community, activity_id)
    if not activity.active:
        raise Conflict(ErrorCode.ACTIVITY_CANCELLED, "this activity was cancelled")
    new_title = activity.title if isinstance(title, _Unset) else title.strip()
    new_text = activity.payload.get("text", "") if isinstance(text, _Unset) else text.strip()
    _check_words(activity.kind, new_title, new_text)
    await moderation.screen_words(principal, f"{new_title}\n{new_text}", now=now)
    payload = {k: v for k, v in activity.payload.items() if k != "failures"}
    changes: dict[str, Any] = {"title": new_title, "payload": {**payload, "text": new_text}}
    sale = await FlashSale.filter(activity_id=activity.id).select_related("sku__product").first()
    async with in_transaction():
        if not isinstance(cron, _Unset) or not isinstance(run_at, _Unset):
            new_cron = None if isinstance(cron, _Unset) else cron
            new_run_at = None if isinstance(run_at, _Unset) else run_at
            _check_kind(activity.kind, cron=new_cron, has_flash=sale is not None)
            first = first_run(
                cron=new_cron, run_at=new_run_at, timezone=community.timezone, now=now
            )
            changes.update(
                cron=" ".join(new_cron.split()) if new_cron else None,
                run_at=first if new_run_at is not None else None,
                next_run_at=first,
            )
            if sale is not None:
                sale = await flashsale.reschedule(sale, starts_at=first, now=now)
        await Activity.filter(id=activity.id).update(**changes)
    if sale is not None and "next_run_at" in changes:
        await flashgate.move(redis, sale.id, (sale.starts_at, sale.ends_at))
    logger.info("activity %s edited: %s", activity.id, sorted(changes))
    return View(activity=await Activity.get(id=activity.id), flash_sale=sale)


async def cancel_activity(
    *,
    principal: Principal,
    community_id: str | uuid.UUID,
    activity_id: str | uuid.UUID,
    now: datetime,
    redis: Redis,
) -> View:
    """Nothing more runs; a flash sale stops selling and its unsold units go back. Idempotent."""
    community = await _managed(principal, community_id)
    activity = await _find(community, activity_id)
    async with in_transaction():
        await Activity.filter(id=activity.id).update(active=False, next_run_at=None)
        # With its goods: a sale scheduled by chat has no title, its card names the product.
        sale = (
            await FlashSale.filter(activity_id=activity.id).select_related("sku__product").first()
        )
        if sale is not None:
            sale = await flashsale.close_sale(sale, now=now)
    if sale is not None:
        await flashgate.move(redis, sale.id, (sale.starts_at, sale.ends_at))
    logger.info("activity %s cancelled by %s", activity.id, principal.user_id)
    return View(activity=await Activity.get(id=activity.id), flash_sale=sale)


async def get_activity(
    *, principal: Principal, community_id: str | uuid.UUID, activity_id: str | uuid.UUID
) -> View:
    community = await _managed(principal, community_id)
    activity = await _find(community, activity_id)
    return View(activity=activity, flash_sale=await FlashSale.get_or_none(activity_id=activity.id))


async def list_activities(
    *, principal: Principal, community_id: str | uuid.UUID, upcoming_only: bool = True
) -> list[View]:
    """Oldest first; ``upcoming_only``: the active ones with a firing still to come."""
    community = await _managed(principal, community_id)
    query = Activity.filter(community_id=community.id)
    if upcoming_only:
        query = query.filter(active=True, next_run_at__isnull=False)
    items = await query.order_by("created_at", "id").limit(200)
    # With their goods: the list names what each sale sells.
    found = FlashSale.filter(activity_id__in=[a.id for a in items]).select_related("sku__product")
    sales = {s.activity_id: s for s in await found}
    return [View(activity=a, flash_sale=sales.get(a.id)) for a in items]


async def nth_upcoming(
    *, principal: Principal, community_id: str | uuid.UUID, number: int
) -> Activity:
    """The activity numbered ``number`` (from 1) in the upcoming list, as chat shows it."""
    items = await list_activities(principal=principal, community_id=community_id)
    if not 1 <= number <= len(items):
        raise NotFound(NOT_FOUND, f"没有第 {number} 个活动，发送「活动 列表」查看")
    return items[number - 1].activity


async def _firing(activity: Activity, community: Community, due_at: datetime) -> Firing:
    sale = statement = None
    if activity.kind is ActivityKind.FLASH_SALE:
        # With its goods: a sale scheduled by chat has no title, its card names the product.
        sale = (
            await FlashSale.filter(activity_id=activity.id).select_related("sku__product").first()
        )
    elif activity.kind is ActivityKind.EARNINGS_STATEMENT:
        statement = await statements.last_week(community=community, at=due_at)
    return Firing(
        activity=activity,
        community=community,
        due_at=due_at,
        local_time=due_at.astimezone(ZoneInfo(community.timezone)),
        text=activity.payload.get("text", ""),
        flash_sale=sale,
        statement=statement,
    )


async def _perform(
    activity: Activity, community: Community, *, due_at: datetime, now: datetime, render: Render
) -> None:
    """Queue the firing's message in the outbox (sent after the commit)."""
    firing = await _firing(activity, community, due_at)
    if activity.kind is ActivityKind.FLASH_SALE and (
        firing.flash_sale is None or firing.flash_sale.ends_at <= now
    ):
        logger.info("activity %s: the flash sale is over; its card is not posted", activity.id)
        return
    message = render(firing)
    key = f"activity:{activity.id}:{due_at:%Y%m%dT%H%M%S}"
    if activity.kind is ActivityKind.EARNINGS_STATEMENT:  # a leader's earnings are theirs
        leader = await User.get(id=community.leader_id)
        await notify.to_user(user=leader, message=message, dedupe_key=key, now=now)
    else:
        await notify.to_group(community=community, message=message, dedupe_key=key, now=now)


def _following(activity: Activity, community: Community, now: datetime) -> datetime | None:
    """The next firing after ``now``: every occurrence missed meanwhile coalesces into it."""
    if activity.cron is None:
        return None
    try:
        return schedules.next_fire(activity.cron, community.timezone, after=now)
    except schedules.BadCron:
        logger.error("activity %s has a bad cron %r; it stops", activity.id, activity.cron)
        return None


async def _claim(activity: Activity, due_at: datetime, now: datetime) -> bool:
    try:
        async with in_transaction():  # a savepoint: a duplicate must not poison the firing
            await ActivityRun.create(activity=activity, due_at=due_at, ran_at=now)
    except IntegrityError:
        return False
    return True


def _settled(payload: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in payload.items() if k != "failures"}


async def _fire(activity: Activity, *, now: datetime, render: Render) -> bool:
    community = await Community.get(id=activity.community_id)
    due_at = activity.next_run_at
    async with in_transaction():
        locked = await Activity.filter(id=activity.id).select_for_update().get()
        if not locked.active or due_at is None or locked.next_run_at != due_at:
            return False  # cancelled, edited or fired meanwhile
        claimed = await _claim(locked, due_at, now)
        if claimed:
            await _perform(locked, community, due_at=due_at, now=now, render=render)
        else:
            logger.warning("activity %s had already fired for %s", locked.id, due_at)
        await Activity.filter(id=locked.id).update(
            next_run_at=_following(locked, community, now),
            last_run_at=now if claimed else locked.last_run_at,
            payload=_settled(locked.payload),
        )
    return claimed


async def _retry_later(activity: Activity, *, now: datetime, error: Exception) -> None:
    """Push the failed firing back: 1, 2, 4 ... minutes (at most an hour), then give it up."""
    try:
        due_at = activity.next_run_at
        failures = int(activity.payload.get("failures", 0)) + 1
        await clockstats.record_run(
            job=f"activity:{activity.id}",
            due_at=due_at or now,
            ran_at=now,
            ok=False,
            error=f"{type(error).__name__}: {error}",
        )
        payload = {**activity.payload, "failures": failures}
        if failures < RETRY_ATTEMPTS:
            later = now + backoff.delay(failures, first=RETRY_FIRST, cap=RETRY_MAX)
            logger.warning("activity %s retries at %s (failure %s)", activity.id, later, failures)
        else:
            payload = _settled(payload)
            community = await Community.get_or_none(id=activity.community_id)
            later = _following(activity, community, now) if community else None
            logger.error(
                "activity %s failed %s times: firing %s given up, next %s",
                activity.id,
                failures,
                due_at,
                later,
            )
        await Activity.filter(id=activity.id, active=True, next_run_at=due_at).update(
            next_run_at=later, payload=payload
        )
    except Exception:
        logger.exception("activity %s: could not schedule its retry", activity.id)


async def run_due(*, now: datetime, render: Render, limit: int = 100) -> int:
    """Fire every active activity due by ``now``, each firing once. Never raises.

    ``render`` words a firing (the clock renders its templates). Returns how many fired.
    """
    try:
        due = (
            await Activity.filter(active=True, next_run_at__lte=now)
            .order_by("next_run_at")
            .limit(limit)
        )
    except Exception:
        logger.exception("could not read the due activities")
        return 0
    fired = 0
    for activity in due:
        try:
            fired += await _fire(activity, now=now, render=render)
        except Exception as exc:
            logger.exception("activity %s due %s failed", activity.id, activity.next_run_at)
            await _retry_later(activity, now=now, error=exc)
    return fired
