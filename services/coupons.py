"""Coupons: admins make templates; people claim them (or are granted them) and use one per
order.

A claim is one statement, ``qunshop_claim_coupons`` (migration 0090): under the template
row's lock, each person's limit checked and their coupon inserted, then the coupons issued
taken off the stock by a checked conditional update. The claims of a burst that reach the
database together (``claim_together``; services/coupon_gate.py gathers them) share that
statement, its lock and its commit; ``qunshop_claim_coupon`` is the same for one person, a
refusal raised. The coupon's life at checkout (locked, spent, returned) is in
services/pricing.py.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from tortoise import connections
from tortoise.backends.base.client import TransactionalDBClient
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from models.catalog import Sku
from models.community import Community
from models.coupon import Coupon, CouponKind, CouponScope, CouponStatus, CouponTemplate, GrantRule
from models.limits import MAX_PRICE
from models.order import Order
from qunshop.errors import Conflict, ErrorCode, Invalid, NotFound, QunshopError
from services import audit, cursors, notify, points
from services.ids import parse_uuid

if TYPE_CHECKING:
    from tortoise.backends.base.client import BaseDBAsyncClient

    from services.auth import Principal

logger = logging.getLogger(__name__)

_CLAIM_SQL = "SELECT * FROM qunshop_claim_coupon($1, $2, $3, $4, $5, $6, $7)"
_CLAIM_MANY_SQL = "SELECT * FROM qunshop_claim_coupons($1, $2, $3, $4, $5, $6, $7)"
CLAIM = "claim"
OPERATOR = "operator"
POINTS = "points"
MAX_STOCK = 10_000_000
MAX_DAYS = 3650
MAX_PAGE = 100

# Every code the claim function RAISEs: the error it becomes, and its words.
_REFUSALS = (
    (NotFound, ErrorCode.COUPON_TEMPLATE_NOT_FOUND, "no such coupon"),
    (Conflict, ErrorCode.COUPON_NOT_CLAIMABLE, "this coupon cannot be claimed now"),
    (Conflict, ErrorCode.COUPONS_GONE, "every coupon of this kind has been claimed"),
    (Conflict, ErrorCode.COUPON_LIMIT_REACHED, "you already hold as many as one person may"),
    (Conflict, ErrorCode.COUPON_ALREADY_GRANTED, "this grant was already given"),
)


def refusal(code: ErrorCode) -> QunshopError:
    kind, words = next((k, w) for k, c, w in _REFUSALS if c is code)
    return kind(code, words)


@dataclass(frozen=True)
class TemplateDraft:
    name: str
    kind: CouponKind
    stock_total: int
    threshold: int = 0
    amount_off: int = 0
    percent_off: int = 0
    max_off: int = 0
    new_user_only: bool = False
    scope: CouponScope = CouponScope.ALL
    scope_ref: str = ""
    per_user_limit: int = 1
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    valid_days: int | None = None
    claimable: bool = True
    points_price: int | None = None
    grant_rule: GrantRule = GrantRule.NONE
    rule_days: int | None = None
    community_id: uuid.UUID | None = None

    def __post_init__(self) -> None:
        def bad(words: str) -> Invalid:
            return Invalid(ErrorCode.COUPON_TEMPLATE_INVALID, words)

        if self.kind is CouponKind.AMOUNT and not 1 <= self.amount_off <= MAX_PRICE:
            raise bad("an amount coupon takes 1..100000000 fen off")
        if self.kind is CouponKind.PERCENT and not (
            1 <= self.percent_off <= 99 and 1 <= self.max_off <= MAX_PRICE
        ):
            raise bad("a percent coupon takes 1..99 % off, capped at max_off fen (>= 1)")
        if not 0 <= self.threshold <= MAX_PRICE:
            raise bad("threshold is 0..100000000 fen")
        if not 1 <= self.stock_total <= MAX_STOCK or not 1 <= self.per_user_limit <= 100:
            raise bad(f"stock is 1..{MAX_STOCK}, the per-person limit 1..100")
        fixed = self.valid_until is not None
        if fixed == (self.valid_days is not None):
            raise bad("give either valid_until (fixed dates) or valid_days (from the claim)")
        if self.valid_days is not None and not 1 <= self.valid_days <= MAX_DAYS:
            raise bad(f"valid_days is 1..{MAX_DAYS}")
        if fixed and self.valid_from is not None and self.valid_from >= self.valid_until:  # type: ignore[operator]
            raise bad("valid_from comes before valid_until")
        if (self.scope is CouponScope.ALL) != (self.scope_ref == ""):
            raise bad("scope all takes no scope_ref; product, category, community take one")
        if self.grant_rule is GrantRule.WINBACK and not (self.rule_days or 0) >= 1:
            raise bad("a win-back grant needs rule_days (silent for that many days)")
        if self.points_price is not None and not 1 <= self.points_price <= 10_000_000:
            raise bad("points_price is 1..10000000")


async def create_template(
    *,
    principal: Principal,
    draft: TemplateDraft,
    now: datetime,
    card: Callable[[CouponTemplate], dict[str, Any]] | None = None,
) -> CouponTemplate:
    """An admin's new template. A claimable template of a community is announced to its
    group: ``card`` (the door's words) becomes a message the outbox sends after the commit."""
    if (
        draft.scope in (CouponScope.PRODUCT, CouponScope.COMMUNITY)
        and parse_uuid(draft.scope_ref) is None
    ):
        raise Invalid(ErrorCode.COUPON_TEMPLATE_INVALID, "scope_ref must be an id for this scope")
    if draft.community_id is not None and not await Community.exists(id=draft.community_id):
        raise NotFound(ErrorCode.COMMUNITY_NOT_FOUND, "no such community")
    fields = vars(draft).copy()
    async with in_transaction():
        template = await CouponTemplate.create(
            **fields,
            stock_left=draft.stock_total,
            created_by_id=principal.user_id,
            created_at=now,
        )
        await audit.record(
            actor=principal,
            action="coupon_template.create",
            target=f"coupon_template:{template.id}",
            before={},
            after=_plain(draft),
            now=now,
        )
        if card is not None and template.claimable and template.community_id is not None:
            community = await Community.get(id=template.community_id)
            await notify.to_group(
                community=community,
                message=card(template),
                dedupe_key=f"coupon:card:{template.id}",
                now=now,
            )
    logger.info("coupon template %s made by %s", template.id, principal.user_id)
    return template


async def close_template(
    *, principal: Principal, template_id: str | uuid.UUID, now: datetime
) -> CouponTemplate:
    """No more claims or grants of it; the coupons people hold stay valid. Audited."""
    template = await get_template(template_id)
    async with in_transaction():
        if await CouponTemplate.filter(id=template.id, active=True).update(active=False):
            await audit.record(
                actor=principal,
                action="coupon_template.close",
                target=f"coupon_template:{template.id}",
                before={"active": True},
                after={"active": False},
                now=now,
            )
    template.active = False
    return template


def _plain(draft: TemplateDraft) -> dict[str, object]:
    return {
        k: (v.isoformat() if isinstance(v, datetime) else str(v) if isinstance(v, uuid.UUID) else v)
        for k, v in vars(draft).items()
    }


async def get_template(template_id: str | uuid.UUID) -> CouponTemplate:
    key = parse_uuid(template_id)
    template = await CouponTemplate.get_or_none(id=key) if key else None
    if template is None:
        raise NotFound(ErrorCode.COUPON_TEMPLATE_NOT_FOUND, "no such coupon")
    return template


async def list_templates(*, limit: int = 200) -> list[CouponTemplate]:
    return await CouponTemplate.all().order_by("-created_at").limit(limit)


async def claimable(
    *, community_id: uuid.UUID | None, now: datetime, limit: int = 50, cursor: str | None = None
) -> tuple[list[CouponTemplate], str | None]:
    """What a person may claim now: shop-wide templates and the community's, oldest first (a
    new one joins the end, so the chat's numbers stay), ``limit`` after ``cursor``; and the
    cursor of the next page (None: this was the last). Filtered in SQL: reading the oldest
    first and filtering after hid the newer ones behind expired and other communities'."""
    place = Q(community_id__isnull=True)
    if community_id is not None:
        place |= Q(community_id=community_id)
    query = CouponTemplate.filter(
        place,
        Q(valid_until__isnull=True) | Q(valid_until__gt=now),
        active=True,
        claimable=True,
        stock_left__gt=0,
    )
    return await cursors.page(
        query, limit=min(max(limit, 1), MAX_PAGE), cursor=cursor, ascending=True
    )


def _refused(exc: BaseException) -> QunshopError | None:
    if getattr(exc, "sqlstate", None) not in ("QS404", "QS409"):
        return None
    return refusal(ErrorCode(exc.message))  # type: ignore[attr-defined]


async def _call(db: BaseDBAsyncClient, sql: str, args: list[Any]) -> list[Any]:
    try:
        _, rows = await db.execute_query(sql, args)
    except Exception as exc:
        found = _refused(exc)
        if found is None:
            raise
        raise found from None
    return rows


async def _run(sql: str, args: list[Any]) -> list[Any]:
    db = connections.get("default")
    if isinstance(db, TransactionalDBClient):
        async with in_transaction() as savepoint:  # a refusal rolls back this claim alone
            return await _call(savepoint, sql, args)
    return await _call(db, sql, args)


async def issue(
    *,
    template_id: uuid.UUID,
    user_id: uuid.UUID,
    now: datetime,
    source: str,
    source_ref: str | None = None,
    by_user: bool = False,
) -> Coupon:
    """One coupon of the template to the person, or the claim function's refusal."""
    args = [template_id, user_id, now, uuid.uuid4(), source, source_ref, by_user]
    (row,) = await _run(_CLAIM_SQL, args)
    return Coupon._init_from_db(**dict(row.items()))


async def claim(*, principal: Principal, template_id: str | uuid.UUID, now: datetime) -> Coupon:
    """The person claims one (API, chat 领券, the group's coupon card)."""
    key = parse_uuid(template_id)
    if key is None:
        raise refusal(ErrorCode.COUPON_TEMPLATE_NOT_FOUND)
    return await issue(
        template_id=key, user_id=principal.user_id, now=now, source=CLAIM, by_user=True
    )


@dataclass(frozen=True)
class Held:
    coupon: Coupon
    template: CouponTemplate
    usable: bool  # available and inside its dates now


async def claim_together(
    *, template_id: uuid.UUID, user_ids: list[uuid.UUID], now: datetime
) -> list[Held | QunshopError]:
    """Claims of one template by people who asked at once, in one statement: each person's
    coupon (with the template as it then stands) or refusal, in order. A refusal of the
    template itself (not found, not claimable) is raised, as it is everyone's."""
    args = [template_id, user_ids, now, [uuid.uuid4() for _ in user_ids], CLAIM]
    rows = await _run(_CLAIM_MANY_SQL, [*args, [None] * len(user_ids), True])
    if not rows:
        return []
    template = CouponTemplate._init_from_db(**dict(rows[0]["template"].items()))
    answers: list[Held | QunshopError] = []
    for row in rows:
        if row["refusal"] is not None:
            answers.append(refusal(ErrorCode(row["refusal"])))
            continue
        coupon = Coupon._init_from_db(**dict(row["coupon"].items()))
        usable = coupon.valid_from <= now < coupon.valid_until
        answers.append(Held(coupon=coupon, template=template, usable=usable))
    return answers


async def mine(
    user_id: uuid.UUID, *, now: datetime, limit: int = 50, cursor: str | None = None
) -> tuple[list[Held], str | None]:
    """The person's coupons, ``limit`` after ``cursor``: the usable ones first, soonest to
    expire, then the rest, newest claimed first (two parts of one keyset list,
    services/cursors.page_parts); and the cursor of the next page (None: this was the last)."""
    held = Coupon.filter(user_id=user_id).select_related("template")
    usable = Q(status=CouponStatus.AVAILABLE, valid_from__lte=now, valid_until__gt=now)
    found, more = await cursors.page_parts(
        [
            cursors.Part(held.filter(usable), stamp="valid_until", ascending=True),
            cursors.Part(held.filter(~usable), stamp="claimed_at"),
        ],
        limit=min(max(limit, 1), MAX_PAGE),
        cursor=cursor,
    )
    return [Held(coupon=c, template=c.template, usable=_usable(c, now)) for c in found], more


def _usable(coupon: Coupon, now: datetime) -> bool:
    return coupon.status is CouponStatus.AVAILABLE and coupon.valid_from <= now < coupon.valid_until


async def has_paid_before(user_id: uuid.UUID, *, but: uuid.UUID | None = None) -> bool:
    """Whether the person ever paid an order (other than ``but``): the new-user test."""
    query = Order.filter(user_id=user_id, paid_at__isnull=False)
    if but is not None:
        query = query.exclude(id=but)
    return await query.exists()


async def exchange(*, principal: Principal, template_id: str | uuid.UUID, now: datetime) -> Coupon:
    """Points for a coupon: the template's ``points_price`` leaves the balance as the coupon
    is issued, in one transaction (either both or neither)."""
    template = await get_template(template_id)
    if template.points_price is None:
        raise Conflict(ErrorCode.COUPON_NOT_CLAIMABLE, "this coupon is not offered for points")
    async with in_transaction():
        coupon = await issue(
            template_id=template.id, user_id=principal.user_id, now=now, source=POINTS
        )
        await points.add(
            user_id=principal.user_id,
            delta=-template.points_price,
            reason="exchange",
            ref=f"exchange:{coupon.id}",
            now=now,
        )
    return coupon


def discount(template: CouponTemplate, price: int) -> int:
    """What the template takes off ``price`` (fen), before the one-fen floor; 0: not reached."""
    if price < template.threshold:
        return 0
    if template.kind is CouponKind.AMOUNT:
        return min(template.amount_off, price)
    return min(price * template.percent_off // 100, template.max_off)


async def in_scope(
    template: CouponTemplate, *, sku_id: uuid.UUID, community_id: uuid.UUID | None
) -> bool:
    if template.scope is CouponScope.ALL:
        return True
    if template.scope is CouponScope.COMMUNITY:
        return community_id is not None and str(community_id) == template.scope_ref
    sku = await Sku.get(id=sku_id).prefetch_related("product")
    if template.scope is CouponScope.PRODUCT:
        return str(sku.product.id) == template.scope_ref
    return sku.product.category == template.scope_ref


def expiry_for(template: CouponTemplate, now: datetime) -> datetime:
    if template.valid_days is not None:
        return now + timedelta(days=template.valid_days)
    assert template.valid_until is not None
    return template.valid_until


async def expire_due(*, now: datetime) -> int:
    """The clock: available coupons past their dates read expired."""
    return await Coupon.filter(status=CouponStatus.AVAILABLE, valid_until__lte=now).update(
        status=CouponStatus.EXPIRED
    )
