"""Every community's campaigns for the operators (/admin/campaigns): newest first, a page at
a time (services/cursors.py), filtered by state, community and title, each with what it has
sold, what it has left and its teams by state.

Read in five queries whatever the number of rows: the campaigns with their communities, the
stock left (services/campaigns.stock_left), the units paid, the teams by state, and the
communities to filter by.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise.expressions import Q
from tortoise.functions import Count, Sum

from models.community import Community
from models.groupbuy import Campaign, Team, TeamStatus
from models.order import PAID_STATES, Order
from qunshop.errors import BadRequest, ErrorCode
from services import audit, campaigns, cursors
from services.ids import parse_uuid

if TYPE_CHECKING:
    import uuid

    from services.auth import Principal

PAGE = 30
MAX_PAGE = 100
MAX_COMMUNITIES = 500  # the filter's choices, by name
MAX_TITLE = 64


class CampaignState(StrEnum):
    """Where a campaign is in its life, as the consoles show it."""

    UPCOMING = "upcoming"
    RUNNING = "running"
    PAUSED = "paused"
    ENDED = "ended"


def state_of(campaign: Campaign, now: datetime) -> CampaignState:
    if campaign.ends_at <= now:
        return CampaignState.ENDED
    if campaign.paused_at is not None:
        return CampaignState.PAUSED
    if campaign.starts_at > now:
        return CampaignState.UPCOMING
    return CampaignState.RUNNING


def _in_state(state: CampaignState, now: datetime) -> Q:
    """``state_of`` as a filter: the same four cases, each campaign in exactly one."""
    live = Q(ends_at__gt=now)
    return {
        CampaignState.ENDED: Q(ends_at__lte=now),
        CampaignState.PAUSED: live & Q(paused_at__isnull=False),
        CampaignState.UPCOMING: live & Q(paused_at__isnull=True, starts_at__gt=now),
        CampaignState.RUNNING: live & Q(paused_at__isnull=True, starts_at__lte=now),
    }[state]


@dataclass(frozen=True)
class Filters:
    state: CampaignState | None = None
    community_id: str | None = None
    title: str | None = None

    @classmethod
    def parse(cls, *, state: str, community_id: str, title: str) -> Filters:
        try:
            chosen = CampaignState(state) if state else None
        except ValueError:
            raise BadRequest(
                ErrorCode.VALIDATION_FAILED, "状态只能是：未开始、进行中、已暂停或已结束"
            ) from None
        if community_id and parse_uuid(community_id) is None:
            raise BadRequest(ErrorCode.VALIDATION_FAILED, "社区：请从列表中选择")
        return cls(
            state=chosen,
            community_id=community_id or None,
            title=title.strip()[:MAX_TITLE] or None,
        )


@dataclass(frozen=True)
class Row:
    campaign: Campaign  # with its community
    state: CampaignState
    sold: int  # units in paid orders (refunded ones not)
    left: int  # units left to sell
    teams: dict[TeamStatus, int]


@dataclass(frozen=True)
class Board:
    rows: list[Row]
    next_cursor: str | None
    communities: list[Community]  # the filter's choices


async def browse(
    *,
    actor: Principal,
    filters: Filters,
    now: datetime,
    limit: int = PAGE,
    cursor: str | None = None,
) -> Board:
    """Operators only: a page of campaigns, newest first, after ``cursor``."""
    audit.ensure_admin(actor)
    query = Campaign.all().select_related("community")
    if filters.state is not None:
        query = query.filter(_in_state(filters.state, now))
    if filters.community_id is not None:
        query = query.filter(community_id=parse_uuid(filters.community_id))
    if filters.title is not None:
        query = query.filter(title__icontains=filters.title)
    found, after = await cursors.page(query, limit=min(max(limit, 1), MAX_PAGE), cursor=cursor)
    ids = [c.id for c in found]
    left = await campaigns.stock_left(ids)
    sold = await _sold(ids)
    teams = await _teams(ids)
    return Board(
        rows=[
            Row(
                campaign=c,
                state=state_of(c, now),
                sold=sold.get(c.id, 0),
                left=left.get(c.id, 0),
                teams=teams.get(c.id, {}),
            )
            for c in found
        ],
        next_cursor=after,
        communities=await Community.all().order_by("name", "id").limit(MAX_COMMUNITIES),
    )


async def _sold(ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    if not ids:
        return {}
    rows = (
        await Order.filter(campaign_id__in=ids, status__in=PAID_STATES)
        .annotate(units=Sum("quantity"))
        .group_by("campaign_id")
        .values("campaign_id", "units")
    )
    return {row["campaign_id"]: int(row["units"] or 0) for row in rows}


async def _teams(ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[TeamStatus, int]]:
    if not ids:
        return {}
    counts: dict[uuid.UUID, dict[TeamStatus, int]] = {}
    for row in (
        await Team.filter(campaign_id__in=ids)
        .annotate(n=Count("id"))
        .group_by("campaign_id", "status")
        .values("campaign_id", "status", "n")
    ):
        counts.setdefault(row["campaign_id"], {})[TeamStatus(row["status"])] = row["n"]
    return counts
