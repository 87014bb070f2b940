"""Reminders: "N more needed" into the team's group chat, the daily pickup nudge, and the
warning of a seat about to lapse unpaid.

The door that runs these (the clock) renders the words; the rules of when and to whom, and
the at-most-once guarantee, are here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from models.activity import TeamReminder
from models.groupbuy import Campaign, Seat, SeatStatus, Team, TeamStatus
from models.order import Order, OrderStatus
from services import news, notify, subscriptions

logger = logging.getLogger(__name__)

TeamMessage = Callable[[Team, Campaign, int], dict[str, Any]]
# (template_id, page, data) of the subscribe message for members who asked for one.
TeamSubscribe = Callable[[Team, Campaign, int], tuple[str, str, dict[str, Any]]]
MAX_OFFSET = timedelta(days=2)


async def _window(now: datetime) -> tuple[list[Team], dict[Any, Campaign]]:
    """Open teams close enough to their deadline for some campaign's earliest reminder."""
    campaigns = {
        c.id: c for c in await Campaign.filter(ends_at__gt=now - MAX_OFFSET) if c.reminder_minutes
    }
    if not campaigns:
        return [], {}
    widest = max(max(c.reminder_minutes) for c in campaigns.values())
    teams = (
        await Team.filter(
            status=TeamStatus.OPEN,
            campaign_id__in=list(campaigns),
            deadline_at__gt=now,
            deadline_at__lte=now + min(timedelta(minutes=widest), MAX_OFFSET),
        )
        .order_by("deadline_at")
        .limit(500)
    )
    return teams, campaigns


async def next_team_reminder(now: datetime) -> datetime | None:
    """When the next reminder not yet posted falls due, if within the reminder window."""
    teams, campaigns = await _window(now + MAX_OFFSET)
    upcoming = [
        team.deadline_at - timedelta(minutes=m)
        for team in teams
        for m in campaigns[team.campaign_id].reminder_minutes
        if team.deadline_at - timedelta(minutes=m) > now
    ]
    return min(upcoming) if upcoming else None


async def send_team_reminders(
    *, now: datetime, message: TeamMessage, subscribe: TeamSubscribe | None = None
) -> int:
    """Post every reminder now due; each (team, offset) at most once. Returns how many."""
    teams, campaigns = await _window(now)
    if not teams:
        return 0
    done = set(
        await TeamReminder.filter(team_id__in=[t.id for t in teams]).values_list(
            "team_id", "minutes_before"
        )
    )
    sent = 0
    for team in teams:
        campaign = campaigns[team.campaign_id]
        due = [
            m
            for m in campaign.reminder_minutes
            if team.deadline_at - timedelta(minutes=m) <= now and (team.id, m) not in done
        ]
        if not due or team.seats_paid >= team.size:
            continue
        minutes = min(due)  # the latest due offset; earlier missed ones are not sent late
        community = await news.group_of(team, campaign)
        async with in_transaction():
            try:
                await TeamReminder.create(team=team, minutes_before=minutes, sent_at=now)
            except IntegrityError:
                continue
            for skipped in due:  # missed offsets are marked passed, never posted late
                if skipped != minutes:
                    try:
                        async with in_transaction():
                            await TeamReminder.create(
                                team=team, minutes_before=skipped, sent_at=now
                            )
                    except IntegrityError:
                        pass
            if community is not None:
                await notify.to_group(
                    community=community,
                    message=message(team, campaign, minutes),
                    dedupe_key=f"team-reminder:{team.id}:{minutes}",
                    now=now,
                )
            if subscribe is not None:
                await _subscribers(team, campaign, minutes, subscribe, now)
        sent += 1
    return sent


async def _subscribers(
    team: Team, campaign: Campaign, minutes: int, subscribe: TeamSubscribe, now: datetime
) -> None:
    """Members who accepted the reminder's subscribe template get it, one consent each."""
    template_id, page, data = subscribe(team, campaign, minutes)
    seats = await Seat.filter(
        team_id=team.id, status__in=[SeatStatus.RESERVED, SeatStatus.PAID]
    ).select_related("user")
    for seat in seats:
        if await subscriptions.spend(user_id=seat.user_id, template_id=template_id):
            await notify.subscribe(
                user=seat.user,
                template_id=template_id,
                page=page,
                data=data,
                dedupe_key=f"team-reminder-sub:{team.id}:{minutes}:{seat.user_id}",
                now=now,
            )


async def send_pickup_reminders(*, now: datetime, limit: int = 500) -> int:
    """One reminder a day for orders ready for pickup and not picked up (news, once each)."""
    not_today = Q(pickup_reminded_at__isnull=True) | Q(
        pickup_reminded_at__lte=now - timedelta(hours=24)
    )
    due = await Order.filter(not_today, status=OrderStatus.READY_FOR_PICKUP).limit(limit)
    sent = 0
    for order in due:
        async with in_transaction():
            # Claim by conditional update, so two schedulers never remind twice.
            claimed = await Order.filter(
                not_today, id=order.id, status=OrderStatus.READY_FOR_PICKUP
            ).update(pickup_reminded_at=now)
            if claimed != 1:
                continue
            await news.publish(
                news.PICKUP_REMINDER,
                ref=f"{order.id}:{now.date().isoformat()}",
                order_id=str(order.id),
                now=now,
            )
        sent += 1
    return sent


async def warn_lapsing(*, now: datetime, within: timedelta, limit: int = 500) -> int:
    """Unpaid orders whose seat lapses within ``within``: one warning each, ever."""
    due = await Order.filter(
        status=OrderStatus.PENDING_PAYMENT,
        lapse_warned_at__isnull=True,
        reserved_until__gt=now,
        reserved_until__lte=now + within,
    ).limit(limit)
    warned = 0
    for order in due:
        async with in_transaction():
            claimed = await Order.filter(
                id=order.id, status=OrderStatus.PENDING_PAYMENT, lapse_warned_at__isnull=True
            ).update(lapse_warned_at=now)
            if claimed != 1:
                continue
            await news.publish(news.ORDER_LAPSING, ref=str(order.id), now=now)
        warned += 1
    return warned
