"""What a group chat asks of its shop: the deals on offer, binding, today's figures, follows."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q

from models.chat import Follow
from models.community import Community, Membership
from models.groupbuy import Campaign, Seat, Team
from models.order import Order
from models.user import Role
from qunshop.errors import Conflict, ErrorCode, Forbidden, Invalid, NotFound
from services import campaigns, communities, groupbuy, sales
from services import members as community_members

if TYPE_CHECKING:
    import uuid

    from services.auth import Principal

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Deal:
    number: int  # what a leader types after 开团
    campaign: Campaign
    # Joinable now, fullest first; where the asker reached the limit, only their own (to share).
    open_teams: list[Team]
    # The asker holds as many seats as one may: shown, no join offered (it would be refused).
    # Still listed, so that the numbers leaders type after 开团 are the same for everyone.
    limit_reached: bool = False


async def deals(*, community: Community, now: datetime, user_id: uuid.UUID) -> list[Deal]:
    """The running deals as ``user_id`` is answered 团购: each with its open teams, or, where
    the person reached its limit, none to join (their own open team, to share, if any)."""
    running = await campaigns.list_campaigns(community_id=str(community.id), now=now)
    full = await groupbuy.at_limit(running, user_id)
    result = []
    for number, campaign in enumerate(running, start=1):
        if campaign.id in full:
            mine = await Seat.filter(
                campaign_id=campaign.id, user_id=user_id, in_open_team=True
            ).values_list("team_id", flat=True)
            teams = await Team.filter(id__in=list(mine))
            result.append(Deal(number, campaign, open_teams=teams, limit_reached=True))
            continue
        joinable = await groupbuy.open_teams(campaign.id, now=now, limit=3)
        result.append(Deal(number=number, campaign=campaign, open_teams=joinable))
    return result


async def persons_communities(*, user_id: uuid.UUID) -> list[Community]:
    """In a one-to-one chat, the person's communities: those they joined, lead, or bought in.
    Someone who joined a team in the group chat never joined in the mini-program, yet the
    group's community is theirs."""
    member_of = await Membership.filter(user_id=user_id).values_list("community_id", flat=True)
    bought_in = (
        await Order.filter(user_id=user_id, community_id__isnull=False)
        .distinct()
        .values_list("community_id", flat=True)
    )
    return await Community.filter(
        Q(id__in=[*member_of, *bought_in]) | Q(leader_id=user_id)
    ).order_by("created_at")


async def member_deals(*, user_id: uuid.UUID, now: datetime) -> list[tuple[Community, list[Deal]]]:
    """In a one-to-one chat: the deals of every community of the person's."""
    found = await persons_communities(user_id=user_id)
    return [
        (community, await deals(community=community, now=now, user_id=user_id))
        for community in found
    ]


async def deal_by_number(*, community: Community, number: int | None, now: datetime) -> Campaign:
    """The running deal ``number`` (as 团购 lists them); no number is the only one running."""
    running = await campaigns.list_campaigns(community_id=str(community.id), now=now)
    if number is None:
        if len(running) > 1:  # never guess which of several the leader meant
            raise Invalid(ErrorCode.DEAL_NUMBER_NEEDED, f"{len(running)} 个团购在进行，请给序号")
        number = 1
    if not 1 <= number <= len(running):
        raise NotFound(ErrorCode.CAMPAIGN_NOT_FOUND, f"没有第 {number} 个团购")
    return running[number - 1]


async def bind_chat(
    *, principal: Principal, chat_id: str, robot_key: str | None, now: datetime
) -> Community:
    """Bind this group chat to the leader's community (the one not yet bound, if several)."""
    if principal.role not in (Role.LEADER, Role.ADMIN):
        raise Forbidden(ErrorCode.NOT_COMMUNITY_LEADER, "只有团长可以绑定群")
    bound = await Community.get_or_none(chat_id=chat_id)
    if bound is not None:
        if bound.leader_id != principal.user_id and not principal.is_admin:
            raise Conflict(ErrorCode.CHAT_ALREADY_BOUND, "本群已绑定其他团长的社区")
        if robot_key:
            await Community.filter(id=bound.id).update(robot_key=robot_key)
            bound.robot_key = robot_key
        return bound
    mine = await Community.filter(leader_id=principal.user_id).order_by("created_at")
    free = [c for c in mine if c.chat_id is None] or mine
    if not free:
        raise NotFound(ErrorCode.COMMUNITY_NOT_FOUND, "你还没有社区，请先在小程序创建")
    if len(free) > 1 and all(c.chat_id for c in free):
        raise Invalid(ErrorCode.CAMPAIGN_INVALID, "你的社区都已绑定其他群")
    community = free[0]
    try:
        await Community.filter(id=community.id).update(
            chat_id=chat_id, robot_key=robot_key or community.robot_key
        )
    except IntegrityError:
        raise Conflict(ErrorCode.CHAT_ALREADY_BOUND, "本群已绑定其他社区") from None
    logger.info("community %s bound to chat %s", community.id, chat_id)
    return await Community.get(id=community.id)


@dataclass(frozen=True)
class DayStats:
    orders: int  # paid today
    gmv: int  # fen: paid today less refunded today (services/sales.py)
    refunded: int  # fen, refunded today
    new_members: int
    day: str


async def today(*, principal: Principal, community: Community, now: datetime) -> DayStats:
    """Today's paid orders, net sales and new members, 'today' in the community's time zone;
    for its leader (or an admin) only: another community's leader in the group sees none."""
    await communities.ensure_can_manage(principal, community)
    tz = ZoneInfo(community.timezone)
    local = now.astimezone(tz)
    start = datetime.combine(local.date(), time(0), tzinfo=tz).astimezone(UTC)
    end = start + timedelta(days=1)
    money = await sales.of_community(community.id, since=start, until=end)
    members = await community_members.joined_between(community.id, start, end)
    return DayStats(
        orders=money.orders,
        gmv=money.net,
        refunded=money.refunded,
        new_members=members,
        day=local.date().isoformat(),
    )


async def led_today(*, principal: Principal, now: datetime) -> list[tuple[Community, DayStats]]:
    """One-to-one, where no group names the community: today's figures of each community the
    person leads, oldest first (none: they lead none)."""
    led = await Community.filter(leader_id=principal.user_id).order_by("created_at")
    return [(c, await today(principal=principal, community=c, now=now)) for c in led]


async def record_follow(
    *, platform: str, external_id: str, event: str, scene: str | None, now: datetime
) -> Follow:
    """A follow, scan or unfollow, with its QR scene: who invited whom is built on this."""
    if scene and scene.startswith("qrscene_"):
        scene = scene[len("qrscene_") :]
    return await Follow.create(
        platform=platform,
        external_id=external_id,
        event=event,
        scene=scene or None,
        created_at=now,
    )
