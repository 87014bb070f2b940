"""Group claims and their lines (models/claim.py)."""

from uuid import uuid4

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops

from models.claim import ClaimLineStatus, ClaimStatus


def _fk(model: str, source: str, related: str, *, null: bool = False) -> fields.Field:
    return fields.ForeignKeyField(
        model,
        source_field=source,
        null=null,
        db_constraint=True,
        to_field="id",
        related_name=related,
        on_delete=OnDelete.CASCADE,
    )


def _id() -> fields.Field:
    return fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)


class Migration(migrations.Migration):
    dependencies = [("models", "0065_after_sales")]

    initial = False

    operations = [
        ops.CreateModel(
            name="GroupClaim",
            fields=[
                ("id", _id()),
                ("community", _fk("models.Community", "community_id", "claims")),
                ("filed_by", _fk("models.User", "filed_by_id", "claims_filed")),
                ("sku", _fk("models.Sku", "sku_id", "claims")),
                ("delivery_date", fields.DateField()),
                ("units", fields.IntField()),
                ("reason", fields.CharField(max_length=500)),
                ("photos", fields.JSONField(default=list)),
                ("amount", fields.IntField()),
                (
                    "status",
                    fields.CharEnumField(
                        default=ClaimStatus.PENDING,
                        db_index=True,
                        description="PENDING: pending\nAPPROVED: approved\nREJECTED: rejected",
                        enum_type=ClaimStatus,
                        max_length=16,
                    ),
                ),
                ("decided_by", _fk("models.User", "decided_by_id", "claims_decided", null=True)),
                ("decided_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("note", fields.CharField(default="", max_length=500)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={"table": "group_claims", "app": "models", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="ClaimLine",
            fields=[
                ("id", _id()),
                ("claim", _fk("models.GroupClaim", "claim_id", "lines")),
                ("order", _fk("models.Order", "order_id", "claim_lines")),
                ("units", fields.IntField()),
                ("amount", fields.IntField()),
                (
                    "status",
                    fields.CharEnumField(
                        default=ClaimLineStatus.PENDING,
                        description="PENDING: pending\nREFUNDED: refunded\nSKIPPED: skipped",
                        enum_type=ClaimLineStatus,
                        max_length=16,
                    ),
                ),
                ("refund", _fk("models.Refund", "refund_id", "claim_lines", null=True)),
                ("note", fields.CharField(default="", max_length=200)),
            ],
            options={"table": "claim_lines", "app": "models", "pk_attr": "id"},
            bases=["Model"],
        ),
        # CreateModel leaves Meta.constraints out (see 0003).
        ops.RunSQL(
            'ALTER TABLE "group_claims" ADD CONSTRAINT "ck_group_claim_units" '
            "CHECK (units > 0 AND amount > 0); "
            'ALTER TABLE "claim_lines" ADD CONSTRAINT "ck_claim_line_amount" '
            "CHECK (units > 0 AND amount > 0); "
            'ALTER TABLE "claim_lines" ADD CONSTRAINT "uq_claim_line_order" '
            "UNIQUE (claim_id, order_id); "
            'CREATE UNIQUE INDEX "uq_claim_line_refunded" ON "claim_lines" (order_id) '
            "WHERE status = 'refunded'",
            reverse_sql='DROP INDEX "uq_claim_line_refunded"',
        ),
    ]
