"""Payments received and refunds owed, as WeChat Pay reports them."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.migrations.constraints import CheckConstraint, UniqueConstraint
from tortoise.models import Model


class Payment(Model):
    """One row per WeChat transaction: the unique id makes notifies idempotent."""

    id = fields.UUIDField(primary_key=True)
    order = fields.ForeignKeyField(
        "models.Order", related_name="payments", on_delete=fields.RESTRICT
    )
    transaction_id = fields.CharField(max_length=64, unique=True)
    amount = fields.IntField()
    # What its refunds owe back all told; raised only by services/refunds.owe's checked
    # conditional update, and never above ``amount`` (ck_payment_refunded).
    refunded = fields.IntField(default=0)
    # honoured: the order took it; refunded: it could not be honoured and is sent back
    outcome = fields.CharField(max_length=16)
    payload = fields.JSONField(default=dict)
    received_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "payments"
        constraints = (
            CheckConstraint(
                check="refunded >= 0 AND refunded <= amount", name="ck_payment_refunded"
            ),
        )


class RefundStatus(StrEnum):
    PENDING = "pending"  # owed; the outbox will ask WeChat Pay
    SUBMITTED = "submitted"  # WeChat Pay accepted the request
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # WeChat Pay closed it (REFUNDCLOSE / CHANGE): needs a person


class Refund(Model):
    """Part or all of a payment sent back. A payment may have several (an after-sales
    request, a shortage, a claim's share), each for its own ``cause`` once."""

    id = fields.UUIDField(primary_key=True)
    order = fields.ForeignKeyField(
        "models.Order", related_name="refunds", on_delete=fields.RESTRICT
    )
    payment = fields.ForeignKeyField(
        "models.Payment", related_name="refunds", on_delete=fields.RESTRICT
    )
    out_refund_no = fields.CharField(max_length=64, unique=True)
    amount = fields.IntField()
    total = fields.IntField()
    reason = fields.CharField(max_length=64)
    # What it is for, refunded once per payment: "after_sale:<id>", "claim:<id>",
    # "shortage:<batch id>", or the reason itself ("team_failed", "tier_price", ...).
    cause = fields.CharField(max_length=96)
    status = fields.CharEnumField(RefundStatus, max_length=16, default=RefundStatus.PENDING)
    refund_id = fields.CharField(max_length=64, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    settled_at = fields.DatetimeField(null=True)

    class Meta:
        table = "refunds"
        constraints = (
            CheckConstraint(check="amount > 0 AND amount <= total", name="ck_refund_amount"),
            UniqueConstraint(fields=("payment_id", "cause"), name="uq_refund_cause"),
        )
