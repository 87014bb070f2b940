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
    account = fields.ForeignKeyField("models.User", related_name="suppliers", null=True)
    status = fields.CharEnumField(ReviewStatus, max_length=16, default=ReviewStatus.PENDING)
    reason = fields.CharField(max_length=255, default="")
    reviewed_by = fields.ForeignKeyField(
        "models.User", related_name="suppliers_reviewed", null=True
    )
    reviewed_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "suppliers"
