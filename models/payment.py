"""Payments received and refunds owed, as WeChat Pay reports them."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.migrations.constraints import CheckConstraint
from tortoise.models import Model


class Payment(Model):
    """One row per WeChat transaction: the unique id makes notifies idempotent."""

    id = fields.UUIDField(primary_key=True)
    order = fields.ForeignKeyField("models.Order", related_name="payments")
    transaction_id = fields.CharField(max_length=64, unique=True)
    amount = fields.IntField()
    # honoured: the order took it; refunded: it could not be honoured and is sent back
    outcome = fields.CharField(max_length=16)
    payload = fields.JSONField(default=dict)
    received_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "payments"


class RefundStatus(StrEnum):
    PENDING = "pending"  # owed; the outbox will ask WeChat Pay
    SUBMITTED = "submitted"  # WeChat Pay accepted the request
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # WeChat Pay closed it (REFUNDCLOSE / CHANGE): needs a person


class Refund(Model):
    id = fields.UUIDField(primary_key=True)
    order = fields.ForeignKeyField("models.Order", related_name="refunds")
    payment = fields.OneToOneField("models.Payment", related_name="refund")
    out_refund_no = fields.CharField(max_length=64, unique=True)
    amount = fields.IntField()
    total = fields.IntField()
    reason = fields.CharField(max_length=64)
    status = fields.CharEnumField(RefundStatus, max_length=16, default=RefundStatus.PENDING)
    refund_id = fields.CharField(max_length=64, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    settled_at = fields.DatetimeField(null=True)

    class Meta:
        table = "refunds"
        constraints = (
            CheckConstraint(check="amount > 0 AND amount <= total", name="ck_refund_amount"),
        )
