"""Segments: RFM scores of a community's members, and rules a leader or operator writes
("bought fruit at least twice, silent for 14 days"), used as the audience of news.

A segment's members are read when they are asked for (a send, its member list), from the
members' own orders in that community. A broadcast reaches each member within what WeChat
allows and the shop's quota: a subscribe message if the member accepted the template (one
consent spent), else a customer-service message within 48 hours of their last word, else
nobody; and at most one broadcast a day per member. Each delivery is a row, so sends are
counted, and an order the member paid in that community within ``ATTRIBUTION_DAYS`` after
it is attributed to the broadcast.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from tortoise import connections
from tortoise.transactions import in_transaction

from models.community import Community
from models.segment import Broadcast, Delivery, Segment
from models.user import User
from qunshop.errors import ErrorCode, Invalid, NotFound
from services import communities, notify, subscriptions
from services.ids import parse_uuid
from services.members import members_sql

if TYPE_CHECKING:
    from collections.abc import Collection

    from services.auth import Principal

ATTRIBUTION_DAYS = 7
QUOTA_WINDOW = timedelta(days=1)
SHOWN = 500


class Rule(BaseModel):
    """What a member must have done (in the segment's community) to belong."""

    model_config = ConfigDict(extra="forbid")

    category: str | None = Field(default=None, max_length=32, description="a product category")
    min_orders: int = Field(default=1, ge=0, le=1000, description="paid orders (of the category)")
    silent_days: int | None = Field(
        default=None, ge=1, le=365, description="no paid order at all for this many days"
    )
    min_spent: int = Field(default=0, ge=0, le=10**10, description="fen, all categories")


# Each member of the community (services/members.py) with their paid orders (of the
# category, and of all) there.
_MEMBERS = f"""
SELECT m.user_id, coalesce(c.n, 0) AS matching, a.n AS orders, coalesce(a.spent, 0) AS spent,
       a.last_paid_at
FROM ({members_sql("community_id = $1")}) AS m
LEFT JOIN LATERAL (
  SELECT count(*) AS n, sum(o.amount) AS spent, max(o.paid_at) AS last_paid_at FROM orders o
  WHERE o.user_id = m.user_id AND o.community_id = m.community_id AND o.paid_at IS NOT NULL
    AND o.status NOT IN ('refunding', 'refunded')) a ON true
LEFT JOIN LATERAL (
  SELECT count(*) AS n FROM orders o JOIN skus s ON s.id = o.sku_id
  JOIN products p ON p.id = s.product_id
  WHERE o.user_id = m.user_id AND o.community_id = m.community_id AND o.paid_at IS NOT NULL
    AND o.status NOT IN ('refunding', 'refunded') AND ($2::text IS NULL OR p.category = $2)) c
  ON true
WHERE m.community_id = $1
"""
_CONVERSIONS = """
SELECT count(DISTINCT d.user_id) AS buyers, count(o.id) AS orders,
       coalesce(sum(o.amount), 0) AS gmv
FROM broadcast_deliveries d
JOIN broadcasts b ON b.id = d.broadcast_id
JOIN segments s ON s.id = b.segment_id
JOIN orders o ON o.user_id = d.user_id AND o.community_id = s.community_id
     AND o.paid_at >= d.created_at AND o.paid_at < d.created_at + make_interval(days => $2)
     AND o.status NOT IN ('refunding', 'refunded')
WHERE d.broadcast_id = $1
"""


def parse_rule(raw: dict[str, Any]) -> Rule:
    try:
        return Rule.model_validate(raw)
    except ValidationError as exc:
        raise Invalid(ErrorCode.SEGMENT_RULE_INVALID, str(exc.errors()[0]["msg"])) from None


@dataclass(frozen=True)
class Member:
    user_id: str
    orders: int
    spent: int
    last_paid_at: datetime | None
    recency: int  # 1-5, 5: bought within a week
    frequency: int  # 1-5, 5: ten orders or more
    monetary: int  # 1-5, 5: ¥1,000 or more


def _score(value: float, steps: tuple[float, ...]) -> int:
    """1 + how many of the ascending ``steps`` the value reaches."""
    return 1 + sum(1 for step in steps if value >= step)


def rfm(orders: int, spent: int, last_paid_at: datetime | None, now: datetime) -> tuple[int, ...]:
    if last_paid_at is None:
        recency = 1
    else:
        days = (now - last_paid_at).total_seconds() / 86400
        recency = 5 - sum(1 for limit in (7, 14, 30, 60) if days > limit)
    return recency, _score(orders, (2, 3, 5, 10)), _score(spent, (5_000, 20_000, 50_000, 100_000))


async def _members(community_id: Any, rule: Rule, now: datetime) -> list[Member]:
    rows = await connections.get("default").execute_query_dict(
        _MEMBERS, [community_id, rule.category]
    )
    found = []
    for row in rows:
        orders, spent, last = row["orders"], int(row["spent"]), row["last_paid_at"]
        if row["matching"] < rule.min_orders or spent < rule.min_spent:
            continue
        silent = rule.silent_days
        if silent is not None and last is not None and now - last < timedelta(days=silent):
            continue
        recency, frequency, monetary = rfm(orders, spent, last, now)
        found.append(Member(str(row["user_id"]), orders, spent, last, recency, frequency, monetary))
    return found


async def community_rfm(*, principal: Principal, community_id: str, now: datetime) -> list[Member]:
    community = await communities.get_community(community_id)
    await communities.ensure_can_manage(principal, community)
    members = await _members(community.id, Rule(min_orders=0), now)
    return sorted(members, key=lambda m: (-m.recency, -m.frequency, -m.monetary))[:SHOWN]


async def create(
    *, principal: Principal, community_id: str, name: str, rule: dict[str, Any], now: datetime
) -> tuple[Segment, int]:
    community = await communities.get_community(community_id)
    await communities.ensure_can_manage(principal, community)
    checked = parse_rule(rule)
    segment = await Segment.create(
        community=community,
        name=name,
        rule=checked.model_dump(),
        created_by_id=principal.user_id,
        created_at=now,
    )
    return segment, len(await _members(community.id, checked, now))


async def _segment_for(principal: Principal, segment_id: str) -> Segment:
    key = parse_uuid(segment_id)
    segment = await Segment.get_or_none(id=key) if key else None
    if segment is None:
        raise NotFound(ErrorCode.SEGMENT_NOT_FOUND, "no such segment")
    community = await Community.get(id=segment.community_id)
    await communities.ensure_can_manage(principal, community)
    return segment


async def of_community(
    *, principal: Principal, community_id: str, now: datetime
) -> list[tuple[Segment, int]]:
    community = await communities.get_community(community_id)
    await communities.ensure_can_manage(principal, community)
    found = await Segment.filter(community_id=community.id).order_by("-created_at").limit(50)
    return [(s, len(await _members(community.id, Rule(**s.rule), now))) for s in found]


async def members(*, principal: Principal, segment_id: str, now: datetime) -> list[Member]:
    segment = await _segment_for(principal, segment_id)
    return (await _members(segment.community_id, Rule(**segment.rule), now))[:SHOWN]


async def broadcast(
    *,
    principal: Principal,
    segment_id: str,
    text: str,
    template_id: str,
    known_templates: Collection[str],
    now: datetime,
) -> Broadcast:
    """Send ``text`` to the segment's members, each within consent and the daily quota; by
    the subscribe template ``template_id`` (one of the shop's) where they accepted it."""
    segment = await _segment_for(principal, segment_id)
    if template_id:
        subscriptions.known_template(template_id, known_templates)
    audience = await _members(segment.community_id, Rule(**segment.rule), now)
    record = await Broadcast.create(
        segment=segment,
        text=text,
        template_id=template_id,
        audience=len(audience),
        created_by_id=principal.user_id,
        created_at=now,
    )
    counts = {"sent": 0, "skipped_consent": 0, "skipped_quota": 0}
    for member in audience:
        counts[await _reach(record, member.user_id, now)] += 1
    await Broadcast.filter(id=record.id).update(**counts)
    return await Broadcast.get(id=record.id)


async def _reach(record: Broadcast, user_id: str, now: datetime) -> str:
    if await Delivery.filter(user_id=user_id, created_at__gt=now - QUOTA_WINDOW).exists():
        return "skipped_quota"
    user = await User.get(id=user_id)
    key = f"broadcast:{record.id}:{user_id}"
    try:
        await _deliver(record, user, key, now)
    except _Unreached:  # the consent (if one was spent) is given back with the rollback
        return "skipped_consent"
    return "sent"


async def _deliver(record: Broadcast, user: User, key: str, now: datetime) -> None:
    async with in_transaction():
        via = None
        if record.template_id and await subscriptions.spend(
            user_id=user.id, template_id=record.template_id
        ):
            data = {"thing1": record.text[:20]}
            if await notify.subscribe(
                user=user,
                template_id=record.template_id,
                page="pages/index/index",
                data=data,
                dedupe_key=key,
                now=now,
            ):
                via = notify.VIA_SUBSCRIBE
        if via is None:
            via = await notify.to_user(
                user=user, message=notify.text(record.text), dedupe_key=key, now=now
            )
        if via is None:
            raise _Unreached
        await Delivery.create(broadcast=record, user=user, via=via, created_at=now)


class _Unreached(Exception):
    pass


async def broadcasts(
    *, principal: Principal, segment_id: str
) -> list[tuple[Broadcast, dict[str, int]]]:
    """The segment's broadcasts, each with the orders attributed to it."""
    segment = await _segment_for(principal, segment_id)
    found = await Broadcast.filter(segment_id=segment.id).order_by("-created_at").limit(50)
    db = connections.get("default")
    return [
        (
            b,
            {
                k: int(v)
                for k, v in (await db.execute_query_dict(_CONVERSIONS, [b.id, ATTRIBUTION_DAYS]))[
                    0
                ].items()
            },
        )
        for b in found
    ]
