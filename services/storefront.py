"""What a shopper's screen shows beside the rows: the product, a team's members, refunds.

Read in batches (one query per kind, whatever the page size), so a list of twenty orders
costs the same few queries as one.
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from tortoise import connections
from tortoise.expressions import Q

from models.catalog import Product, Sku
from models.groupbuy import Campaign, Team
from models.order import Order, OrderStatus
from models.payment import Refund, RefundStatus
from models.user import User
from qunshop.errors import Conflict, ErrorCode, NotFound, Unauthenticated
from services import moderation, orders, pickup

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from services.auth import Principal

T = TypeVar("T")


@dataclass(frozen=True)
class Brief:
    """A SKU as a card shows it: product title, SKU name, first image, list price (fen)."""

    product_id: uuid.UUID
    sku_id: uuid.UUID
    title: str
    sku_name: str
    image: str | None
    price: int


class Member(NamedTuple):
    """A tuple, not a frozen dataclass: a full team's answer makes up to fifty of them on every
    join, and a frozen dataclass's __init__ cost three times as much (BENCHMARKS.md, round 3)."""

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


# The two reads every team and order answer carries (a join's answer carries both), through
# the SQL functions the join itself calls for its answer (migration 0095): one text each.
_BRIEFS_SQL = "SELECT * FROM qunshop_sku_briefs($1::uuid[])"
_MEMBERS_SQL = "SELECT * FROM qunshop_team_members($1::uuid[])"


def brief_of(row: Any) -> Brief:
    """A ``qunshop_brief`` row (a query's, or the one a join returns) as a Brief."""
    images = [i for i in json.loads(row["images"]) if isinstance(i, str)]
    return Brief(
        product_id=row["product_id"],
        sku_id=row["sku_id"],
        title=row["title"],
        sku_name=row["sku_name"],
        image=images[0] if images else None,
        price=row["price"],
    )


def member_of(row: Any) -> Member:
    """A ``qunshop_member`` row (a query's, or one of those a join returns) as a Member."""
    return Member(
        nickname=row["nickname"],
        avatar_url=row["avatar_url"],
        is_head=row["is_head"],
        paid=row["paid"],
    )


async def briefs(sku_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Brief]:
    wanted = set(sku_ids)
    if not wanted:
        return {}
    _, rows = await connections.get("default").execute_query(_BRIEFS_SQL, [list(wanted)])
    return {row["sku_id"]: brief_of(row) for row in rows}


class TeamCampaign(NamedTuple):
    """What a team shows of its campaign."""

    product: Brief | None  # the campaign's SKU
    # The merchant completes the team at its deadline with any paid member: the campaign's
    # setting (a join reads it in its statement, 0230; services/groupbuy.py Reservation).
    guaranteed: bool


async def team_campaigns(teams: Iterable[Team]) -> dict[uuid.UUID, TeamCampaign]:
    """Each team's product and whether it is guaranteed, by team id, from its campaign."""
    teams = list(teams)
    campaigns = await Campaign.filter(id__in={t.campaign_id for t in teams}).only(
        "id", "sku_id", "guaranteed"
    )
    by_id = {c.id: c for c in campaigns}
    found = await briefs(c.sku_id for c in campaigns)
    return {
        t.id: TeamCampaign(found.get(c.sku_id), c.guaranteed)
        for t in teams
        if (c := by_id.get(t.campaign_id)) is not None
    }


async def members(team_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[Member]]:
    """Who holds a seat (reserved or paid) in each team, the head first: nickname and avatar."""
    wanted = set(team_ids)
    if not wanted:
        return {}
    _, rows = await connections.get("default").execute_query(_MEMBERS_SQL, [list(wanted)])
    found: dict[uuid.UUID, list[Member]] = defaultdict(list)
    for row in rows:
        found[row["team_id"]].append(member_of(row))
    return found


async def refunds(items: Iterable[Order]) -> dict[uuid.UUID, list[RefundLine]]:
    """Each order's refunds. An order still awaiting payment has none: not asked for."""
    wanted = {o.id for o in items if o.status is not OrderStatus.PENDING_PAYMENT}
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


MAX_LISTED = 30  # SKUs 商品 lists, and the numbers a leader may type


@dataclass(frozen=True)
class SkuLine:
    number: int  # what a leader types: 活动 秒杀 明天 20:00 <number> ...
    product: Brief
    stock: int


async def community_skus(community_id: uuid.UUID) -> list[SkuLine]:
    """The SKUs a community sells (its own products, then shop-wide ones), numbered from 1."""
    products = (
        await Product.filter(active=True)
        .filter(Q(community_id=community_id) | Q(community_id=None))
        .order_by("created_at", "id")
        .limit(MAX_LISTED)
    )
    skus = await Sku.filter(product_id__in=[p.id for p in products]).order_by("price", "id")
    by_product: dict[uuid.UUID, list[Sku]] = defaultdict(list)
    for sku in skus:
        by_product[sku.product_id].append(sku)
    ordered = [
        sku
        for product in sorted(products, key=lambda p: (p.community_id is None, p.created_at, p.id))
        for sku in by_product[product.id]
    ][:MAX_LISTED]
    found = await briefs(s.id for s in ordered)
    return [
        SkuLine(number=i, product=found[sku.id], stock=sku.stock)
        for i, sku in enumerate(ordered, start=1)
    ]


