"""Reminders: "N more needed" into the team's group chat, the daily pickup nudge, and the
warning of a seat about to lapse unpaid.

The door that runs these (the clock) renders the words; the rules of when and to whom, and
the at-most-once guarantee, are here.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from tortoise import connections
from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from models.activity import TeamReminder
from models.groupbuy import Campaign, Seat, SeatStatus, Team
from models.order import Order, OrderStatus
from services import news, notify, subscriptions

logger = logging.getLogger(__name__)

TeamMessage = Callable[[Team, Campaign, int], dict[str, Any]]
# (template_id, page, data) of the subscribe message for members who asked for one.
TeamSubscribe = Callable[[Team, Campaign, int], tuple[str, str, dict[str, Any]]]
MAX_OFFSET = timedelta(days=2)


def _by_offset(campaigns: list[Campaign]) -> dict[int, list[Any]]:
    """Each reminder offset (minutes before the deadline) and the campaigns that use it."""
    offsets: dict[int, list[Any]] = {}
    for campaign in campaigns:
        for minutes in set(campaign.reminder_minutes):
            offsets.setdefault(minutes, []).append(campaign.id)
    return offsets


async def _campaigns(now: datetime) -> dict[Any, Campaign]:
    return {
        c.id: c for c in await Campaign.filter(ends_at__gt=now - MAX_OFFSET) if c.reminder_minutes
    }


# Open teams of these campaigns inside one offset's reach that have not had that reminder.
# Asked per offset, with the reminders already posted left out by the database, so a thousand
# teams reminded earlier never hide the ones still waiting (a plain "the first 500 teams in
# reach" did, with a million open teams). The state is written out for the partial index of
# open teams (migration 0085).
_WAITING = """
SELECT t.id FROM teams t
WHERE t.status = 'open' AND t.campaign_id = ANY($1::uuid[])
  AND t.deadline_at > $2 AND t.deadline_at <= $3 AND t.seats_paid < t.size
  AND NOT EXISTS (
    SELECT 1 FROM team_reminders r WHERE r.team_id = t.id AND r.minutes_before = $4
  )
ORDER BY t.deadline_at LIMIT $5
"""

# The earliest open team of these campaigns whose reminder at this offset is still ahead.
_NEXT = """
SELECT min(deadline_at) AS at FROM teams
WHERE status = 'open' AND campaign_id = ANY($1::uuid[]) AND deadline_at > $2
"""


async def _window(now: datetime, limit: int = 500) -> tuple[list[Team], dict[Any, Campaign]]:
    """Open teams with a reminder due and not yet posted (or passed), soonest deadline first."""
    campaigns = await _campaigns(now)
    db = connections.get("default")
    ids: set[Any] = set()
    for minutes, campaign_ids in _by_offset(list(campaigns.values())).items():
        reach = now + min(timedelta(minutes=minutes), MAX_OFFSET)
        _, rows = await db.execute_query(_WAITING, [campaign_ids, now, reach, minutes, limit])
        ids.update(row["id"] for row in rows)
    if not ids:
        return [], campaigns
    teams = await Team.filter(id__in=list(ids)).order_by("deadline_at").limit(limit)
    return teams, campaigns


async def next_team_reminder(now: datetime) -> datetime | None:
    """When the next reminder not yet due falls due."""
    campaigns = await _campaigns(now)
    db = connections.get("default")
    upcoming = []
    for minutes, campaign_ids in _by_offset(list(campaigns.values())).items():
        before = timedelta(minutes=minutes)
        _, rows = await db.execute_query(_NEXT, [campaign_ids, now + before])
        if rows and rows[0]["at"] is not None:
            upcoming.append(rows[0]["at"] - before)
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
                    message=message(team, campaign, _minutes_left(team, now)),
                    dedupe_key=f"team-reminder:{team.id}:{minutes}",
                    now=now,
                )
            if subscribe is not None:
                await _subscribers(team, campaign, minutes, subscribe, now)
        sent += 1
    return sent


def _minutes_left(team: Team, now: datetime) -> int:
    """What the reminder says is left: the time to the deadline, not the offset that fired
    (a team opened 40 minutes before its campaign ends hears its 60-minute reminder at once)."""
    return max(1, math.ceil((team.deadline_at - now).total_seconds() / 60))


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
