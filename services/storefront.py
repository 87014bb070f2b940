"""What a shopper's screen shows beside the rows: the product, a team's members, refunds.

Read in batches (one query per kind, whatever the page size), so a list of twenty orders
costs the same few queries as one.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from models.catalog import Product, Sku
from models.groupbuy import Campaign, Seat, SeatStatus, Team
from models.payment import Refund
from models.user import User
from qunshop.errors import ErrorCode, Unauthenticated

if TYPE_CHECKING:
    from services.auth import Principal


@dataclass(frozen=True)
class Brief:
    """A SKU as a card shows it: product title, SKU name, first image, list price (fen)."""

    product_id: uuid.UUID
    sku_id: uuid.UUID
    title: str
    sku_name: str
    image: str | None
    price: int


@dataclass(frozen=True)
class Member:
    nickname: str
    avatar_url: str | None
    is_head: bool
    paid: bool


@dataclass(frozen=True)
class RefundLine:
    amount: int
    status: str
    reason: str
    created_at: datetime
    settled_at: datetime | None


async def briefs(sku_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Brief]:
    wanted = set(sku_ids)
    if not wanted:
        return {}
    skus = await Sku.filter(id__in=wanted)
    products = {p.id: p for p in await Product.filter(id__in={s.product_id for s in skus})}
    found = {}
    for sku in skus:
        product = products[sku.product_id]
        images = [i for i in product.images if isinstance(i, str)]
        found[sku.id] = Brief(
            product_id=product.id,
            sku_id=sku.id,
            title=product.title,
            sku_name=sku.name,
            image=images[0] if images else None,
            price=sku.price,
        )
    return found


async def team_briefs(teams: Iterable[Team]) -> dict[uuid.UUID, Brief]:
    """Each team's product, by team id (through its campaign's SKU)."""
    teams = list(teams)
    campaigns = await Campaign.filter(id__in={t.campaign_id for t in teams}).only("id", "sku_id")
    sku_of = {c.id: c.sku_id for c in campaigns}
    found = await briefs(sku_of.values())
    return {t.id: found[sku_of[t.campaign_id]] for t in teams if sku_of.get(t.campaign_id) in found}


async def members(team_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[Member]]:
    """Who holds a seat (reserved or paid) in each team, the head first: nickname and avatar."""
    wanted = set(team_ids)
    if not wanted:
        return {}
    seats = await Seat.filter(
        team_id__in=wanted, status__in=[SeatStatus.RESERVED, SeatStatus.PAID]
    ).order_by("-is_head", "created_at")
    users = {u.id: u for u in await User.filter(id__in={s.user_id for s in seats})}
    found: dict[uuid.UUID, list[Member]] = defaultdict(list)
    for seat in seats:
        user = users[seat.user_id]
        found[seat.team_id].append(
            Member(
                nickname=user.nickname,
                avatar_url=user.avatar_url,
                is_head=seat.is_head,
                paid=seat.status is SeatStatus.PAID,
            )
        )
    return found


async def refunds(order_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[RefundLine]]:
    wanted = set(order_ids)
    if not wanted:
        return {}
    found: dict[uuid.UUID, list[RefundLine]] = defaultdict(list)
    for refund in await Refund.filter(order_id__in=wanted).order_by("created_at"):
        found[refund.order_id].append(
            RefundLine(
                amount=refund.amount,
                status=refund.status.value,
                reason=refund.reason,
                created_at=refund.created_at,
                settled_at=refund.settled_at,
            )
        )
    return found


async def update_profile(
    principal: Principal, *, nickname: str | None, avatar_url: str | None
) -> User:
    """The nickname and avatar a member chose in the mini-program; what is left out stays."""
    user = await User.get_or_none(id=principal.user_id)
    if user is None:
        raise Unauthenticated(ErrorCode.UNAUTHENTICATED, "the token's user does not exist")
    changes = {
        name: value
        for name, value in (("nickname", nickname), ("avatar_url", avatar_url))
        if value is not None
    }
    if changes:
        await User.filter(id=user.id).update(**changes)
        for name, value in changes.items():
            setattr(user, name, value)
    return user
