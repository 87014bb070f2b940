"""Group claims: a leader asks compensation for many orders of one delivery at once (a crate
of spoiled fruit), an operator approves it once, and each buyer gets their share back."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.migrations.constraints import CheckConstraint, UniqueConstraint
from tortoise.models import Model


class ClaimStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class ClaimLineStatus(StrEnum):
    PENDING = "pending"
    REFUNDED = "refunded"  # its refund is owed (refund_id), sent by the outbox
    SKIPPED = "skipped"  # less was left to refund of the order than the share (note: why)


class GroupClaim(Model):
    id = fields.UUIDField(primary_key=True)
    community = fields.ForeignKeyField(
        "models.Community", related_name="claims", on_delete=fields.RESTRICT
    )
    filed_by = fields.ForeignKeyField(
        "models.User", related_name="claims_filed", on_delete=fields.RESTRICT
    )
    sku = fields.ForeignKeyField("models.Sku", related_name="claims", on_delete=fields.RESTRICT)
    # The delivery: the day the goods arrived at the pickup point (到货), in the community's
    # time zone. Until delivery batches exist, "the orders of a batch" are these.
    delivery_date = fields.DateField()
    units = fields.IntField()
    reason = fields.CharField(max_length=500)
    photos = fields.JSONField(default=list)
    amount = fields.IntField()  # fen: the lines' total
    status = fields.CharEnumField(
        ClaimStatus, max_length=16, default=ClaimStatus.PENDING, db_index=True
    )
    decided_by = fields.ForeignKeyField(
        "models.User", related_name="claims_decided", null=True, on_delete=fields.RESTRICT
    )
    decided_at = fields.DatetimeField(null=True)
    note = fields.CharField(max_length=500, default="")
    created_at = fields.DatetimeField()

    class Meta:
        table = "group_claims"
        constraints = (
            CheckConstraint(check="units > 0 AND amount > 0", name="ck_group_claim_units"),
        )


class ClaimLine(Model):
    """One order's share of a claim."""

    id = fields.UUIDField(primary_key=True)
    claim = fields.ForeignKeyField(
        "models.GroupClaim", related_name="lines", on_delete=fields.RESTRICT
    )
    order = fields.ForeignKeyField(
        "models.Order", related_name="claim_lines", on_delete=fields.RESTRICT
    )
    units = fields.IntField()
    amount = fields.IntField()  # fen
    status = fields.CharEnumField(ClaimLineStatus, max_length=16, default=ClaimLineStatus.PENDING)
    refund = fields.ForeignKeyField(
        "models.Refund", related_name="claim_lines", null=True, on_delete=fields.RESTRICT
    )
    note = fields.CharField(max_length=200, default="")

    class Meta:
        table = "claim_lines"
        constraints = (
            CheckConstraint(check="units > 0 AND amount > 0", name="ck_claim_line_amount"),
            UniqueConstraint(fields=("claim_id", "order_id"), name="uq_claim_line_order"),
        )
