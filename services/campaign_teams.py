"""A campaign's teams as its leader reads them: who is in which team, who has paid, how many
more each team needs, and the counts of the whole campaign.

Read in five queries whatever the number of teams: the campaign with its community (for the
permission), the newest teams (a team the leader opened for the group has no seat yet), their
seats joined to buyer and order, and the counts of the whole campaign by status.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from tortoise.functions import Count

from models.groupbuy import Campaign, Seat, Team, TeamStatus
from models.order import PAID_STATES, Order, OrderStatus
from qunshop.errors import ErrorCode, NotFound
from qunshop.templates import person_name
from services import communities
from services.ids import parse_uuid

if TYPE_CHECKING:
    import uuid

    from services.auth import Principal

MAX_TEAMS = 300  # a page a phone can still scroll; the newest teams first


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
    truncated: bool  # more teams than MAX_TEAMS: the oldest are left off (not from the counts)


async def teams_of(*, principal: Principal, campaign_id: str | uuid.UUID) -> CampaignTeams:
    """The campaign's teams, newest first, each with its members and their orders' states.
    Only the campaign's community's leader (or an operator) may read them."""
    key = parse_uuid(campaign_id)
    campaign = await Campaign.get_or_none(id=key).select_related("community") if key else None
    if campaign is None:
        raise NotFound(ErrorCode.CAMPAIGN_NOT_FOUND, "no such campaign")
    await communities.ensure_can_manage(principal, campaign.community)
    teams = await Team.filter(campaign_id=campaign.id).order_by("-created_at").limit(MAX_TEAMS + 1)
    truncated = len(teams) > MAX_TEAMS
    rows = {t.id: TeamRow(team=t, members=[]) for t in teams[:MAX_TEAMS]}
    seats = (
        await Seat.filter(team_id__in=list(rows))
        .select_related("user", "order")
        .order_by("-is_head", "created_at")
    )
    for seat in seats:
        rows[seat.team_id].members.append(
            Member(
                name=person_name(seat.user.nickname, seat.order.out_trade_no),
                is_head=seat.is_head,
                order=seat.order,
            )
        )
    return CampaignTeams(
        campaign=campaign,
        teams=list(rows.values()),
        summary=await _summary(campaign.id),
        truncated=truncated,
    )


async def _summary(campaign_id: uuid.UUID) -> Summary:
    """The whole campaign's teams and team orders by status, however many are listed."""
    teams = {
        row["status"]: row["n"]
        for row in await Team.filter(campaign_id=campaign_id)
        .annotate(n=Count("id"))
        .group_by("status")
        .values("status", "n")
    }
    orders = {
        row["status"]: row["n"]
        for row in await Order.filter(campaign_id=campaign_id, team_id__isnull=False)
        .annotate(n=Count("id"))
        .group_by("status")
        .values("status", "n")
    }
    return Summary(
        open=teams.get(TeamStatus.OPEN, 0),
        succeeded=teams.get(TeamStatus.SUCCEEDED, 0),
        failed=teams.get(TeamStatus.FAILED, 0),
        paid=sum(n for status, n in orders.items() if status in PAID_STATES),
        pending=orders.get(OrderStatus.PENDING_PAYMENT, 0),
    )