async def sku_by_number(community_id: uuid.UUID, number: int) -> SkuLine:
    listed = await community_skus(community_id)
    detail = f"没有编号 {number} 的商品（共 {len(listed)} 个）"
    return numbered(listed, number, ErrorCode.SKU_NOT_FOUND, detail)


def numbered(listed: list[T], number: int, code: ErrorCode, detail: str) -> T:
    """The item a list shows as ``number`` (from 1), else ``code`` naming the number and how
    many there are (``number``, ``listed``), which the chat's template says."""
    if not 1 <= number <= len(listed):
        raise NotFound(code, detail, number=number, listed=len(listed))
    return listed[number - 1]


@dataclass(frozen=True)
class OrderLine:
    """One order as 我的订单 shows it."""

    order: Order
    product: Brief | None
    pickup_code: str | None  # once the order can be picked up
    refunded: int = 0  # fen back with the buyer (a tier's difference, an after-sale)
    refunding: int = 0  # fen on its way back


# The orders 我的订单 shows, numbered from 1 (the newest): 售后, 取消订单, 取货码 take the number.
RECENT = 5


async def my_orders(principal: Principal, *, limit: int = RECENT) -> list[OrderLine]:
    """The caller's latest orders with their product, the pickup code where one applies, and
    what of each came back or is on its way back."""
    items = await orders.list_orders_for(principal, limit=limit)
    products = await briefs(o.sku_id for o in items)
    back: dict[Any, dict[str, int]] = {}
    for refund in await Refund.filter(
        order_id__in=[o.id for o in items],
        status__in=(RefundStatus.PENDING, RefundStatus.SUBMITTED, RefundStatus.SUCCEEDED),
    ):
        done = "refunded" if refund.status is RefundStatus.SUCCEEDED else "refunding"
        sums = back.setdefault(refund.order_id, {"refunded": 0, "refunding": 0})
        sums[done] += refund.amount
    lines = []
    for order in items:
        code = order.pickup_code
        if code is None and order.status in pickup.READY:
            code = (await pickup.ticket(principal=principal, order_id=str(order.id))).code
        shown = code if order.status in pickup.READY else None
        lines.append(
            OrderLine(
                order=order,
                product=products.get(order.sku_id),
                pickup_code=shown,
                **back.get(order.id, {}),
            )
        )
    return lines


# The numbers people type are positions in the list the bot last showed them (我的订单, 取货码,
# 售后), and a position moves when an order is placed meanwhile. So each list shown is
# remembered (its order ids, in order, for a day), and a number names an order only while the
# person's list still holds, at that place, the order they were shown there; otherwise the
# command is refused and they are asked to look again. Plainer than giving each order a code
# of its own to show and type (a column, a migration, every way an order is made): the
# numbers stay the small 1..5 people see, and a command can only ever act on the order shown.
SHOWN_FOR = 24 * 3600  # seconds: a list read yesterday is read again before a number is typed


def _shown_key(principal: Principal) -> str:
    return f"qunshop:orders_shown:{principal.user_id}"


async def shown_orders(principal: Principal, *, redis: Redis) -> list[OrderLine]:
    """``my_orders``, for a list that numbers them: the numbers shown are remembered."""
    lines = await my_orders(principal)
    shown = " ".join(str(line.order.id) for line in lines)
    await redis.set(_shown_key(principal), shown, ex=SHOWN_FOR)
    return lines


async def numbered_order(principal: Principal, number: int, *, redis: Redis) -> OrderLine:
    """The order the person was shown as ``number``, if their list still shows it there."""
    lines = await my_orders(principal)
    detail = f"no order numbered {number} (of {len(lines)})"
    line = numbered(lines, number, ErrorCode.ORDER_NOT_FOUND, detail)
    shown = await redis.get(_shown_key(principal))
    ids = (shown.decode() if isinstance(shown, bytes) else shown or "").split()
    if number > len(ids) or ids[number - 1] != str(line.order.id):
        raise Conflict(
            ErrorCode.ORDER_NUMBERS_CHANGED,
            f"order {number} is not the one the last list showed as {number}: list them again",
            number=number,
            shown=shown is not None,
        )
    return line


async def update_profile(
    principal: Principal,
    *,
    nickname: str | None,
    avatar_url: str | None,
    now: datetime | None = None,
    wechat: moderation.Screen | None = None,
) -> User:
    """The nickname and avatar a member chose in the mini-program; what is left out stays.

    A nickname is shown on cards and teams, so it is moderated first (``now`` given): a
    refused one raises, a held one waits for an operator while the old one stays shown."""
    user = await User.get_or_none(id=principal.user_id)
    if user is None:
        raise Unauthenticated(ErrorCode.UNAUTHENTICATED, "the token's user does not exist")
    if nickname is not None and nickname != user.nickname and now is not None:
        verdict = await moderation.nickname(
            principal=principal, nickname=nickname, now=now, wechat=wechat
        )
        if verdict.held:
            nickname = None
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
