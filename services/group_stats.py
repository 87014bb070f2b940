"""Per-group figures for a community's leader: visits, teams, orders, GMV and conversion.

A group is a chat id: an opengid decrypted from a group entry, or the WeCom chat an order
or team came from. A community's groups are those its visits, teams and orders name, and
the chat it is bound to.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from models.chat import ChatIdentity
from models.groupbuy import Team
from models.growth import Visit
from models.order import PAID_STATES, Order
from services import communities, sales

if TYPE_CHECKING:
    from services.auth import Principal

MAX_GROUPS = 100


@dataclass(frozen=True)
class GroupStats:
    chat_id: str
    visits: int
    visitors: int
    teams: int
    orders: int
    buyers: int
    gmv: int  # fen, net of refunds (services/sales.py)
    refunded: int  # fen
    conversion_bps: int  # buyers per visitor, in basis points


async def _chat_ids(community_id: object, bound: str | None) -> list[str]:
    found: set[str] = {bound} if bound else set()
    for query in (
        Visit.filter(community_id=community_id, opengid__not_isnull=True)
        .distinct()
        .values_list("opengid", flat=True),
        Team.filter(campaign__community_id=community_id, chat_id__not_isnull=True)
        .distinct()
        .values_list("chat_id", flat=True),
        Order.filter(community_id=community_id, chat_id__not_isnull=True)
        .distinct()
        .values_list("chat_id", flat=True),
    ):
        found.update(str(c) for c in await query if c)
    return sorted(found - await people(found))[:MAX_GROUPS]


async def people(chat_ids: set[str]) -> set[str]:
    """The ids among these that are a person's (a one-to-one chat recorded before only group
    chats were), never a group."""
    if not chat_ids:
        return set()
    found = ChatIdentity.filter(external_id__in=list(chat_ids)).values_list(
        "external_id", flat=True
    )
    return {str(c) for c in await found}


async def _one(community_id: object, chat_id: str) -> GroupStats:
    visits = Visit.filter(community_id=community_id, opengid=chat_id)
    visitors = set(await visits.values_list("user_id", flat=True))
    paid = await Order.filter(
        community_id=community_id, chat_id=chat_id, status__in=PAID_STATES
    ).values_list("user_id", flat=True)
    buyers = set(paid)
    money = await sales.of_community(community_id, chat_id=chat_id)
    return GroupStats(
        chat_id=chat_id,
        visits=await visits.count(),
        visitors=len(visitors),
        teams=await Team.filter(campaign__community_id=community_id, chat_id=chat_id).count(),
        orders=len(paid),
        buyers=len(buyers),
        gmv=money.net,
        refunded=money.refunded,
        conversion_bps=len(buyers & visitors) * 10_000 // len(visitors) if visitors else 0,
    )


async def for_community(*, principal: Principal, community_id: str) -> list[GroupStats]:
    """The community's groups, busiest first (its leader or an admin)."""
    community = await communities.get_community(community_id)
    await communities.ensure_can_manage(principal, community)
    stats = [await _one(community.id, c) for c in await _chat_ids(community.id, community.chat_id)]
    return sorted(stats, key=lambda s: (-s.gmv, -s.visits, s.chat_id))
