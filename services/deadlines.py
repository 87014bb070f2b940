"""Everything with a deadline, in one place: what is due now, and when the next thing is.

Deadlines live in database columns (team deadlines, reservation expiries, reminders,
activity times); the clock asks here, so a restart loses nothing.
"""

from __future__ import annotations

from datetime import datetime

from models.activity import Activity
from models.groupbuy import Seat, SeatStatus, Team, TeamStatus
from models.order import Order, OrderKind, OrderStatus
from services import aftersales, bargains, batches, reminders


async def next_due(now: datetime) -> datetime | None:
    """The earliest future (or overdue) deadline of any kind; None when nothing is pending."""
    candidates: list[datetime] = []
    team = await Team.filter(status=TeamStatus.OPEN).order_by("deadline_at").first()
    if team:
        candidates.append(team.deadline_at)
    seat = await Seat.filter(status=SeatStatus.RESERVED).order_by("reserved_until").first()
    if seat:
        candidates.append(seat.reserved_until)
    order = (
        await Order.filter(
            kind__in=[OrderKind.DIRECT, OrderKind.FLASH, OrderKind.BARGAIN],
            status=OrderStatus.PENDING_PAYMENT,
        )
        .order_by("reserved_until")
        .first()
    )
    if order and order.reserved_until:
        candidates.append(order.reserved_until)
    activity = (
        await Activity.filter(active=True, next_run_at__isnull=False)
        .order_by("next_run_at")
        .first()
    )
    if activity and activity.next_run_at:
        candidates.append(activity.next_run_at)
    after_sale = await aftersales.next_due()
    if after_sale:
        candidates.append(after_sale)
    cutoff = await batches.next_due()
    if cutoff:
        candidates.append(cutoff)
    bargain = await bargains.next_deadline()
    if bargain:
        candidates.append(bargain)
    reminder = await reminders.next_team_reminder(now)
    if reminder:
        candidates.append(reminder)
    return min(candidates) if candidates else None
