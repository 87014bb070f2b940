"""Reconciliation runs and the differences they found (models/reconciliation.py)."""

from uuid import uuid4

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops

from models.reconciliation import BillRunStatus, DifferenceKind


def _id() -> fields.Field:
    return fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)


class Migration(migrations.Migration):
    dependencies = [("models", "0066_group_claims")]

    initial = False

    operations = [
        ops.CreateModel(
            name="BillRun",
            fields=[
                ("id", _id()),
                ("bill_date", fields.DateField(unique=True)),
                (
                    "status",
                    fields.CharEnumField(
                        description="DONE: done\nFAILED: failed",
                        enum_type=BillRunStatus,
                        max_length=16,
                    ),
                ),
                ("payments", fields.IntField(default=0)),
                ("refunds", fields.IntField(default=0)),
                ("differences", fields.IntField(default=0)),
                ("error", fields.CharField(default="", max_length=500)),
                ("ran_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={"table": "bill_runs", "app": "models", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="BillDifference",
            fields=[
                ("id", _id()),
                (
                    "run",
                    fields.ForeignKeyField(
                        "models.BillRun",
                        source_field="run_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="items",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "kind",
                    fields.CharEnumField(
                        description="PAID_UNKNOWN: paid_unknown\nKNOWN_UNPAID: known_unpaid\n"
                        "AMOUNT_MISMATCH: amount_mismatch",
                        enum_type=DifferenceKind,
                        max_length=16,
                    ),
                ),
                ("subject", fields.CharField(max_length=8)),
                ("out_trade_no", fields.CharField(default="", max_length=64)),
                ("transaction_id", fields.CharField(default="", max_length=64)),
                ("out_refund_no", fields.CharField(default="", max_length=64)),
                ("bill_amount", fields.IntField(null=True)),
                ("our_amount", fields.IntField(null=True)),
                (
                    "resolved_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                (
                    "resolved_by",
                    fields.ForeignKeyField(
                        "models.User",
                        source_field="resolved_by_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="bill_resolutions",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("note", fields.CharField(default="", max_length=500)),
            ],
            options={"table": "bill_differences", "app": "models", "pk_attr": "id"},
            bases=["Model"],
        ),
    ]
