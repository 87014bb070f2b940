"""Suppliers and the review of what they list.

- A supplier (merchant) applies with its qualifications: business licence number, a food
  licence where it sells food, a contact. An operator approves or rejects it.
- An approved supplier's new product, and each new price of its SKUs, wait in
  ``listing_reviews``: the automatic rules run first (banned words, a price far below cost
  or far above the last price, no image, a food category without a food licence) and a
  finding rejects at once with its reason; what passes waits for an operator (the manual
  queue). A product is live (``active``) only once approved; a price is in force only once
  approved.
- Every decision, the rules' too, is a ``review_decisions`` row with its reason (the table
  refuses UPDATE and DELETE); a rejected listing carries its reason to the supplier.

Leaders' and operators' own catalog edits (services/catalog.py) are not reviewed: they are
the shop's people, and their changes go to the audit log.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from tortoise.transactions import in_transaction

from models.catalog import Product, Sku
from models.supply import ListingReview, ReviewDecision, ReviewKind, ReviewStatus, Supplier
from models.user import Role
from qunshop.errors import Conflict, ErrorCode, Forbidden, Invalid, NotFound
from services import audit
from services.ids import parse_uuid

if TYPE_CHECKING:
    import uuid

    from services.auth import Principal

logger = logging.getLogger(__name__)

# The categories that need a food licence (食品经营许可证) to be sold.
FOOD_CATEGORIES = frozenset(
    {"fresh", "food", "生鲜", "食品", "水果", "蔬菜", "肉禽", "水产", "粮油"}
)
# Words the Advertising Law forbids or that promise cures (广告法 Art. 9, 17).
BANNED_WORDS = (
    "国家级",
    "最高级",
    "最佳",
    "第一",
    "顶级",
    "特效",
    "根治",
    "治疗",
    "包治",
    "祖传秘方",
)
BELOW_COST = 0.5  # a price under half the cost is refused
ABOVE_LAST = 2.0  # a new price over twice the last one is refused
RULES = "rules"  # the actor named in the log when the automatic rules decided
OPEN = (ReviewStatus.PENDING, ReviewStatus.APPROVED)  # a supplier applies once until rejected


@dataclass(frozen=True)
class SkuDraft:
    name: str
    price: int
    cost: int | None = None
    stock: int = 0


# Suppliers ---------------------------------------------------------------------------------


async def apply(
    *,
    principal: Principal,
    name: str,
    contact_name: str,
    contact_phone: str,
    business_licence: str,
    food_licence: str | None,
    now: datetime,
) -> Supplier:
    """A user applies to supply the shop; an operator reviews the qualifications."""
    if await Supplier.exists(account_id=principal.user_id, status__in=OPEN):
        raise Conflict(ErrorCode.SUPPLIER_EXISTS, "you already are, or applied as, a supplier")
    return await Supplier.create(
        name=name,
        contact_name=contact_name,
        contact_phone=contact_phone,
        business_licence=business_licence,
        food_licence=food_licence or None,
        account_id=principal.user_id,
    )


async def mine(*, principal: Principal) -> Supplier:
    found = await Supplier.filter(account_id=principal.user_id).order_by("-created_at").first()
    if found is None:
        raise NotFound(ErrorCode.SUPPLIER_NOT_FOUND, "you have not applied as a supplier")
    return found


def _operator(principal: Principal) -> None:
    if principal.role is not Role.ADMIN:
        raise Forbidden(ErrorCode.FORBIDDEN, "operators only")


async def _log(
    subject: str, actor: uuid.UUID | None, outcome: ReviewStatus, reason: str, now: datetime
) -> None:
    await ReviewDecision.create(
        subject=subject, actor_id=actor, outcome=outcome, reason=reason, at=now
    )


async def suppliers(*, principal: Principal, status: ReviewStatus | None) -> list[Supplier]:
    _operator(principal)
    query = Supplier.all() if status is None else Supplier.filter(status=status)
    return await query.order_by("created_at").limit(200)


async def decide_supplier(
    *, principal: Principal, supplier_id: str, approve: bool, reason: str, now: datetime
) -> Supplier:
    """The operator's decision on a supplier's qualifications, once, with its reason."""
    _operator(principal)
    key = parse_uuid(supplier_id)
    supplier = await Supplier.get_or_none(id=key) if key else None
    if supplier is None:
        raise NotFound(ErrorCode.SUPPLIER_NOT_FOUND, "no such supplier")
    if not approve and not reason.strip():
        raise Invalid(ErrorCode.REVIEW_REASON_REQUIRED, "say why it is rejected")
    outcome = ReviewStatus.APPROVED if approve else ReviewStatus.REJECTED
    async with in_transaction():
        won = await Supplier.filter(id=supplier.id, status=ReviewStatus.PENDING).update(
            status=outcome, reason=reason.strip(), reviewed_by_id=principal.user_id, reviewed_at=now
        )
        if won != 1:
            raise Conflict(ErrorCode.REVIEW_DECIDED, "this supplier was already decided")
        await _log(
            f"supplier:{supplier.id}", principal.user_id, outcome, reason.strip() or "资质齐全", now
        )
        await audit.record(
            actor=principal,
            action="supplier.approve" if approve else "supplier.reject",
            target=f"supplier:{supplier.id}",
            before={"status": ReviewStatus.PENDING.value, "name": supplier.name},
            after={"status": outcome.value, "reason": reason.strip()},
            now=now,
        )
    logger.info("supplier %s %s by %s", supplier.id, outcome.value, principal.user_id)
    return await Supplier.get(id=supplier.id)


async def _approved_supplier(principal: Principal) -> Supplier:
    supplier = await mine(principal=principal)
    if supplier.status is not ReviewStatus.APPROVED:
        raise Forbidden(ErrorCode.SUPPLIER_NOT_APPROVED, "the supplier is not approved yet")
    return supplier


# The automatic rules -------------------------------------------------------------------------


def listing_findings(
    *,
    supplier: Supplier,
    title: str,
    description: str,
    category: str,
    images: list[str],
    skus: list[SkuDraft],
) -> list[str]:
    """What the rules find wrong with a new product (empty: it goes to the manual queue)."""
    found = [f"含违禁词「{w}」" for w in BANNED_WORDS if w in f"{title} {description}"]
    if not images:
        found.append("缺少商品图片")
    if category.strip().lower() in FOOD_CATEGORIES and not supplier.food_licence:
        found.append(f"类目「{category}」需要食品经营许可证")
    for sku in skus:
        found.extend(price_findings(name=sku.name, price=sku.price, cost=sku.cost, last=None))
    return found


def price_findings(*, name: str, price: int, cost: int | None, last: int | None) -> list[str]:
    found = []
    if cost is not None and price < cost * BELOW_COST:
        found.append(f"「{name}」售价远低于成本")
    if last is not None and last > 0 and price > last * ABOVE_LAST:
        found.append(f"「{name}」新价格远高于上次价格")
    return found


async def _open_review(
    *,
    kind: ReviewKind,
    supplier: Supplier,
    product: Product,
    findings: list[str],
    now: datetime,
    sku: Sku | None = None,
    price: int | None = None,
    cost: int | None = None,
) -> ListingReview:
    """The review, decided at once by the rules when they find something."""
    status = ReviewStatus.REJECTED if findings else ReviewStatus.PENDING
    reason = "；".join(findings)
    review = await ListingReview.create(
        kind=kind,
        supplier_id=supplier.id,
        product_id=product.id,
        sku_id=sku.id if sku else None,
        price=price,
        previous_price=sku.price if sku else None,
        cost=cost,
        status=status,
        flags=findings,
        reason=reason,
        decided_at=now if findings else None,
        created_at=now,
    )
    if findings:
        await _log(f"review:{review.id}", None, status, f"{RULES}: {reason}", now)
    return review


# Listing and repricing (the supplier) --------------------------------------------------------


async def submit_product(
    *,
    principal: Principal,
    title: str,
    description: str,
    category: str,
    images: list[str],
    skus: list[SkuDraft],
    now: datetime,
) -> ListingReview:
    """An approved supplier lists a product: hidden until its review approves it."""
    supplier = await _approved_supplier(principal)
    findings = listing_findings(
        supplier=supplier,
        title=title,
        description=description,
        category=category,
        images=images,
        skus=skus,
    )
    async with in_transaction():
        product = await Product.create(
            title=title,
            description=description,
            category=category,
            images=images,
            community_id=None,
            created_by_id=principal.user_id,
            supplier_id=supplier.id,
            active=False,
        )
        for draft in skus:
            await Sku.create(
                product=product,
                name=draft.name,
                price=draft.price,
                cost=draft.cost,
                stock=draft.stock,
            )
        review = await _open_review(
            kind=ReviewKind.LISTING, supplier=supplier, product=product, findings=findings, now=now
        )
    logger.info("product %s listed by supplier %s: %s", product.id, supplier.id, review.status)
    return review


async def submit_price(
    *, principal: Principal, sku_id: str, price: int, cost: int | None, now: datetime
) -> ListingReview:
    """A new price for one of the supplier's SKUs: the old one holds until it is approved."""
    supplier = await _approved_supplier(principal)
    key = parse_uuid(sku_id)
    sku = await Sku.get_or_none(id=key).prefetch_related("product") if key else None
    if sku is None or sku.product.supplier_id != supplier.id:
        raise NotFound(ErrorCode.SKU_NOT_FOUND, "no SKU of yours has this id")
    cost = cost if cost is not None else sku.cost
    findings = price_findings(name=sku.name, price=price, cost=cost, last=sku.price)
    async with in_transaction():
        return await _open_review(
            kind=ReviewKind.PRICE,
            supplier=supplier,
            product=sku.product,
            findings=findings,
            now=now,
            sku=sku,
            price=price,
            cost=cost,
        )


