"""Reminders: "N more needed" into the team's group chat, and the daily pickup nudge.

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
from models.community import Community
from models.groupbuy import Campaign, Seat, SeatStatus, Team, TeamStatus
from models.order import Order, OrderStatus
from models.user import User
from services import notify, subscriptions

logger = logging.getLogger(__name__)

TeamMessage = Callable[[Team, Campaign, int], dict[str, Any]]
# (template_id, page, data) of the subscribe message for members who asked for one.
TeamSubscribe = Callable[[Team, Campaign, int], tuple[str, str, dict[str, Any]]]
PickupMessage = Callable[[Order], dict[str, Any]]
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
        community = await _community_of(team, campaign)
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


async def _community_of(team: Team, campaign: Campaign) -> Community | None:
    """The group the team was started in, else its campaign's community."""
    if team.chat_id:
        bound = await Community.get_or_none(chat_id=team.chat_id)
        if bound is not None:
            return bound
    return await Community.get_or_none(id=campaign.community_id)


async def send_pickup_reminders(*, now: datetime, message: PickupMessage, limit: int = 500) -> int:
    """One reminder a day for orders ready for pickup and not picked up."""
    not_today = Q(pickup_reminded_at__isnull=True) | Q(
        pickup_reminded_at__lte=now - timedelta(hours=24)
    )
    due = await Order.filter(not_today, status=OrderStatus.READY_FOR_PICKUP).limit(limit)
    sent = 0
    for order in due:
        # Claim by conditional update, so two schedulers never remind twice.
        claimed = await Order.filter(
            not_today, id=order.id, status=OrderStatus.READY_FOR_PICKUP
        ).update(pickup_reminded_at=now)
        if claimed != 1:
            continue
        user = await User.get(id=order.user_id)
        await notify.to_user(
            user=user,
            message=message(order),
            dedupe_key=f"pickup-reminder:{order.id}:{now.date().isoformat()}",
            now=now,
        )
        sent += 1
    return sent
