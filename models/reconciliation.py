"""Reconciliation: each day's WeChat Pay bill, matched with the payments and refunds we hold."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class BillRunStatus(StrEnum):
    DONE = "done"
    FAILED = "failed"  # the bill could not be had (kept for a person, and alerted)


class DifferenceKind(StrEnum):
    PAID_UNKNOWN = "paid_unknown"  # in WeChat Pay's bill, not in our books
    KNOWN_UNPAID = "known_unpaid"  # in our books, not in the bill
    AMOUNT_MISMATCH = "amount_mismatch"  # in both, for different amounts


class BillRun(Model):
    id = fields.UUIDField(primary_key=True)
    bill_date = fields.DateField(unique=True)  # the day, in WeChat Pay's (Shanghai) time
    status = fields.CharEnumField(BillRunStatus, max_length=16)
    payments = fields.IntField(default=0)  # the bill's successful payments
    refunds = fields.IntField(default=0)  # the bill's refunds
    differences = fields.IntField(default=0)
    error = fields.CharField(max_length=500, default="")
    ran_at = fields.DatetimeField()

    class Meta:
        table = "bill_runs"


class BillDifference(Model):
    id = fields.UUIDField(primary_key=True)
    run = fields.ForeignKeyField("models.BillRun", related_name="items")
    kind = fields.CharEnumField(DifferenceKind, max_length=16)
    subject = fields.CharField(max_length=8)  # "payment" or "refund"
    out_trade_no = fields.CharField(max_length=64, default="")
    transaction_id = fields.CharField(max_length=64, default="")
    out_refund_no = fields.CharField(max_length=64, default="")
    bill_amount = fields.IntField(null=True)  # fen, as the bill says
    our_amount = fields.IntField(null=True)  # fen, as our books say
    resolved_at = fields.DatetimeField(null=True)
    resolved_by = fields.ForeignKeyField(
        "models.User", related_name="bill_resolutions", null=True, on_delete=fields.RESTRICT
    )
    note = fields.CharField(max_length=500, default="")

    class Meta:
        table = "bill_differences"
