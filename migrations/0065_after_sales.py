"""After-sales requests and the rules of the 7-day no-reason return (models/aftersale.py).

An order is refunded at most once and never more than it paid: that is refunds'
one-row-per-payment key (0002) and ck_refund_amount (amount <= total, the payment's amount),
which every after-sales approval and group claim goes through (services/refunds.refund_part).
"""

from uuid import uuid4

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops

from models.aftersale import AfterSaleKind, AfterSaleReason, AfterSaleStatus


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


class Migration(migrations.Migration):
    dependencies = [("models", "0064_identity_details_sealed")]

    initial = False

    operations = [
        ops.CreateModel(
            name="AfterSale",
            fields=[
                (
                    "id",
                    fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True),
                ),
                ("order", _fk("models.Order", "order_id", "after_sales")),
                ("user", _fk("models.User", "user_id", "after_sales")),
                ("community", _fk("models.Community", "community_id", "after_sales", null=True)),
                (
                    "kind",
                    fields.CharEnumField(
                        description="REFUND_ONLY: refund_only\nRETURN_REFUND: return_refund",
                        enum_type=AfterSaleKind,
                        max_length=16,
                    ),
                ),
                (
                    "reason",
                    fields.CharEnumField(
                        description="NO_REASON: no_reason\nQUALITY: quality\n"
                        "WRONG_ITEM: wrong_item\nMISSING: missing\nOTHER: other",
                        enum_type=AfterSaleReason,
                        max_length=16,
                    ),
                ),
                ("detail", fields.CharField(default="", max_length=500)),
                ("photos", fields.JSONField(default=list)),
                ("amount", fields.IntField()),
                (
                    "status",
                    fields.CharEnumField(
                        default=AfterSaleStatus.PENDING,
                        db_index=True,
                        description="PENDING: pending\nAPPROVED: approved\n"
                        "REJECTED: rejected\nCLOSED: closed",
                        enum_type=AfterSaleStatus,
                        max_length=16,
                    ),
                ),
                ("due_at", fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                (
                    "decided_by",
                    _fk("models.User", "decided_by_id", "after_sale_decisions", null=True),
                ),
                ("decided_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("decided_by_clock", fields.BooleanField(default=False)),
                ("note", fields.CharField(default="", max_length=500)),
                ("refund", _fk("models.Refund", "refund_id", "after_sales", null=True)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={"table": "after_sales", "app": "models", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="ReturnRule",
            fields=[
                (
                    "id",
                    fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True),
                ),
                ("category", fields.CharField(null=True, unique=True, max_length=32)),
                (
                    "product",
                    fields.OneToOneField(
                        "models.Product",
                        source_field="product_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="return_rule",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("no_reason_return", fields.BooleanField()),
                ("note", fields.CharField(default="", max_length=200)),
                ("updated_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={"table": "return_rules", "app": "models", "pk_attr": "id"},
            bases=["Model"],
        ),
        # CreateModel leaves Meta.constraints out (see 0003).
        ops.RunSQL(
            'ALTER TABLE "after_sales" ADD CONSTRAINT "ck_after_sale_amount" CHECK (amount > 0); '
            'CREATE UNIQUE INDEX "uq_after_sale_open" ON "after_sales" (order_id) '
            "WHERE status = 'pending'; "
            'ALTER TABLE "return_rules" ADD CONSTRAINT "ck_return_rule_scope" '
            "CHECK ((category IS NULL) <> (product_id IS NULL))",
            reverse_sql='DROP INDEX "uq_after_sale_open"',
        ),
    ]
