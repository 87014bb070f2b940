"""Suppliers (merchants) and the review of what they sell."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class ReviewStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class Supplier(Model):
    """A merchant with its qualifications, reviewed by an operator before it may sell."""

    id = fields.UUIDField(primary_key=True)
    name = fields.CharField(max_length=64)
    contact_name = fields.CharField(max_length=32)
    contact_phone = fields.CharField(max_length=20)
    business_licence = fields.CharField(max_length=32)  # 统一社会信用代码
    food_licence = fields.CharField(max_length=32, null=True)  # 食品经营许可证
    account = fields.ForeignKeyField(
        "models.User", related_name="suppliers", null=True, on_delete=fields.RESTRICT
    )
    status = fields.CharEnumField(ReviewStatus, max_length=16, default=ReviewStatus.PENDING)
    reason = fields.CharField(max_length=255, default="")
    reviewed_by = fields.ForeignKeyField(
        "models.User", related_name="suppliers_reviewed", null=True, on_delete=fields.RESTRICT
    )
    reviewed_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "suppliers"


class ReviewKind(StrEnum):
    LISTING = "listing"  # a new product, live once approved
    PRICE = "price"  # a SKU's new price, in force once approved


class ListingReview(Model):
    """A supplier's product or price change waiting to go live: rules first, then a person."""

    id = fields.UUIDField(primary_key=True)
    kind = fields.CharEnumField(ReviewKind, max_length=16)
    supplier = fields.ForeignKeyField(
        "models.Supplier", related_name="listing_reviews", on_delete=fields.RESTRICT
    )
    product = fields.ForeignKeyField(
        "models.Product", related_name="listing_reviews", on_delete=fields.RESTRICT
    )
    sku = fields.ForeignKeyField(
        "models.Sku", related_name="listing_reviews", null=True, on_delete=fields.RESTRICT
    )
    price = fields.IntField(null=True)  # fen: the proposed price (PRICE)
    previous_price = fields.IntField(null=True)
    cost = fields.IntField(null=True)
    status = fields.CharEnumField(
        ReviewStatus, max_length=16, default=ReviewStatus.PENDING, db_index=True
    )
    flags = fields.JSONField(default=list)  # the automatic rules' findings
    reason = fields.CharField(max_length=255, default="")  # why it was decided so
    decided_by = fields.ForeignKeyField(
        "models.User", related_name="reviews_decided", null=True, on_delete=fields.RESTRICT
    )
    decided_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "listing_reviews"


class ReviewDecision(Model):
    """Every decision on a supplier or a listing, with its reason: who (None: the rules)."""

    id = fields.UUIDField(primary_key=True)
    subject = fields.CharField(max_length=64, db_index=True)  # "supplier:<id>", "review:<id>"
    actor = fields.ForeignKeyField(
        "models.User", related_name="review_decisions", null=True, on_delete=fields.RESTRICT
    )
    outcome = fields.CharEnumField(ReviewStatus, max_length=16)
    reason = fields.CharField(max_length=255)
    at = fields.DatetimeField()

    class Meta:
        table = "review_decisions"
