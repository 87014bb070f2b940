"""Coupons given rather than claimed: by a rule (an invite, a first order, a win-back, a
member-tier upgrade) or by an operator to a list of people.

Each grant has a ``source_ref`` that is unique among coupons, so a rule replayed (a notify
delivered twice, the clock run twice) grants once. A grant draws on the template's stock
like a claim, through the same statement (services/coupons.py); a refused grant (stock gone,
limit reached, already given) is logged and skipped, never an error for the cause.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from tortoise import connections

from models.coupon import Coupon, CouponTemplate, GrantRule
from qunshop.errors import QunshopError
from services import coupons
from services.members import members_sql

if TYPE_CHECKING:
    import uuid

    from models.order import Order
    from services.auth import Principal

logger = logging.getLogger(__name__)


@dataclass
class Granted:
    coupons: list[Coupon] = field(default_factory=list)
    refused: Counter[str] = field(default_factory=Counter)


async def _grant(
    template_id: uuid.UUID, user_id: uuid.UUID, *, ref: str, source: str, now: datetime
) -> Coupon | None:
    try:
        return await coupons.issue(
            template_id=template_id, user_id=user_id, now=now, source=source, source_ref=ref
        )
    except QunshopError as exc:
        logger.info("grant %s of %s to %s refused: %s", ref, template_id, user_id, exc.code)
        return None


# Plain SQL, not a query Tortoise builds (the first-order templates: qunshop_pay_order).
_BY_RULE_SQL = "SELECT * FROM coupon_templates WHERE active AND grant_rule = $1 ORDER BY created_at"


async def _by_rule(rule: GrantRule) -> list[CouponTemplate]:
    rows = await connections.get("default").execute_query_dict(_BY_RULE_SQL, [rule.value])
    return [CouponTemplate._init_from_db(**row) for row in rows]


async def on_invite(*, inviter_id: uuid.UUID, invitee_id: uuid.UUID, now: datetime) -> int:
    """A successful invite (a binding made): the inviter's coupons, once per invitee."""
    given = 0
    for template in await _by_rule(GrantRule.INVITE):
        ref = f"invite:{template.id.hex[:20]}:{invitee_id.hex}"
        given += (
            await _grant(template.id, inviter_id, ref=ref, source="invite", now=now) is not None
        )
    return given


async def on_first_order(order: Order, *, template_ids: list[uuid.UUID], now: datetime) -> int:
    """Inside the payment's transaction: the buyer's first paid order earns its coupons.
    The pay notify's statement (``qunshop_pay_order``, migration 0160) answers
    ``template_ids``, the active first-order templates, only for a buyer's first paid order."""
    given = 0
    for template_id in template_ids:
        ref = f"first:{template_id.hex[:20]}:{order.user_id.hex}"
        given += (
            await _grant(template_id, order.user_id, ref=ref, source="first_order", now=now)
            is not None
        )
    return given


async def on_tier_upgrade(*, user_id: uuid.UUID, tier: str, now: datetime) -> int:
    """TIERS HOOK (issue 16, item 3): services/tiers.py calls this when a person moves up to
    ``tier`` (its name or id); the lead wires the call at merge. Once per person and tier."""
    given = 0
    for template in await _by_rule(GrantRule.TIER_UPGRADE):
        ref = f"tier:{template.id.hex[:20]}:{user_id.hex}:{tier[:32]}"
        given += (
            await _grant(template.id, user_id, ref=ref, source="tier_upgrade", now=now) is not None
        )
    return given


async def grant_pack(
    *, user_id: uuid.UUID, template_ids: list[uuid.UUID], pack: str, now: datetime
) -> int:
    """TIERS HOOK (issue 16, item 3): a member tier's monthly coupon pack. ``pack`` names the
    tier and month (e.g. ``gold:2026-12``), so a month's pack is given once."""
    given = 0
    for template in await CouponTemplate.filter(id__in=template_ids, active=True):
        ref = f"pack:{template.id.hex[:20]}:{user_id.hex}:{pack[:24]}"
        given += (
            await _grant(template.id, user_id, ref=ref, source="tier_pack", now=now) is not None
        )
    return given


_SILENT_SQL = f"""
SELECT o.user_id, max(o.paid_at) AS last_paid
FROM orders o
WHERE o.paid_at IS NOT NULL
  AND ($2::uuid IS NULL OR o.user_id IN (
    SELECT user_id FROM ({members_sql("community_id = $2")}) AS m))
GROUP BY o.user_id
HAVING max(o.paid_at) <= $1
LIMIT $3
"""


async def winback(*, now: datetime, limit: int = 1000) -> int:
    """The clock: members silent for a template's ``rule_days`` (their last paid order that
    long ago) get it, once per silence (the ref names the last payment's day)."""
    conn = connections.get("default")
    given = 0
    for template in await _by_rule(GrantRule.WINBACK):
        since = now - timedelta(days=template.rule_days or 0)
        _, rows = await conn.execute_query(_SILENT_SQL, [since, template.community_id, limit])
        for row in rows:
            ref = f"winback:{template.id.hex[:20]}:{row['user_id'].hex}:{row['last_paid']:%Y%m%d}"
            if await Coupon.exists(source_ref=ref):
                continue
            given += (
                await _grant(template.id, row["user_id"], ref=ref, source="winback", now=now)
                is not None
            )
    if given:
        logger.info("win-back: %s coupons granted", given)
    return given


async def by_operator(
    *, principal: Principal, template_id: str, user_ids: list[uuid.UUID], now: datetime
) -> Granted:
    """An operator grants the template to each listed person (once per person and grant)."""
    template = await coupons.get_template(template_id)
    result = Granted()
    for user_id in dict.fromkeys(user_ids):
        try:
            coupon = await coupons.issue(
                template_id=template.id,
                user_id=user_id,
                now=now,
                source=coupons.OPERATOR,
            )
        except QunshopError as exc:
            result.refused[exc.code.value] += 1
            continue
        result.coupons.append(coupon)
    logger.info(
        "operator %s granted %s of %s (%s refused)",
        principal.user_id,
        len(result.coupons),
        template.id,
        sum(result.refused.values()),
    )
    return result