async def my_reviews(*, principal: Principal) -> list[ListingReview]:
    """The supplier's listings and price changes, newest first, with why they were decided."""
    supplier = await mine(principal=principal)
    return await ListingReview.filter(supplier_id=supplier.id).order_by("-created_at").limit(100)


# The manual queue (operators) ----------------------------------------------------------------


async def queue(*, principal: Principal, status: ReviewStatus | None) -> list[ListingReview]:
    _operator(principal)
    query = ListingReview.all() if status is None else ListingReview.filter(status=status)
    return (
        await query.select_related("product", "supplier", "sku")
        .prefetch_related("product__skus")
        .order_by("created_at")
        .limit(200)
    )


async def decide(
    *, principal: Principal, review_id: str, approve: bool, reason: str, now: datetime
) -> ListingReview:
    """The operator approves (the product goes live, the price takes force) or rejects
    (the supplier reads why), once."""
    _operator(principal)
    key = parse_uuid(review_id)
    review = await ListingReview.get_or_none(id=key) if key else None
    if review is None:
        raise NotFound(ErrorCode.REVIEW_NOT_FOUND, "no such review")
    if not approve and not reason.strip():
        raise Invalid(ErrorCode.REVIEW_REASON_REQUIRED, "say why it is rejected")
    outcome = ReviewStatus.APPROVED if approve else ReviewStatus.REJECTED
    async with in_transaction():
        won = await ListingReview.filter(id=review.id, status=ReviewStatus.PENDING).update(
            status=outcome, reason=reason.strip(), decided_by_id=principal.user_id, decided_at=now
        )
        if won != 1:
            raise Conflict(ErrorCode.REVIEW_DECIDED, "this review was already decided")
        if approve and review.kind is ReviewKind.LISTING:
            await Product.filter(id=review.product_id).update(active=True)
        elif approve and review.price is not None:
            await Sku.filter(id=review.sku_id).update(price=review.price, cost=review.cost)
        await _log(f"review:{review.id}", principal.user_id, outcome, reason.strip() or "通过", now)
        await audit.record(
            actor=principal,
            action="listing_review.approve" if approve else "listing_review.reject",
            target=f"review:{review.id}",
            before={"status": ReviewStatus.PENDING.value, "kind": review.kind.value},
            after={"status": outcome.value, "reason": reason.strip()},
            now=now,
        )
    logger.info("review %s %s by %s", review.id, outcome.value, principal.user_id)
    return await ListingReview.get(id=review.id)
