"""A campaign's teams as its leader reads them: who is in which team, who has paid, how many
more each team needs, and the counts of the whole campaign.

Read in two queries whatever the number of teams: the campaign with its community (for the
permission), then every seat of the campaign joined to its team, buyer and order.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

from models.groupbuy import Campaign, Seat, Team, TeamStatus
from models.order import OrderStatus
from qunshop.errors import ErrorCode, NotFound
from services import communities
from services.ids import parse_uuid
from services.pickup import buyer_label

if TYPE_CHECKING:
    import uuid

    from models.order import Order
    from services.auth import Principal

MAX_SEATS = 2000  # a page a phone can still scroll; the newest teams first
PAID = frozenset(
    {
        OrderStatus.PAID_AWAITING_TEAM,
        OrderStatus.CONFIRMED,
        OrderStatus.READY_FOR_PICKUP,
        OrderStatus.PICKED_UP,
        OrderStatus.COMPLETED,
    }
)


@dataclass(frozen=True)
class Member:
    name: str  # the nickname, or the order number's tail for a buyer known only by chat
    is_head: bool
    order: Order


@dataclass(frozen=True)
class TeamRow:
    team: Team
    members: list[Member]

    @property
    def missing(self) -> int:
        """Seats still free: how many more people the team needs."""
        return max(self.team.size - self.team.seats_held, 0)


@dataclass(frozen=True)
class Summary:
    open: int
    succeeded: int
    failed: int
    paid: int  # orders paid (waiting for the team, or on their way to the buyer)
    pending: int  # orders holding a seat, not yet paid


@dataclass(frozen=True)
class CampaignTeams:
    campaign: Campaign
    teams: list[TeamRow]
    summary: Summary
    truncated: bool  # more seats than MAX_SEATS: the oldest teams are left off


async def teams_of(*, principal: Principal, campaign_id: str | uuid.UUID) -> CampaignTeams:
    """The campaign's teams, newest first, each with its members and their orders' states.
    Only the campaign's community's leader (or an operator) may read them."""
    key = parse_uuid(campaign_id)
    campaign = await Campaign.get_or_none(id=key).select_related("community") if key else None
    if campaign is None:
        raise NotFound(ErrorCode.CAMPAIGN_NOT_FOUND, "no such campaign")
    await communities.ensure_can_manage(principal, campaign.community)
    seats = (
        await Seat.filter(campaign_id=campaign.id)
        .select_related("team", "user", "order")
        .order_by("-team__created_at", "team_id", "-is_head", "created_at")
        .limit(MAX_SEATS + 1)
    )
    truncated = len(seats) > MAX_SEATS
    rows: dict[uuid.UUID, TeamRow] = {}
    for seat in seats[:MAX_SEATS]:
        row = rows.setdefault(seat.team.id, TeamRow(team=seat.team, members=[]))
        row.members.append(
            Member(
                name=buyer_label(seat.user.nickname, seat.order.out_trade_no),
                is_head=seat.is_head,
                order=seat.order,
            )
        )
    teams = Counter(r.team.status for r in rows.values())
    orders = Counter(
        "paid" if m.order.status in PAID else m.order.status
        for r in rows.values()
        for m in r.members
    )
    return CampaignTeams(
        campaign=campaign,
        teams=list(rows.values()),
        summary=Summary(
            open=teams[TeamStatus.OPEN],
            succeeded=teams[TeamStatus.SUCCEEDED],
            failed=teams[TeamStatus.FAILED],
            paid=orders["paid"],
            pending=orders[OrderStatus.PENDING_PAYMENT],
        ),
        truncated=truncated,
    )
