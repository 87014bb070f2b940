"""After-sales: a buyer's request to have (part of) an order refunded, and the rules that say
which goods take a 7-day no-reason return."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.migrations.constraints import CheckConstraint, UniqueConstraint
from tortoise.models import Model


class AfterSaleKind(StrEnum):
    REFUND_ONLY = "refund_only"  # 仅退款: the goods stay with the buyer (spoiled, missing)
    RETURN_REFUND = "return_refund"  # 退货退款: the goods go back to the pickup point


class AfterSaleReason(StrEnum):
    NO_REASON = "no_reason"  # 七天无理由: only for goods whose rule allows it
    QUALITY = "quality"  # spoiled, damaged
    WRONG_ITEM = "wrong_item"
    MISSING = "missing"  # short, or not there at pickup
    OTHER = "other"


class AfterSaleStatus(StrEnum):
    PENDING = "pending"  # waiting for the leader or an operator, until due_at
    APPROVED = "approved"  # a refund is owed (refund_id)
    REJECTED = "rejected"
    CLOSED = "closed"  # the order was refunded another way meanwhile (a group claim)


class AfterSale(Model):
    id = fields.UUIDField(primary_key=True)
    order = fields.ForeignKeyField(
        "models.Order", related_name="after_sales", on_delete=fields.RESTRICT
    )
    user = fields.ForeignKeyField(
        "models.User", related_name="after_sales", on_delete=fields.RESTRICT
    )
    community = fields.ForeignKeyField(
        "models.Community", related_name="after_sales", null=True, on_delete=fields.RESTRICT
    )
    kind = fields.CharEnumField(AfterSaleKind, max_length=16)
    reason = fields.CharEnumField(AfterSaleReason, max_length=16)
    detail = fields.CharField(max_length=500, default="")
    photos = fields.JSONField(default=list)  # image URLs the mini-program uploaded
    amount = fields.IntField()  # fen asked back
    status = fields.CharEnumField(
        AfterSaleStatus, max_length=16, default=AfterSaleStatus.PENDING, db_index=True
    )
    # Nobody answered by then: the clock approves it (services/aftersales.approve_overdue).
    due_at = fields.DatetimeField(db_index=True)
    decided_by = fields.ForeignKeyField(
        "models.User", related_name="after_sale_decisions", null=True, on_delete=fields.RESTRICT
    )
    decided_at = fields.DatetimeField(null=True)
    decided_by_clock = fields.BooleanField(default=False)
    note = fields.CharField(max_length=500, default="")  # why it was rejected (or approved)
    refund = fields.ForeignKeyField(
        "models.Refund", related_name="after_sales", null=True, on_delete=fields.RESTRICT
    )
    created_at = fields.DatetimeField()

    class Meta:
        table = "after_sales"
        constraints = (
            CheckConstraint(check="amount > 0", name="ck_after_sale_amount"),
            # One open request per order: a second while the first waits is refused.
            UniqueConstraint(
                fields=("order_id",), name="uq_after_sale_open", condition="status = 'pending'"
            ),
        )


class ReturnRule(Model):
    """Whether goods take the 7-day no-reason return (消费者权益保护法 art. 25 exempts fresh
    and perishable goods, 鲜活易腐). A product's own rule wins over its category's; goods with
    neither take it, as the law's default."""

    id = fields.UUIDField(primary_key=True)
    category = fields.CharField(max_length=32, null=True, unique=True)
    product = fields.OneToOneField("models.Product", related_name="return_rule", null=True)
    no_reason_return = fields.BooleanField()
    note = fields.CharField(max_length=200, default="")
    updated_at = fields.DatetimeField()

    class Meta:
        table = "return_rules"
        constraints = (
            CheckConstraint(
                check="(category IS NULL) <> (product_id IS NULL)", name="ck_return_rule_scope"
            ),
        )
