"""Follows: a person follows a leader or a community; the following feed reads them."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from models.groupbuy import Campaign
from models.outbox import OutboxMessage
from models.post import Following
from models.user import Role, User
from qunshop.errors import ErrorCode, Invalid, NotFound
from services import communities, notify, outbox, subscriptions
from services.ids import parse_uuid

if TYPE_CHECKING:
    from services.auth import Principal


async def follow(
    *,
    principal: Principal,
    now: datetime,
    leader_id: str | None = None,
    community_id: str | None = None,
) -> Following:
    """Following exactly one leader or one community; following again changes nothing."""
    if (leader_id is None) == (community_id is None):
        raise Invalid(ErrorCode.FOLLOW_INVALID, "follow a leader or a community, one of them")
    wanted: dict[str, uuid.UUID] = {}
    if leader_id is not None:
        key = parse_uuid(leader_id)
        leader = await User.get_or_none(id=key, role=Role.LEADER) if key else None
        if leader is None:
            raise NotFound(ErrorCode.USER_NOT_FOUND, "no such leader")
        if leader.id == principal.user_id:
            raise Invalid(ErrorCode.FOLLOW_INVALID, "one does not follow oneself")
        wanted["leader_id"] = leader.id
    else:
        community = await communities.get_community(community_id)  # type: ignore[arg-type]
        wanted["community_id"] = community.id
    found = await Following.get_or_none(follower_id=principal.user_id, **wanted)
    if found is not None:
        return found
    try:
        return await Following.create(follower_id=principal.user_id, created_at=now, **wanted)
    except IntegrityError:  # the same follow a moment ago (uq_follow_leader/community)
        return await Following.get(follower_id=principal.user_id, **wanted)


async def unfollow(*, principal: Principal, follow_id: str) -> None:
    key = parse_uuid(follow_id)
    deleted = await Following.filter(id=key, follower_id=principal.user_id).delete() if key else 0
    if not deleted:
        raise NotFound(ErrorCode.FOLLOW_NOT_FOUND, "no such follow of yours")


async def mine(principal: Principal) -> list[Following]:
    return await Following.filter(follower_id=principal.user_id).order_by("-created_at")


# News of new campaigns, by consent ----------------------------------------------------------

CAMPAIGN_NEWS = "follows.campaign"


async def announce_campaign(campaign: Campaign, *, now: datetime) -> None:
    """In the transaction that made the campaign: its followers hear of it after the commit."""
    await outbox.enqueue(
        CAMPAIGN_NEWS,
        {"campaign_id": str(campaign.id)},
        dedupe_key=f"follows:campaign:{campaign.id}",
        now=now,
    )


class _NotSent(Exception):
    """No mini-program openid: give the consent back (the savepoint rolls back)."""


async def tell_followers(
    payload: dict[str, Any], *, template_id: str, now: Callable[[], datetime]
) -> None:
    """Outbox handler: a subscribe message to each follower of the campaign's community or
    leader who accepted ``template_id`` (one consent each); the others hear nothing."""
    campaign = await Campaign.get_or_none(id=payload.get("campaign_id")).select_related("community")
    if campaign is None or campaign.community is None:
        return
    community = campaign.community
    followers = await (
        Following.filter(Q(community_id=community.id) | Q(leader_id=community.leader_id))
        .distinct()
        .values_list("follower_id", flat=True)
    )
    at = now()
    data = {
        "thing1": campaign.title[:20],
        "amount2": f"¥{campaign.group_price // 100}.{campaign.group_price % 100:02d}",
        "thing3": community.name[:20],
    }
    for follower_id in dict.fromkeys(followers):
        key = f"follows:campaign:{campaign.id}:{follower_id}"
        if await OutboxMessage.exists(dedupe_key=notify.outbox_key("notify:subscribe", key)):
            continue  # told by an earlier run
        user = await User.get_or_none(id=follower_id)
        if user is None:
            continue
        try:
            async with in_transaction():
                if await subscriptions.spend(user_id=user.id, template_id=template_id):
                    sent = await notify.subscribe(
                        user=user,
                        template_id=template_id,
                        page=f"pages/campaign/index?id={campaign.id}",
                        data=data,
                        dedupe_key=key,
                        now=at,
                    )
                    if not sent:
                        raise _NotSent
        except _NotSent:
            pass
